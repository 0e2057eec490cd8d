"""Fetching many repodata files at once: their latencies overlap instead of adding up,
every fetch runs to its end, and the failures become one error that names a channel
that could not be reached once, however many of its subdirs were asked for."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from ..errors import ChannelError
from ..transport.failures import ChannelUnreachable

FETCH_JOBS = 8  # repodata files fetched at once (each still retried as the policy says)


def fetch_concurrently(
    keys: Sequence[Hashable], fetch: Callable[[Any], Any], jobs: int = FETCH_JOBS
) -> dict[Any, Any]:
    """``{key: fetch(key)}``, up to ``jobs`` at a time (each channel and subdir is one
    request, or a few: their latencies overlap instead of adding up). Every fetch runs to
    its end; the failures are one :class:`ChannelError` naming them all."""
    keys = list(dict.fromkeys(keys))
    results: dict[Any, Any] = {}
    failures: dict[Any, ChannelError] = {}
    if len(keys) <= 1 or jobs <= 1:
        for key in keys:
            try:
                results[key] = fetch(key)
            except ChannelError as e:
                failures[key] = e
    else:
        _run_threads(keys, fetch, jobs, results, failures)
    if failures:
        raise _summary([failures[k] for k in keys if k in failures])
    return results


def _run_threads(
    keys: Sequence[Any],
    fetch: Callable[[Any], Any],
    jobs: int,
    results: dict[Any, Any],
    failures: dict[Any, ChannelError],
) -> None:
    pending = iter(keys)
    lock = threading.Lock()
    crashed: list[BaseException] = []

    def work() -> None:
        while True:
            with lock:
                key = next(pending, None)
            if key is None:
                return
            try:
                results[key] = fetch(key)
            except ChannelError as e:
                failures[key] = e
            except BaseException as e:  # a bug: raised again in the caller's thread
                crashed.append(e)

    # daemon threads: Ctrl-C in the caller ends the run without waiting for them
    threads = [
        threading.Thread(target=work, name=f"repodata-{n}", daemon=True)
        for n in range(min(jobs, len(keys)))
    ]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.05)
    if crashed:
        raise crashed[0]


def _summary(failures: Sequence[ChannelError]) -> ChannelError:
    """One error for every repodata file that could not be fetched; a channel that could
    not be reached is named once, however many of its subdirs were asked for."""
    down: set[str] = set()
    kept = []
    for e in failures:
        if isinstance(e, ChannelUnreachable):
            if e.channel in down:
                continue
            down.add(e.channel)
        kept.append(e)
    failures = kept
    if len(failures) == 1:
        return failures[0]
    error = ChannelError(
        f"{len(failures)} repodata files could not be fetched: "
        + "; ".join(str(e) for e in failures)
    )
    error.details = {"failures": [str(e) for e in failures]}
    return error
