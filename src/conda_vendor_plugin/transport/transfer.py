"""One archive over HTTP: what a job is, what an answer means, and the body streamed into
a partial file, hashed as it arrives, never past the expected size, never decoded."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from threading import Event
from typing import Any

from ..errors import DownloadError
from ..fsutil import open_nofollow
from ..integrity import Expected, Verifier
from .failures import retryable_status, status_cause
from .session import Retryable, RetryPolicy, retry_after_seconds
from .urls import redact_url

CHUNK = 1 << 18


@dataclass(frozen=True)
class DownloadJob:
    """One archive to put at ``dest``. ``url`` may carry credentials: never log it raw."""

    url: str
    dest: Path
    size: int | None
    sha256: str | None
    md5: str | None
    label: str  # what to call it in messages, e.g. "zlib-1.2.11-h7b6447c_3 (linux-64)"
    local_ok: bool = False  # may ``url`` be file://? Only for archives of a local channel.

    @property
    def public_url(self) -> str:
        return redact_url(self.url)

    @property
    def expected(self) -> Expected:
        return Expected(self.size, self.sha256, self.md5)


@dataclass(frozen=True)
class DownloadResult:
    job: DownloadJob
    how: str  # "downloaded", "resumed", "kept", "cached"
    bytes_fetched: int


def partial(dest: Path) -> Path:
    return dest.with_name(dest.name + ".partial")


def body(response: Any) -> Iterable[bytes]:
    """The response body in pieces as they arrive, exactly as sent (never decoded: an
    archive is compared byte for byte, and a ``Content-Encoding`` could inflate it).

    ``iter_content`` (urllib3 2's ``read(amt)``) collects a whole chunk before yielding
    it, so when the connection drops mid-chunk the bytes already received are lost and
    the resume starts up to a chunk too early (for archives under one chunk, never).
    ``read1`` hands over what has arrived, so the partial file holds every byte received.
    """
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if read1 is None:  # urllib3 < 2.3, whose read(amt) returns short reads anyway
        yield from raw.stream(CHUNK, decode_content=False)
        return
    while chunk := read1(CHUNK, decode_content=False):
        yield chunk


class Transient(Retryable):
    """A download's failure worth retrying (connection trouble, a cut, a stall, 408, 429,
    5xx); ``unreachable`` when no byte of an answer came (refused, timed out, ...)."""


class Cancelled(DownloadError):
    """The run was stopped (Ctrl-C, or another archive hit a fatal error)."""


def check_status(job: DownloadJob, tmp: Path, r: Any, have: int) -> bool:
    """Raise for any answer but 200/206; True when the answer resumes ``tmp``."""
    status = r.status_code
    if status == 416 and have:
        tmp.unlink(missing_ok=True)
        raise Transient("server refused to resume; starting over")
    if status in (401, 403):
        raise DownloadError(
            f"{job.label}: {job.public_url}: HTTP {status}; check the channel's credentials"
        )
    if status == 404:
        raise DownloadError(
            f"{job.label}: {job.public_url}: HTTP 404, the channel lists this package but "
            f"does not serve it"
        )
    if retryable_status(status):
        raise Transient(status_cause(status), retry_after_seconds(r.headers))
    if status not in (200, 206):
        raise DownloadError(f"{job.label}: {job.public_url}: HTTP {status}")
    return status == 206 and have > 0


def receive(
    job: DownloadJob,
    tmp: Path,
    r: Any,
    v: Verifier,
    resume: bool,
    policy: RetryPolicy,
    cancel: Event,
    progress: Callable[[int], None],
) -> int:
    """Stream the body into ``tmp`` (appending when ``resume``), never past the
    expected size, and fail a body slower than the policy's minimum rate."""
    received = 0
    window_start, window_bytes = time.monotonic(), 0
    with open_nofollow(tmp, "ab" if resume else "wb") as f:
        for chunk in body(r):
            if cancel.is_set():
                raise Cancelled(f"{job.label}: cancelled")
            if job.size is not None and v.size + len(chunk) > job.size:
                raise oversize(job, tmp)
            f.write(chunk)
            v.update(chunk)
            received += len(chunk)
            window_bytes += len(chunk)
            progress(len(chunk))
            elapsed = time.monotonic() - window_start
            if elapsed >= policy.rate_window:
                if window_bytes < policy.min_rate * elapsed:
                    raise Transient(
                        f"stalled ({window_bytes} bytes in {elapsed:.0f} s) after {received} bytes"
                    )
                window_start, window_bytes = time.monotonic(), 0
    return received


def oversize(job: DownloadJob, tmp: Path) -> DownloadError:
    tmp.unlink(missing_ok=True)
    return DownloadError(
        f"{job.label}: {job.public_url}: the server sent more than the {job.size} bytes "
        f"its repodata entry gives; stopped there and discarded the file"
    )


def finish(job: DownloadJob, tmp: Path, v: Verifier, how: str, fetched: int) -> DownloadResult:
    """Rename ``tmp`` into place if it is the archive, else discard it and say why."""
    problem = v.problem()
    if problem is not None:
        tmp.unlink(missing_ok=True)
        raise DownloadError(
            f"{job.label}: {job.public_url} does not match its repodata entry: {problem}; "
            f"the file was discarded"
        )
    os.replace(tmp, job.dest)
    return DownloadResult(job, how, fetched)
