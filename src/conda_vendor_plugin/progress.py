"""Progress reporting: a tiny interface and its plain-terminal implementation.

Long steps (solving, downloading) report through a :class:`Reporter`. Without conda
it writes to stderr (and stays silent with ``--json`` or when quiet); inside conda,
:class:`..conda_reporter.CondaReporter` uses conda's configured reporter backend. This
module imports nothing of conda's.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TextIO


class Bar(Protocol):
    def update(self, done: int) -> None: ...

    def close(self) -> None: ...


class Reporter(Protocol):
    def step(self, message: str) -> Any:
        """A context manager around one long step (shown as a spinner or a line)."""

    def bar(self, description: str, total: int) -> Bar:
        """A progress bar counting up to ``total`` (bytes or items)."""

    def info(self, message: str) -> None:
        """A line of human output (suppressed in JSON mode)."""


def solving_step(spec: Any, reporter: Reporter) -> Any:
    """``step`` for :func:`.solve.solve_all`: one reporter step per platform solved."""
    return lambda platform: reporter.step(f"Solving {spec.source} for {platform}")


class NullBar:
    def update(self, done: int) -> None:
        pass

    def close(self) -> None:
        pass


class _TextBar:
    def __init__(self, stream: TextIO, description: str, total: int) -> None:
        self.stream, self.description, self.total = stream, description, max(total, 1)
        self._last = 0.0

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now - self._last < 0.2 and done < self.total:
            return
        self._last = now
        pct = min(100, done * 100 // self.total)
        self.stream.write(f"\r{self.description}: {pct:3d}%")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write(f"\r{self.description}: done\n")
        self.stream.flush()


class TextReporter:
    """stderr output for the standalone command; ``quiet`` silences everything."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stderr

    @contextmanager
    def step(self, message: str) -> Iterator[None]:
        if not self.quiet:
            self.stream.write(f"{message} ... ")
            self.stream.flush()
        try:
            yield
        except BaseException:
            if not self.quiet:
                self.stream.write("failed\n")
            raise
        if not self.quiet:
            self.stream.write("done\n")

    def bar(self, description: str, total: int) -> Bar:
        if self.quiet or not self.stream.isatty():
            return NullBar()
        return _TextBar(self.stream, description, total)

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.stream)
