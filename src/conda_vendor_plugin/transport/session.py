"""HTTP without conda, and the one retry policy both modes share.

Retries happen in ONE place: the fetch loops of :mod:`.download` and :mod:`.repodata`
ask :class:`RetryPolicy` whether and when to try again. Sessions never retry on their
own (urllib3 ``max_retries=0``), so every request counts and messages say how many were
made. Inside conda the policy comes from conda's settings (``remote_max_retries``,
``remote_backoff_factor``, ``remote_connect_timeout_secs``, ``remote_read_timeout_secs``);
without conda, from the same ``CONDA_REMOTE_*`` environment variables, with conda's
defaults. ``requests`` still honours ``~/.netrc``, ``user:pass@`` in URLs and the usual
``HTTPS_PROXY`` / ``REQUESTS_CA_BUNDLE`` environment variables.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .. import __version__

USER_AGENT = f"conda-vendor-plugin/{__version__}"


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a request again, and how long to wait for each.

    * ``tries``: requests per file at most, the first one included;
    * wait ``backoff * 2**(n-1)`` seconds before try ``n+1``, at most ``max_backoff``
      each and ``max_total_backoff`` in all for one file;
    * a ``Retry-After`` answer is obeyed up to ``max_retry_after`` seconds (and reported);
      a longer one ends the file's tries at once;
    * ``connect_timeout`` / ``read_timeout`` per request (no byte for that long: a stall);
    * a body slower than ``min_rate`` bytes a second over ``rate_window`` seconds counts
      as a stall (a drip never ends otherwise).
    """

    tries: int = 4
    backoff: float = 1.0
    max_backoff: float = 8.0
    max_total_backoff: float = 60.0
    max_retry_after: float = 30.0
    connect_timeout: float = 9.15
    read_timeout: float = 60.0
    min_rate: int = 1024
    rate_window: float = 30.0

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    def wait_before(self, tries: int, retry_after: float | None, waited: float) -> float | None:
        """Seconds to wait before try ``tries + 1`` (after ``waited`` in all so far), or
        None when the file's tries are over."""
        if tries >= self.tries:
            return None
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            delay = retry_after
        else:
            delay = min(self.backoff * 2 ** (tries - 1), self.max_backoff)
        if waited + delay > self.max_total_backoff:
            return None
        return delay

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> RetryPolicy:
        """The policy from ``CONDA_REMOTE_*`` variables (conda's names and defaults)."""
        env = os.environ if environ is None else environ

        def number(name: str, default: float) -> float:
            value = env.get(name, "").strip()
            try:
                return float(value) if value else default
            except ValueError:
                return default

        base = cls()
        return cls(
            tries=1 + max(0, int(number("CONDA_REMOTE_MAX_RETRIES", base.tries - 1))),
            backoff=number("CONDA_REMOTE_BACKOFF_FACTOR", base.backoff),
            connect_timeout=number("CONDA_REMOTE_CONNECT_TIMEOUT_SECS", base.connect_timeout),
            read_timeout=number("CONDA_REMOTE_READ_TIMEOUT_SECS", base.read_timeout),
        )


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """A ``Retry-After`` header in seconds (the delay form; an HTTP date counts as 60 s)."""
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return 60.0


def make_session(pool_size: int = 16) -> Any:
    """A ``requests.Session`` that never retries by itself (see :class:`RetryPolicy`)."""
    import requests
    from requests.adapters import HTTPAdapter

    adapter = HTTPAdapter(max_retries=0, pool_connections=pool_size, pool_maxsize=pool_size)
    s = requests.Session()
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    s.headers["User-Agent"] = USER_AGENT
    return s


T = TypeVar("T")


class Retryable(Exception):
    """One try failed in a way worth another (a cut, a stall, 408, 429, 5xx).
    ``unreachable``: no answer at all (refused, timed out, not resolved, TLS, reset)."""

    def __init__(
        self, message: str, retry_after: float | None = None, unreachable: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.unreachable = unreachable


def request_failed(error: BaseException, final: Callable[[str], Exception]) -> Exception:
    """What an exception of the HTTP stack becomes: :class:`Retryable` (marked
    ``unreachable``) when another try could change it, else ``final(cause in words)``."""
    from .failures import cause

    what, again = cause(error)
    return Retryable(what, unreachable=True) if again else final(what)


def with_retries(
    policy: RetryPolicy,
    attempt: Callable[[], T],
    give_up: Callable[[Retryable, str], Exception],
) -> T:
    """``attempt()`` until it returns, tried again after each :class:`Retryable` as
    ``policy`` says; when it says stop, ``give_up(last error, "N tries")`` is raised."""
    tries, waited = 0, 0.0
    while True:
        tries += 1
        try:
            return attempt()
        except Retryable as e:
            delay = policy.wait_before(tries, e.retry_after, waited)
            if delay is None:
                raise give_up(e, f"{tries} {'try' if tries == 1 else 'tries'}") from None
            waited += delay
            time.sleep(delay)
