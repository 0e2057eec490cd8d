"""Parallel, resumable, verified package downloads, streamed to disk.

Each archive goes to ``<dest>.partial`` first; an existing partial file is resumed
with an HTTP Range request. The bytes are hashed as they stream (memory stays flat
whatever the package size) and the file is renamed into place only when its size
and sha256 (md5 only where no sha256 is known) match. Connection errors, cuts,
stalls, 429 and 5xx answers are retried as :class:`~.session.RetryPolicy` says,
resuming where the data stopped; a 404, a refused credential or a hash mismatch is
not retried. A failed archive does not stop the others: the run ends with one error
listing every archive that failed; but when every try of one archive got no answer at all,
its server is taken for down and the archives still to come from there are not tried.
Ctrl-C stops at once, leaving partial files to resume.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from threading import Event, Lock, Thread
from typing import Any

from ..errors import DownloadError
from ..integrity import Verifier, copy_verified, file_problem
from .failures import cause
from .session import RetryPolicy
from .transfer import (
    Cancelled,
    DownloadJob,
    DownloadResult,
    Transient,
    check_status,
    finish,
    partial,
    receive,
)
from .urls import origin

__all__ = ["Cancelled", "DownloadJob", "DownloadResult", "Downloader"]


def _summary(
    failures: Sequence[DownloadError], total: int, down: Mapping[str, str]
) -> DownloadError:
    """One error for every archive that failed (the first few spelled out); a server
    that did not answer is named first, once."""
    if len(failures) == 1:
        return failures[0]
    shown = "; ".join(str(e) for e in failures[:5])
    more = f"; and {len(failures) - 5} more" if len(failures) > 5 else ""
    first = "".join(f"{server}: cannot reach the server: {why}; " for server, why in down.items())
    error = DownloadError(f"{first}{len(failures)} of {total} archives failed: {shown}{more}")
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
        # server (scheme://host:port) -> why it is taken for down: an archive whose tries
        # all got no answer speaks for its server; the others there are not tried again.
        self._down: dict[str, str] = {}

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
            ordered = [e for _, e in sorted(failures, key=lambda f: f[0])]
            raise _summary(ordered, len(todo), self._down)
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
        from ..channel.repodata import file_url_to_path

        tmp = partial(job.dest)
        try:
            v = copy_verified(file_url_to_path(job.url), tmp, job.expected, self._progress)
        except FileNotFoundError:
            tmp.unlink(missing_ok=True)
            raise DownloadError(f"{job.label}: {job.public_url} does not exist") from None
        return finish(job, tmp, v, "downloaded", v.size)

    def _download(self, job: DownloadJob) -> DownloadResult:
        tmp = partial(job.dest)
        fetched, tries, waited, how, started_over = 0, 0, 0.0, "downloaded", False
        while True:
            if self._cancel.is_set():
                raise Cancelled(f"{job.label}: cancelled")
            self._check_server(job)
            tries += 1
            try:
                v, got, resumed = self._attempt(job, tmp)
            except Transient as e:
                delay = self.policy.wait_before(tries, e.retry_after, waited)
                if delay is None:
                    if e.unreachable:
                        with self._lock:
                            self._down.setdefault(origin(job.url), f"{e} ({tries} tries)")
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
            return finish(job, tmp, v, how, fetched)

    def _check_server(self, job: DownloadJob) -> None:
        """Give up at once on an archive whose server another archive found down."""
        server = origin(job.url)
        with self._lock:
            down = self._down.get(server)
        if down is not None:
            raise DownloadError(
                f"{job.label}: {job.public_url}: not tried again: {server} did not answer "
                f"another archive ({down}); run again to resume"
            )

    def _gave_up(self, job: DownloadJob, e: Transient, tries: int) -> str:
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
                    resume = check_status(job, tmp, r, have)
                    if not resume:
                        v = Verifier(job.expected)
                    received = receive(
                        job, tmp, r, v, resume, self.policy, self._cancel, self._progress
                    )
                finally:
                    with self._lock:
                        self._responses.discard(r)
                if job.size is not None and v.size < job.size and "Content-Length" not in r.headers:
                    raise Transient(f"connection closed after {v.size} of {job.size} bytes")
                return v, received, resume
        except (requests.RequestException, urllib3.exceptions.HTTPError, TimeoutError) as e:
            if self._cancel.is_set():
                raise Cancelled(f"{job.label}: cancelled") from None
            what, again = cause(e)
            if not again:  # e.g. a redirect to file://: no other try can change it
                raise DownloadError(f"{job.label}: {job.public_url}: {what}") from None
            raise Transient(f"{what} after {received} bytes", unreachable=not received) from None
