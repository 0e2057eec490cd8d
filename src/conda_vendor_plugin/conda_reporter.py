"""Progress inside conda: the :class:`.progress.Reporter` interface through conda's reporter
backends (spinners, tqdm bars, or nothing in JSON mode)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .progress import Bar, NullBar


class CondaReporter:
    """Progress through conda's reporter backends (``conda.reporters``)."""

    def __init__(self) -> None:
        from conda.base.context import context

        self.quiet = bool(context.json or context.quiet)

    @contextmanager
    def step(self, message: str) -> Iterator[None]:
        # conda's solvers and fetchers draw their own spinners: announce, don't nest.
        self.info(f"{message}:")
        yield

    def bar(self, description: str, total: int) -> Bar:
        """conda's progress bar (tqdm on a terminal); none in JSON or quiet mode, where
        conda's JSON reporter would print progress documents before the result."""
        if self.quiet:
            return NullBar()
        from conda.reporters import get_progress_bar

        return _CondaBar(get_progress_bar(description), total)

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr)


class _CondaBar:
    def __init__(self, pb: Any, total: int) -> None:
        self.pb, self.total = pb, max(total, 1)

    def update(self, done: int) -> None:
        self.pb.update_to(min(1.0, done / self.total))

    def close(self) -> None:
        self.pb.finish()
        self.pb.close()
