"""Manifests and tags of a registry: put one, ask for one's digest (``HEAD``), get one
(bounded, checked against the digest it was asked by), list a repository's tags (every
page). :class:`Manifests` is a part of :class:`~.oci.Registry`, which sends the requests.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from ..errors import RegistryError
from .oci_names import (
    DIGEST,
    MANIFEST_MEDIA_TYPE,
    MAX_MANIFEST,
    MAX_TAG_PAGES,
    MAX_TAGS_PAGE,
    TAG,
    pull_scope,
    push_scope,
    sha256_digest,
)

if TYPE_CHECKING:
    from .oci import Registry


class Manifests:
    """The manifest and tag requests of :class:`~.oci.Registry`."""

    def put_manifest(self: Registry, repo: str, reference: str, manifest: bytes) -> str:
        what = f"put manifest {repo}:{reference}"
        headers = {"Content-Type": MANIFEST_MEDIA_TYPE}

        def attempt() -> None:
            r = self.request(
                "PUT",
                f"/v2/{repo}/manifests/{reference}",
                push_scope(repo),
                body=lambda: manifest,
                headers=headers,
            )
            self.expect(r, what, 201).close()

        self.call(what, attempt)
        return sha256_digest(manifest)

    def _manifest(
        self: Registry, method: str, repo: str, reference: str, scope: str, **kw: Any
    ) -> Any:
        url = f"/v2/{repo}/manifests/{reference}"
        return self.request(method, url, scope, headers={"Accept": MANIFEST_MEDIA_TYPE}, **kw)

    def manifest_digest(self: Registry, repo: str, reference: str) -> str | None:
        """The digest of ``repo:reference`` (HEAD), or None when there is none."""
        what = f"HEAD manifest {repo}:{reference}"

        def attempt() -> str | None:
            r = self._manifest("HEAD", repo, reference, push_scope(repo))
            r.close()
            if r.status_code == 404:
                return None
            self.expect(r, what, 200)
            digest = r.headers.get("Docker-Content-Digest", "")
            return digest if DIGEST.fullmatch(digest) else None

        return self.call(what, attempt)

    def tags(self: Registry, repo: str) -> list[str]:
        """The tags of ``repo`` (every page of ``/tags/list``; [] when it has none)."""
        what = f"tags of {repo}"
        found: list[str] = []
        url: str | None = f"/v2/{repo}/tags/list?n=1000"
        for _ in range(MAX_TAG_PAGES):
            if url is None:
                return found

            def attempt(page_url: str = url) -> tuple[Any, str | None]:
                r = self.request("GET", page_url, pull_scope(repo), stream=True)
                if r.status_code == 404:
                    drain(r)
                    return {"tags": []}, None
                with self.expect(r, what, 200):
                    body = json.loads(read_bounded(r, MAX_TAGS_PAGE, f"{self.url}: {what}"))
                    link = re.match(r"\s*<([^>]+)>", r.headers.get("Link", ""))
                    return body, link.group(1) if link else None

            body, url = self.call(what, attempt)
            page = body.get("tags") if isinstance(body, dict) else None
            found += [t for t in page or [] if isinstance(t, str) and TAG.fullmatch(t)]
        raise RegistryError(f"{self.url}: {what}: more than {MAX_TAG_PAGES} pages; refused")

    def get_manifest(
        self, repo: str, reference: str, missing_ok: bool = False
    ) -> tuple[dict[str, Any], str] | None:
        """The manifest ``repo:reference`` (a tag or a digest) and its digest; at most
        :data:`MAX_MANIFEST` bytes; checked against the digest when asked by one."""
        what = f"manifest {repo}:{reference}"

        def attempt() -> bytes | None:
            r = self._manifest("GET", repo, reference, pull_scope(repo), stream=True)
            if r.status_code == 404:
                drain(r)
                return None
            with self.expect(r, what, 200):
                return read_bounded(r, MAX_MANIFEST, f"{self.url}: {what}")

        raw = self.call(what, attempt)
        if raw is None and missing_ok:
            return None
        if raw is None:
            raise RegistryError(f"{self.url}: {what}: not found (HTTP 404)")
        digest = sha256_digest(raw)
        if DIGEST.fullmatch(reference) and digest != reference:
            raise RegistryError(
                f"{self.url}: {what}: the registry sent a manifest of digest {digest}"
            )
        try:
            doc = json.loads(raw)
        except ValueError:
            raise RegistryError(f"{self.url}: {what}: not JSON") from None
        if not isinstance(doc, dict):
            raise RegistryError(f"{self.url}: {what}: not a JSON object")
        return doc, digest


def drain(r: Any, limit: int = 1 << 16) -> None:
    """Read a short answer's body to its end (the connection then stays open for the next
    request), or close it: a long one is not worth reading."""
    try:
        read_bounded(r, limit, "")
    except (RegistryError, OSError, ValueError):
        pass
    finally:
        r.close()


def read_bounded(r: Any, limit: int, what: str) -> bytes:
    """A response body of at most ``limit`` bytes, else an error naming ``what``."""
    length = r.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > limit:
        raise RegistryError(f"{what}: {length} bytes, more than the {limit} accepted; refused")
    data = bytearray()
    for chunk in r.iter_content(1 << 16):
        data += chunk
        if len(data) > limit:
            raise RegistryError(f"{what}: more than the {limit} bytes accepted; refused")
    return bytes(data)
