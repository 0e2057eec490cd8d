"""conda's failures to fetch repodata, said as this package says them: one line naming the
channel and the cause in words (:class:`~.transport.failures.ChannelUnreachable`), with
urllib3's ``Retrying (...)`` warnings kept off the screen. Imports conda when called.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from .transport.failures import ChannelUnreachable, cause, status_cause


def raise_unanswered(missing: list[str], broken: list[tuple[str, BaseException]]) -> None:
    """conda falls back to repodata.json when a shard index does not come, and would wait
    as long again for it. When a subdir got no index, recorded no verdict on shards (conda
    records one for an answer: shards or a 4xx) and its retries were for connections that
    broke (refused, timed out...), the channel is unreachable: said now, once."""
    from conda.core.subdir_data import SubdirData
    from conda.models.channel import Channel

    for url in missing:
        where = urlsplit(url).path.rstrip("/") + "/"
        what = [
            w for path, e in broken if path.startswith(where) for w, again in [cause(e)] if again
        ]
        if not what:
            continue
        try:
            state = SubdirData(Channel(url)).repo_cache.load_state()
        except Exception:  # conda's cache state changed shape: repodata.json, as before
            return
        if "has_shards" not in state:
            raise ChannelUnreachable(url.rstrip("/").rsplit("/", 1)[0], what[-1], _tries())


def fetch_failure(
    error: BaseException, channel_url: str | None = None
) -> ChannelUnreachable | None:
    """conda's failure to fetch a channel's repodata as one :class:`ChannelUnreachable` line
    naming the channel and the cause in words (connection refused, timed out, 401, 503,
    ...); None for anything else, and for a 404 of one subdir (``channel_url`` given: a
    channel may lack a subdir, the caller says what it needs)."""
    subdir_fetch = channel_url is not None
    name = type(error).__name__
    if name not in ("CondaHTTPError", "UnavailableInvalidChannel"):
        return None
    kwargs = getattr(error, "_kwargs", None) or {}
    status = str(kwargs.get("status_code") or getattr(error, "status_code", "") or "000")
    url = str(kwargs.get("url") or kwargs.get("channel_url") or channel_url or "")
    if channel_url is None:  # the solver's: <channel>/<subdir>/<file>
        channel_url = url.rsplit("/", 2)[0] if name == "CondaHTTPError" else url
    if status == "000":
        caused_by = getattr(error, "_caused_by", None) or error.__context__ or error
        return ChannelUnreachable(channel_url, cause(caused_by)[0], _tries())
    code = int(status) if status.isdigit() else 0
    if code == 404 and subdir_fetch:
        return None
    return ChannelUnreachable(channel_url, status_cause(code))


def _tries() -> str:
    """How many requests conda's adapter made for one file (its ``remote_max_retries``)."""
    from conda.base.context import context

    tries = 1 + max(0, int(context.remote_max_retries))
    return f"{tries} {'try' if tries == 1 else 'tries'}"


class _DropRetries(logging.Filter):
    """urllib3's ``Retrying (Retry(...)) after connection broken by ...`` warnings, one per
    retry, are not shown (the run's progress line stands for them; the error, if any,
    says what happened); ``broken`` keeps ``(request path, error)`` of each."""

    def __init__(self) -> None:
        super().__init__()
        self.broken: list[tuple[str, BaseException]] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("Retrying"):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) == 3 and isinstance(args[1], BaseException):
            self.broken.append((str(args[2]), args[1]))
        return False


@contextmanager
def quiet_retries() -> Iterator[_DropRetries]:
    """No line per retry from conda's HTTP stack while conda fetches for us."""
    logger = logging.getLogger("urllib3.connectionpool")
    drop = _DropRetries()
    logger.addFilter(drop)
    try:
        yield drop
    finally:
        logger.removeFilter(drop)
