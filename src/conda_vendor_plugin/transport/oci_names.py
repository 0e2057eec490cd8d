"""Names in the OCI distribution protocol: ``oci://`` references, repository names, tags,
digests, and the limits every registry client here keeps."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import RegistryError, UsageError, quoted
from .urls import redact_text

MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
MAX_MANIFEST = 4 << 20  # the size registries must accept; anything larger is refused
MAX_TAGS_PAGE = 16 << 20
MAX_TAG_PAGES = 1000
CHUNK_SIZE = 32 << 20  # blobs larger than this go up in PATCH chunks of this size
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class OciReference:
    """``oci://HOST[:PORT]/NAMESPACE[:TAG]``."""

    netloc: str
    namespace: str
    tag: str | None = None

    @classmethod
    def parse(cls, url: str) -> OciReference:
        parts = urlsplit(url)
        if parts.scheme != "oci" or not parts.netloc or parts.query or parts.fragment:
            raise UsageError(f"{quoted(url)}: expected oci://HOST[:PORT]/NAMESPACE[:TAG]")
        if "@" in parts.netloc:
            raise UsageError(
                f"{redact_text(url)}: no credentials in the URL; put them in "
                f"~/.docker/config.json or REGISTRY_AUTH_FILE (`docker login` writes them)"
            )
        path = parts.path.strip("/")
        namespace, _, tag = path.rpartition(":") if ":" in path else (path, "", "")
        if not REPOSITORY.fullmatch(namespace):
            raise UsageError(
                f"{quoted(url)}: {quoted(namespace)} is not a registry repository name "
                f"(lowercase letters, digits, '.', '_', '-', separated by '/')"
            )
        if tag and not TAG.fullmatch(tag):
            raise UsageError(f"{quoted(url)}: {quoted(tag)} is not a valid tag")
        return cls(parts.netloc, namespace, tag or None)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_repository(name: str) -> str:
    if len(name) > 255 or not REPOSITORY.fullmatch(name):
        raise RegistryError(f"{quoted(name)} is not a valid registry repository name")
    return name


def push_scope(repo: str) -> str:
    return f"repository:{repo}:pull,push"


def pull_scope(repo: str) -> str:
    return f"repository:{repo}:pull"
