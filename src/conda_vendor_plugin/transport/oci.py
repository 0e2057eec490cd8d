"""The OCI distribution protocol (Docker Registry HTTP API v2): blobs and manifests.

What the bundle code asks for: does the repository have this blob (``HEAD``), put a blob
(:mod:`.oci_upload`), put and get a manifest and list tags (:mod:`.oci_manifests`), and
sessions for :class:`~.download.Downloader` to fetch blobs with (verified by their digest
there, resumable, parallel). Names and references: :mod:`.oci_names`. Nothing here knows
conda packages or bundles.

Requests go over https, verified with ``ca_cert``, else ``REQUESTS_CA_BUNDLE`` (or
``CURL_CA_BUNDLE``) where set, else the system store; plain http only when ``insecure``.
Proxies come from the environment, read once per session. Authentication: :mod:`.oci_auth`.
Redirects are followed only for blob downloads, and ``requests`` drops the
``Authorization`` header when one leads to another host; an upload ``Location`` on another
host is refused. Manifests are read up to :data:`MAX_MANIFEST` bytes. Retries follow
:class:`~.session.RetryPolicy`, the one policy of every download.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..errors import RegistryError, quoted
from .failures import cause, retryable_status, status_cause
from .oci_auth import Authenticator, Credentials, basic_header, credentials_for
from .oci_manifests import Manifests, read_bounded
from .oci_names import (
    CHUNK_SIZE,
    check_repository,
    pull_scope,
    push_scope,
)
from .oci_sessions import UploadSessions
from .session import Retryable, RetryPolicy, make_session, retry_after_seconds, with_retries
from .urls import origin, redact_text


class Registry(Manifests):
    """One registry (``host:port``), its TLS settings, credentials and tokens."""

    def __init__(
        self,
        netloc: str,
        *,
        insecure: bool = False,
        ca_cert: Path | None = None,
        credentials: Credentials | None = None,
        environ: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
        chunk_size: int = CHUNK_SIZE,
        upload_state: Path | None = None,
    ) -> None:
        """``upload_state``: a directory where interrupted chunked uploads are remembered
        for the next run to resume (:mod:`.oci_sessions`); None: not remembered."""
        self.netloc = netloc
        self.url = f"{'http' if insecure else 'https'}://{netloc}"
        self.verify: str | bool = str(ca_cert) if ca_cert is not None else _ca_bundle()
        creds = credentials if credentials is not None else credentials_for(netloc, environ)
        self.auth = Authenticator(self.url, creds)
        self.policy = policy or RetryPolicy.from_environment(environ)
        self.chunk_size = chunk_size
        self.sessions = UploadSessions(upload_state, self.url) if upload_state else None
        self.cancelled = threading.Event()  # set: every request from now on fails at once
        self._local = threading.local()

    # -- one request ---------------------------------------------------------------

    @property
    def session(self) -> Any:
        if getattr(self._local, "session", None) is None:
            self._local.session = self._new_session()
        return self._local.session

    def _new_session(self) -> Any:
        """A session that reads the environment once, here, not on every request (as
        ``requests`` does with ``trust_env``: a scan of ``os.environ`` for proxies per
        request, a fifth of push's CPU). The proxies are those the environment gives for
        this registry (``NO_PROXY`` honoured); no ``.netrc``: credentials are docker's."""
        from requests.utils import get_environ_proxies

        session = make_session(4)
        session.trust_env = False
        session.proxies = get_environ_proxies(self.url)
        return session

    def same_origin(self, url: str) -> str:
        full = urljoin(self.url + "/", url)
        if origin(full) != origin(self.url):
            raise RegistryError(
                f"{self.url}: the registry points an upload at {quoted(redact_text(full))}, "
                f"another host; refused (credentials stay with their registry)"
            )
        return full

    def request(self, method: str, url: str, scope: str, **kw: Any) -> Any:
        """One request with the scope's credentials; a 401 is answered once (the
        challenge's token or basic credentials), then the request is sent again."""
        import requests

        if self.cancelled.is_set():
            raise RegistryError(f"{self.url}: cancelled")
        url = self.same_origin(url)
        extra = dict(kw.pop("headers", None) or {})
        kw.setdefault("allow_redirects", False)
        body: Callable[[], Any] | None = kw.pop("body", None)
        passthrough = kw.pop("network_errors", False)
        for _ in range(3):
            headers = {**extra, **self.auth.header(scope)}
            data = body() if body is not None else None
            try:
                r = self.session.request(
                    method,
                    url,
                    headers=headers,
                    data=data,
                    verify=self.verify,
                    timeout=self.policy.timeout,
                    **kw,
                )
            except requests.exceptions.SSLError as e:
                raise RegistryError(self._tls_message(e)) from None
            except (requests.RequestException, OSError) as e:
                if passthrough:
                    raise  # the caller's own retry loop reads it (the Downloader's)
                said, again = cause(e)
                if not again:
                    raise RegistryError(f"{self.url}: {said}") from None
                raise Retryable(said) from None
            finally:
                if data is not None and hasattr(data, "close"):
                    data.close()
            if r.status_code != 401:
                return r
            r.close()
            if not self.auth.learn(r.headers.get("WWW-Authenticate", ""), scope, self._token):
                raise self.auth.refused()
        raise self.auth.refused()

    def _tls_message(self, e: Exception) -> str:
        how = f"with {self.verify}" if isinstance(self.verify, str) else "with the system store"
        return (
            f"{self.url}: TLS certificate not verified {how} ({type(e).__name__}); "
            f"pass --ca-cert FILE with the registry's CA (--insecure: a plain-http lab registry)"
        )

    def _token(self, realm: str, params: dict[str, Any], creds: Credentials | None) -> Any:
        import requests

        headers = basic_header(creds) if creds is not None else {}
        try:
            r = self.session.get(
                realm,
                params=params,
                headers=headers,
                verify=self.verify,
                timeout=self.policy.timeout,
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as e:
            raise Retryable(f"token service: {type(e).__name__}") from None
        with r:
            if r.status_code in (401, 403):
                raise self.auth.refused()
            if r.status_code != 200:
                raise RegistryError(f"{realm}: the token service answered HTTP {r.status_code}")
            try:
                return json.loads(read_bounded(r, 1 << 20, realm))
            except ValueError:
                raise RegistryError(f"{realm}: the token service's answer is not JSON") from None

    def call(self, what: str, attempt: Callable[[], Any]) -> Any:
        """``attempt()`` with the retry policy; ``what`` names it in the final error."""

        def give_up(e: Retryable, tries: str) -> RegistryError:
            return RegistryError(f"{self.url}: {what}: {e} (gave up after {tries})")

        return with_retries(self.policy, attempt, give_up)

    def expect(self, r: Any, what: str, *ok: int) -> Any:
        if r.status_code in ok:
            return r
        r.close()
        status = r.status_code
        if retryable_status(status):
            raise Retryable(status_cause(status), retry_after_seconds(r.headers))
        if status == 403:
            raise RegistryError(f"{self.url}: {what}: HTTP 403, the credentials may not do this")
        raise RegistryError(f"{self.url}: {what}: {status_cause(status)}")

    # -- blobs ---------------------------------------------------------------------

    def has_blob(self, repo: str, digest: str) -> bool:
        url = f"/v2/{repo}/blobs/{digest}"

        def attempt() -> bool:
            r = self.request("HEAD", url, push_scope(repo))
            r.close()
            if r.status_code == 404:
                return False
            self.expect(r, f"HEAD {repo}@{digest}", 200, 307, 302)
            return True

        return bool(self.call(f"HEAD {repo}@{digest}", attempt))

    def put_blob(
        self,
        repo: str,
        digest: str,
        size: int,
        source: Path | bytes,
        mount_from: str | None = None,
    ) -> bool:
        """Upload one blob unless the registry has it (:mod:`.oci_upload`); False when
        nothing was sent. The registry checks what it receives against ``digest``."""
        from .oci_upload import upload_blob

        return upload_blob(self, repo, digest, size, source, mount_from)

    def blob_url(self, repo: str, digest: str) -> str:
        return f"{self.url}/v2/{repo}/blobs/{digest}"

    def blob_session(self, url: str) -> BlobSession:
        """A session for :class:`~.download.Downloader` to GET a blob URL of this registry."""
        path = urlsplit(url).path.removeprefix("/v2/")
        return BlobSession(self, check_repository(path.split("/blobs/", 1)[0]))


class BlobSession:
    """``get`` as :class:`~.download.Downloader` calls it, for one repository's blobs."""

    def __init__(self, registry: Registry, repo: str) -> None:
        self.registry = registry
        self.repo = repo

    def get(self, url: str, **kw: Any) -> Any:
        kw["allow_redirects"] = True  # storage backends redirect; requests drops auth across hosts
        kw.pop("timeout", None)
        import requests

        try:
            return self.registry.request(
                "GET", url, pull_scope(self.repo), network_errors=True, **kw
            )
        except Retryable as e:  # the token service did not answer: the Downloader retries
            raise requests.ConnectionError(str(e)) from None


def _ca_bundle() -> str | bool:
    """The CA bundle ``requests`` would take from the environment, else the system store."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
