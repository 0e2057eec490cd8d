"""The glue between py-rattler's API and ours: its solve as a plain call whatever the
release (a coroutine in recent ones), with the wait for its worker thread's hand-off;
which parameters one of its functions takes; its records as :class:`LockedPackage`."""

from __future__ import annotations

import asyncio
import inspect
import sys
import threading
import time
from collections.abc import Iterable
from functools import cache
from operator import attrgetter
from typing import Any

from ..records import LockedPackage
from ..transport.urls import redact_url


def run_solve(result: Any) -> Any:
    """py-rattler's solve is a coroutine in recent releases and a plain call in older ones."""
    if inspect.isawaitable(result):
        try:
            return asyncio.run(result)
        finally:
            _wait_for_handoff()
    return result


_HANDOFF_FRAMES = ("call_soon_threadsafe", "_write_to_self")


def _wait_for_handoff(timeout: float = 2.0) -> None:
    """Wait until py-rattler's worker thread has finished handing its result over.

    The tokio thread delivers the result with ``loop.call_soon_threadsafe``, whose
    wake-up write releases the GIL: ``asyncio.run`` can return while that thread is
    still inside the call, waiting to take the GIL back. If the interpreter exits
    then, CPython (< 3.14) ends the thread with ``pthread_exit`` in the middle of
    Rust frames and the process dies with SIGSEGV/SIGABRT after the work is done.
    The thread is visible in ``sys._current_frames()`` until it has left the call.
    """
    me = threading.get_ident()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = False
        for tid, frame in sys._current_frames().items():
            f = frame if tid != me else None
            while f is not None and not busy:
                busy = f.f_code.co_name in _HANDOFF_FRAMES
                f = f.f_back
            if busy:
                break
        if not busy:
            return
        time.sleep(0.001)


@cache
def parameters(func: Any) -> frozenset[str]:
    try:
        return frozenset(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return frozenset()


def _hex(value: Any) -> str | None:
    if value is None:
        return None
    return value.hex() if isinstance(value, (bytes, bytearray)) else str(value)


# One C-level call reads every field a LockedPackage needs from a py-rattler record:
# this runs for each solved package, right after the solve.
_FIELD_NAMES = "name version build subdir channel file_name url sha256 md5 size depends"
_FIELDS = attrgetter(*_FIELD_NAMES.split())


def to_locked(records: Iterable[Any]) -> list[LockedPackage]:
    """py-rattler's ``RepoDataRecord`` list as :class:`LockedPackage` (credentials stripped).

    ``channel`` is the channel each record was read from, which is not always the start
    of its ``url``: CEP 15 repodata may put its archives elsewhere (``info.base_url``).
    """
    channels: dict[str | None, str | None] = {}  # a handful of channels for many records
    packages = []
    for rec in records:
        name, version, build, subdir, channel, fn, url, sha256, md5, size, depends = _FIELDS(rec)
        url = redact_url(url)
        # py-rattler masks credentials with '********': redact_url drops those too.
        if channel not in channels:
            channels[channel] = redact_url(channel).rstrip("/") if channel else None
        packages.append(
            LockedPackage(
                name=name.normalized,
                version=str(version),
                build=str(build),  # a BuildString in py-rattler 0.28, a str in 0.26
                subdir=subdir,
                channel=channels[channel] or url.rsplit("/", 2)[0],
                fn=fn,
                url=url,
                sha256=_hex(sha256),
                md5=_hex(md5),
                size=size,
                depends=tuple(depends),
            )
        )
    return packages
