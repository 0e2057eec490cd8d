"""What a failed request means, in words: the one status-to-error mapping.

Every fetch (repodata, shards, archives; conda's own fetches inside conda) asks here
whether another try could change an answer and how to name it:

* an HTTP status: 408, 429 and 5xx may pass (tried again); 401/403 are credentials, 404
  is "not there", any other 4xx is final;
* an exception from the HTTP stack: refused, timed out, name not resolved, TLS, reset
  are the server's or the network's (tried again; when the tries are over the CHANNEL
  is unreachable: its other files are not tried, see :class:`ChannelUnreachable`); a redirect
  to ``file://`` or another scheme no client may follow is final at once.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

from ..errors import ChannelError
from .urls import redact_text, redact_url

RETRYABLE_STATUS = frozenset({408, 429})


def retryable_status(status: int) -> bool:
    """Whether another try could change an answer with this HTTP status."""
    return status in RETRYABLE_STATUS or status >= 500


def status_cause(status: int) -> str:
    """An HTTP status in words, with what to do where there is something to do."""
    if status in (401, 403):
        return f"HTTP {status}, access refused; check the channel's credentials"
    if status == 404:
        return "HTTP 404, not found; check the channel name or URL"
    if status == 408:
        return "HTTP 408, the server timed out waiting for the request"
    if status == 429:
        return "HTTP 429, too many requests"
    if status == 503:
        return "HTTP 503, service unavailable"
    if status >= 500:
        return f"HTTP {status}, server error"
    return f"HTTP {status}"


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, its causes and contexts, and the exceptions urllib3 and requests wrap
    in their first argument or ``reason``."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        nested = [e.__cause__, e.__context__, getattr(e, "reason", None)]
        nested += [a for a in getattr(e, "args", ()) if isinstance(a, BaseException)]
        todo.extend(n for n in nested if isinstance(n, BaseException))


def cause(error: BaseException) -> tuple[str, bool]:
    """``(what happened in words, whether another try could change it)`` for an exception
    raised by ``requests`` / ``urllib3`` (or their causes)."""
    names = [type(e).__name__ for e in _chain(error)]
    chain = list(_chain(error))
    if any(n in ("InvalidSchema", "MissingSchema", "InvalidURL") for n in names):
        return "redirected to (or given) a URL no HTTP client may follow", False
    if "TooManyRedirects" in names:
        return "too many redirects", False
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused", True
    if any(isinstance(e, socket.gaierror) for e in chain) or "NameResolutionError" in names:
        return "host name not resolved", True
    if any(isinstance(e, ssl.SSLError) for e in chain) or "SSLError" in names:
        detail = next((str(e) for e in chain if isinstance(e, ssl.SSLError)), "")
        return f"TLS handshake failed{f' ({redact_text(detail)[:120]})' if detail else ''}", True
    timeouts = [n for n, e in zip(names, chain) if "Timeout" in n or isinstance(e, TimeoutError)]
    if timeouts:
        return f"timed out, no answer ({timeouts[0]})", True
    if any(isinstance(e, ConnectionResetError) for e in chain):
        return "connection reset by the server", True
    if any(n in ("ProtocolError", "ChunkedEncodingError", "IncompleteRead") for n in names):
        return "connection cut during the answer", True
    return "connection failed", True


class ChannelUnreachable(ChannelError):
    """A channel that could not be reached after the retries (refused, timed out, name
    not resolved, TLS, reset): the channel's answer for the whole run. Callers do not
    go on to its other files (shard index, ``repodata.json.zst``, ``repodata.json``)."""

    def __init__(self, channel: str, what: str, tries: str = "") -> None:
        self.channel = redact_url(channel).rstrip("/")
        self.what = what
        after = f" (gave up after {tries})" if tries else ""
        advice = (
            ""
            if what.startswith("HTTP")
            else ("; check the URL and your network (proxy, VPN), or try again later")
        )
        super().__init__(f"{self.channel}: cannot reach the channel: {what}{after}{advice}")
