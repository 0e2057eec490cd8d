"""Where an interrupted chunked upload stands, kept across runs so that the next push
resumes it (the registry says how far it got: ``GET`` the upload's location) instead of
sending the blob again from its first byte.

One small JSON file per (registry, repository, digest) under the directory given (the
CLI's: ``$XDG_CACHE_HOME/conda-vendor-plugin/oci-uploads``), written atomically after the
upload starts and after each chunk, removed when the blob is complete. It holds the
upload's location (the registry's URL for it, which names no credentials), never a
password or token. A file that does not parse, names another upload or points at another
host is ignored and removed: the upload then starts afresh.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..fsutil import atomic_write_text, read_limited

MAX_STATE = 64 << 10


@dataclass(frozen=True)
class UploadSessions:
    """The saved upload locations of one registry (``url``) in ``directory``."""

    directory: Path
    url: str

    def _path(self, repo: str, digest: str) -> Path:
        key = hashlib.sha256(f"{self.url} {repo} {digest}".encode()).hexdigest()[:32]
        return self.directory / f"{key}.json"

    def load(self, repo: str, digest: str) -> str | None:
        """The saved location of the upload of ``digest`` into ``repo``, or None."""
        path = self._path(repo, digest)
        try:
            doc = json.loads(read_limited(path, MAX_STATE))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            self.forget(repo, digest)
            return None
        mine = {"registry": self.url, "repository": repo, "digest": digest}
        location = doc.get("location") if isinstance(doc, dict) else None
        if not isinstance(location, str) or any(doc.get(k) != v for k, v in mine.items()):
            self.forget(repo, digest)
            return None
        return location

    def save(self, repo: str, digest: str, location: str) -> None:
        doc = {"registry": self.url, "repository": repo, "digest": digest, "location": location}
        atomic_write_text(self._path(repo, digest), json.dumps(doc, sort_keys=True) + "\n")

    def forget(self, repo: str, digest: str) -> None:
        self._path(repo, digest).unlink(missing_ok=True)
