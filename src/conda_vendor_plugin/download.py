"""Parallel, resumable, verified package downloads, streamed to disk.

Each archive goes to ``<dest>.partial`` first; an existing partial file is resumed
with an HTTP Range request. The bytes are hashed as they stream (memory stays flat
whatever the package size) and the file is renamed into place only when its size
and sha256 (md5 only where no sha256 is known) match. Connection errors, cuts,
stalls, 429 and 5xx answers are retried as :class:`~.session.RetryPolicy` says,
resuming where the data stopped; a 404, a refused credential or a hash mismatch is
not retried. A failed archive does not stop the others: the run ends with one error
listing every archive that failed. Ctrl-C stops at once, leaving partial files to
resume.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from threading import Event, Lock, Thread
from typing import Any

from .errors import DownloadError
from .fsutil import open_nofollow
from .integrity import Expected, Verifier, copy_verified, file_problem
from .session import RetryPolicy, retry_after_seconds
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


def _partial(dest: Path) -> Path:
    return dest.with_name(dest.name + ".partial")


def _body(response: Any) -> Iterable[bytes]:
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


class _Transient(Exception):
    """A failure worth retrying (connection trouble, a cut, a stall, 429, 5xx)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Cancelled(DownloadError):
    """The run was stopped (Ctrl-C, or another archive hit a fatal error)."""


def _summary(failures: Sequence[DownloadError], total: int) -> DownloadError:
    """One error for every archive that failed (the first few spelled out)."""
    if len(failures) == 1:
        return failures[0]
    shown = "; ".join(str(e) for e in failures[:5])
    more = f"; and {len(failures) - 5} more" if len(failures) > 5 else ""
    error = DownloadError(f"{len(failures)} of {total} archives failed: {shown}{more}")
    error.details = {"failures": [str(e) for e in failures]}
    return error


class Downloader:
    """Fetch many archives with ``jobs`` threads over ``requests``-like sessions."""

    def __init__(
        self,
        session_for: Callable[[str], Any],
        jobs: int = 8,
        policy: RetryPolicy | None = None,
        cache_dirs: Sequence[Path] = (),
        on_bytes: Callable[[int], None] | None = None,
        on_note: Callable[[str], None] | None = None,
    ) -> None:
        self.session_for = session_for
        self.jobs = max(1, jobs)
        self.policy = policy or RetryPolicy()
        self.cache_dirs = tuple(cache_dirs)
        self._on_bytes = on_bytes
        self._on_note = on_note
        self._lock = Lock()
        self._cancel = Event()
        self._responses: set[Any] = set()

    def _progress(self, n: int) -> None:
        if self._on_bytes is not None:
            with self._lock:
                self._on_bytes(n)

    def _note(self, message: str) -> None:
        if self._on_note is not None:
            with self._lock:
                self._on_note(message)

    def run(self, jobs: Iterable[DownloadJob]) -> list[DownloadResult]:
        """Fetch all ``jobs``. Archives that fail do not stop the others; the run then
        raises one :class:`DownloadError` naming every one. Any other error (a full disk)
        and Ctrl-C stop every download at once."""
        todo = list(jobs)
        results: list[DownloadResult | None] = [None] * len(todo)
        failures: list[tuple[int, DownloadError]] = []
        fatal: list[BaseException] = []
        queue = list(enumerate(todo))[::-1]

        def work() -> None:
            while not self._cancel.is_set():
                with self._lock:
                    if not queue:
                        return
                    i, job = queue.pop()
                try:
                    results[i] = self.fetch(job)
                except Cancelled:
                    return
                except DownloadError as e:
                    with self._lock:
                        failures.append((i, e))
                except BaseException as e:  # a full disk, a bug: stop everything
                    with self._lock:
                        fatal.append(e)
                    self._stop()
                    return

        threads = [
            Thread(target=work, name=f"download-{n}", daemon=True)
            for n in range(min(self.jobs, len(todo)))
        ]
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(0.1)  # short waits: Ctrl-C is seen at once
        except BaseException:
            self._stop()  # daemon threads: a read still blocked cannot hold the exit
            raise
        if fatal:
            raise fatal[0]
        if failures:
            raise _summary([e for _, e in sorted(failures, key=lambda f: f[0])], len(todo))
        return [r for r in results if r is not None]

    def _stop(self) -> None:
        """Cancel every download and interrupt reads in progress."""
        self._cancel.set()
        with self._lock:
            responses = list(self._responses)
        for r in responses:
            shutdown = getattr(getattr(r, "raw", None), "shutdown", None)  # urllib3 >= 2.3
            try:
                shutdown() if shutdown is not None else r.close()
            except Exception:
                pass

    # -- one archive ---------------------------------------------------------------

    def fetch(self, job: DownloadJob) -> DownloadResult:
        job.dest.parent.mkdir(parents=True, exist_ok=True)
        if job.dest.exists() and file_problem(job.dest, job.expected) is None:
            self._progress(job.size or 0)
            return DownloadResult(job, "kept", 0)
        job.dest.unlink(missing_ok=True)
        # Not the .partial: a copy that fails verification must not cost a resumable download.
        tmp = job.dest.with_name(job.dest.name + ".from-cache")
        for cache_dir in self.cache_dirs:
            candidate = cache_dir / job.dest.name
            if not candidate.is_file():
                continue
            if job.size is not None and candidate.stat().st_size != job.size:
                continue
            v = copy_verified(candidate, tmp, job.expected, lambda n: None)
            if v.problem() is None:
                os.replace(tmp, job.dest)
                self._progress(v.size)
                return DownloadResult(job, "cached", 0)
            tmp.unlink()
        if job.url.startswith("file:"):
            if not job.local_ok:  # the plan refuses these first; never read local files here
                raise DownloadError(f"{job.label}: {job.public_url}: not fetched (file:// URL)")
            return self._copy_local(job)
        return self._download(job)

    def _copy_local(self, job: DownloadJob) -> DownloadResult:
        from .repodata import file_url_to_path

        tmp = _partial(job.dest)
        try:
            v = copy_verified(file_url_to_path(job.url), tmp, job.expected, self._progress)
        except FileNotFoundError:
            tmp.unlink(missing_ok=True)
            raise DownloadError(f"{job.label}: {job.public_url} does not exist") from None
        return self._finish(job, tmp, v, "downloaded", v.size)

    def _download(self, job: DownloadJob) -> DownloadResult:
        tmp = _partial(job.dest)
        fetched, tries, waited, how, started_over = 0, 0, 0.0, "downloaded", False
        while True:
            if self._cancel.is_set():
                raise Cancelled(f"{job.label}: cancelled")
            tries += 1
            try:
                v, got, resumed = self._attempt(job, tmp)
            except _Transient as e:
                delay = self.policy.wait_before(tries, e.retry_after, waited)
                if delay is None:
                    raise DownloadError(self._gave_up(job, e, tries)) from None
                if e.retry_after is not None:
                    self._note(f"{job.label}: the server asks to retry after {delay:.0f} s")
                waited += delay
                if self._cancel.wait(delay):
                    raise Cancelled(f"{job.label}: cancelled") from None
                continue
            fetched += got
            if resumed:
                if v.problem() is not None and not started_over:
                    # A stale partial file from an earlier run poisons a resume: start over once.
                    tmp.unlink(missing_ok=True)
                    started_over = True
                    continue
                how = "resumed"
            return self._finish(job, tmp, v, how, fetched)

    def _gave_up(self, job: DownloadJob, e: _Transient, tries: int) -> str:
        what = f"{job.label}: {job.public_url}: {e}"
        if e.retry_after is not None and e.retry_after > self.policy.max_retry_after:
            return (
                f"{what} asking to retry after {e.retry_after:.0f} s, longer than the "
                f"{self.policy.max_retry_after:.0f} s this tool waits; try again later"
            )
        plural = "try" if tries == 1 else "tries"
        return f"{what} (gave up after {tries} {plural}; run again to resume)"

    def _attempt(self, job: DownloadJob, tmp: Path) -> tuple[Verifier, int, bool]:
        """One GET appending to ``tmp``: (verifier over the whole file, bytes received, resumed)."""
        import requests
        import urllib3

        have = tmp.stat().st_size if tmp.exists() else 0
        if job.size is not None and have > job.size:
            tmp.unlink()
            have = 0
        v = Verifier(job.expected)
        if have:
            v.update_from(tmp)
            if have == job.size:
                return v, 0, True
        headers = {"Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        session = self.session_for(job.url)
        received = 0
        try:
            with session.get(
                job.url, headers=headers, stream=True, timeout=self.policy.timeout
            ) as r:
                with self._lock:
                    self._responses.add(r)
                try:
                    resume = self._check_status(job, tmp, r, have)
                    if not resume:
                        v = Verifier(job.expected)
                    received = self._receive(job, tmp, r, v, resume)
                finally:
                    with self._lock:
                        self._responses.discard(r)
                if job.size is not None and v.size < job.size and "Content-Length" not in r.headers:
                    raise _Transient(f"connection closed after {v.size} of {job.size} bytes")
                return v, received, resume
        except (requests.RequestException, urllib3.exceptions.HTTPError, TimeoutError) as e:
            if self._cancel.is_set():
                raise Cancelled(f"{job.label}: cancelled") from None
            raise _Transient(f"{type(e).__name__} after {received} bytes") from None

    def _check_status(self, job: DownloadJob, tmp: Path, r: Any, have: int) -> bool:
        """Raise for any answer but 200/206; True when the answer resumes ``tmp``."""
        status = r.status_code
        if status == 416 and have:
            tmp.unlink(missing_ok=True)
            raise _Transient("server refused to resume; starting over")
        if status in (401, 403):
            raise DownloadError(
                f"{job.label}: {job.public_url}: HTTP {status}; check the channel's credentials"
            )
        if status == 404:
            raise DownloadError(
                f"{job.label}: {job.public_url}: HTTP 404, the channel lists this package but "
                f"does not serve it"
            )
        if status >= 500 or status == 429:
            raise _Transient(f"HTTP {status}", retry_after_seconds(r.headers))
        if status not in (200, 206):
            raise DownloadError(f"{job.label}: {job.public_url}: HTTP {status}")
        return status == 206 and have > 0

    def _receive(self, job: DownloadJob, tmp: Path, r: Any, v: Verifier, resume: bool) -> int:
        """Stream the body into ``tmp`` (appending when ``resume``), never past the
        expected size, and fail a body slower than the policy's minimum rate."""
        received = 0
        window_start, window_bytes = time.monotonic(), 0
        with open_nofollow(tmp, "ab" if resume else "wb") as f:
            for chunk in _body(r):
                if self._cancel.is_set():
                    raise Cancelled(f"{job.label}: cancelled")
                if job.size is not None and v.size + len(chunk) > job.size:
                    raise self._oversize(job, tmp)
                f.write(chunk)
                v.update(chunk)
                received += len(chunk)
                window_bytes += len(chunk)
                self._progress(len(chunk))
                elapsed = time.monotonic() - window_start
                if elapsed >= self.policy.rate_window:
                    if window_bytes < self.policy.min_rate * elapsed:
                        raise _Transient(
                            f"stalled ({window_bytes} bytes in {elapsed:.0f} s) after "
                            f"{received} bytes"
                        )
                    window_start, window_bytes = time.monotonic(), 0
        return received

    @staticmethod
    def _oversize(job: DownloadJob, tmp: Path) -> DownloadError:
        tmp.unlink(missing_ok=True)
        return DownloadError(
            f"{job.label}: {job.public_url}: the server sent more than the {job.size} bytes "
            f"its repodata entry gives; stopped there and discarded the file"
        )

    def _finish(
        self, job: DownloadJob, tmp: Path, v: Verifier, how: str, fetched: int
    ) -> DownloadResult:
        problem = v.problem()
        if problem is not None:
            tmp.unlink(missing_ok=True)
            raise DownloadError(
                f"{job.label}: {job.public_url} does not match its repodata entry: {problem}; "
                f"the file was discarded"
            )
        os.replace(tmp, job.dest)
        return DownloadResult(job, how, fetched)
