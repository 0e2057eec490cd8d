"""Where a bundle's files live in an OCI registry: conda-oci-mirror's layout, which
rattler's ``oci://`` channels (pixi, py-rattler) read, plus one artifact for the bundle's
own metadata.

Under ``oci://HOST/NAMESPACE``:

* an archive ``local_<c>/<subdir>/<name>-<version>-<build>.<ext>`` is the repository
  ``NAMESPACE/local_<c>/<subdir>/<name>`` (a name starting with ``_`` gets ``zzz`` before
  it: repository names may not start with one), tag ``<version>-<build>`` with ``+``,
  ``!`` and ``=`` written ``__p__``, ``__e__``, ``__eq__``; its layers: the archive
  (``application/vnd.conda.package.v1`` for ``.tar.bz2``, ``...v2`` for ``.conda``), its
  ``info/`` folder as a gzipped tar (``application/vnd.conda.info.v1.tar+gzip``) and its
  ``info/index.json`` (``application/vnd.conda.info.index.v1+json``);
* a subdir's ``repodata.json`` is the repository ``NAMESPACE/local_<c>/<subdir>/repodata.json``,
  tags ``latest`` and the bundle state's tag, one layer ``application/vnd.conda.repodata.v1+json``;
* the bundle's metadata (``manifest.json``, ``bundle.json``, the SBOM, every environment
  version's lockfile and environment files, the ``current`` pointers) is the repository
  ``NAMESPACE`` itself, tags ``latest`` and ``bundle-<first 16 hex of manifest.json's
  sha256>``, one layer per file titled with its path in the bundle.

Every layer carries ``org.opencontainers.image.title``. :class:`BundleFiles` sorts a
bundle's ``manifest.json`` by where each file goes, :func:`package_groups` its archives
by package repository and tag.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RegistryError, quoted
from ..fsutil import MAX_METADATA_BYTES, contained, read_limited
from ..transport.oci_names import MANIFEST_MEDIA_TYPE, check_repository, sha256_digest

PACKAGE_MEDIA_TYPES = {
    ".tar.bz2": "application/vnd.conda.package.v1",
    ".conda": "application/vnd.conda.package.v2",
}
INFO_ARCHIVE_MEDIA_TYPE = "application/vnd.conda.info.v1.tar+gzip"
INFO_INDEX_MEDIA_TYPE = "application/vnd.conda.info.index.v1+json"
REPODATA_MEDIA_TYPE = "application/vnd.conda.repodata.v1+json"
EMPTY_CONFIG_MEDIA_TYPE = "application/vnd.unknown.config.v1+json"
BUNDLE_CONFIG_MEDIA_TYPE = "application/vnd.conda-vendor-plugin.bundle.v1+json"
BUNDLE_FILE_MEDIA_TYPE = "application/vnd.conda-vendor-plugin.bundle.file.v1"
TITLE = "org.opencontainers.image.title"
EMPTY_CONFIG = b"{}"
LATEST = "latest"
MAX_INFO_BYTES = 256 << 20  # an info/ folder larger than this (uncompressed) is refused


def escape_tag(version_build: str) -> str:
    return version_build.replace("+", "__p__").replace("!", "__e__").replace("=", "__eq__")


def split_archive(fn: str) -> tuple[str, str, str, str]:
    """``name-version-build.ext`` -> (name, version, build, ext)."""
    ext = next((e for e in PACKAGE_MEDIA_TYPES if fn.endswith(e)), None)
    parts = fn[: -len(ext)].rsplit("-", 2) if ext else []
    if ext is None or len(parts) != 3 or not all(parts):
        raise RegistryError(f"{quoted(fn)} is not a conda archive name (name-version-build.ext)")
    return parts[0], parts[1], parts[2], ext


def package_repository(namespace: str, channel: str, subdir: str, name: str) -> str:
    name = f"zzz{name}" if name.startswith("_") else name
    return check_repository(f"{namespace}/{channel}/{subdir}/{name}")


def repodata_repository(namespace: str, channel: str, subdir: str) -> str:
    return check_repository(f"{namespace}/{channel}/{subdir}/repodata.json")


def bundle_tag(manifest_bytes: bytes) -> str:
    return "bundle-" + sha256_digest(manifest_bytes)[7:23]


@dataclass(frozen=True)
class Layer:
    """One blob of an artifact: where its bytes are, what it is."""

    digest: str
    size: int
    media_type: str
    title: str
    source: Path | bytes
    annotations: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of_bytes(cls, data: bytes, media_type: str, title: str) -> Layer:
        return cls(sha256_digest(data), len(data), media_type, title, data)

    @classmethod
    def of_file(cls, path: Path, item: Mapping[str, Any], media_type: str, title: str) -> Layer:
        """The bundle file ``path``, with the sha256 and size its ``manifest.json``
        entry ``item`` records (checked by the bundle's verify; nothing hashed again)."""
        return cls(f"sha256:{item['sha256']}", int(item["size"]), media_type, title, path)

    def descriptor(self) -> dict[str, Any]:
        return {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
            "annotations": {TITLE: self.title, **dict(self.annotations)},
        }


def image_manifest(layers: list[Layer], config: Layer) -> bytes:
    """An OCI image manifest (canonical JSON: sorted keys, no spaces, so that the same
    layers give the same digest)."""
    doc = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": config.media_type, "digest": config.digest, "size": config.size},
        "layers": [layer.descriptor() for layer in layers],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def empty_config(media_type: str = EMPTY_CONFIG_MEDIA_TYPE) -> Layer:
    return Layer.of_bytes(EMPTY_CONFIG, media_type, "config")


def info_layers(archive: Path, stem: str) -> list[Layer]:
    """The ``info/`` folder of ``archive`` as a gzipped tar, and its ``info/index.json``.

    Built in memory from the archive's members (nothing is extracted to disk: the archive
    is untrusted), in archive order, with a fixed gzip header, so the same archive gives
    the same bytes and digests on every push."""
    members = list(_info_members(archive))
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as out:
            for info, data in members:
                out.addfile(info, io.BytesIO(data) if data is not None else None)
    index = next((d for i, d in members if i.name == "info/index.json"), None)
    if index is None:
        raise RegistryError(f"{archive.name}: has no info/index.json; not a conda package")
    return [
        Layer.of_bytes(buf.getvalue(), INFO_ARCHIVE_MEDIA_TYPE, f"{stem}/info.tar.gz"),
        Layer.of_bytes(index, INFO_INDEX_MEDIA_TYPE, f"{stem}/info/index.json"),
    ]


def _info_members(archive: Path) -> Any:
    """(TarInfo, bytes or None) of the ``info/`` members, bounded in total size: the first
    run of them (conda-package-handling writes ``info/`` first; an archive with ``info/``
    at its end is read to the end)."""
    if archive.name.endswith(".conda"):
        with zipfile.ZipFile(archive) as z:
            inner = next((n for n in z.namelist() if n.startswith("info-")), None)
            if inner is None:
                raise RegistryError(f"{archive.name}: no info-*.tar.zst inside; not a .conda")
            with z.open(inner) as raw:
                yield from _tar_members(_zstd_reader(raw), archive.name, "r|")
        return
    with open(archive, "rb") as f:
        yield from _tar_members(f, archive.name, "r|bz2")


def _tar_members(fileobj: Any, label: str, mode: str) -> Any:
    total = 0
    try:
        with tarfile.open(fileobj=fileobj, mode=mode) as tar:
            seen = False
            for info in tar:
                if not (info.name == "info" or info.name.startswith("info/")):
                    if seen:
                        break  # conda writes info/ first: the payload need not be inflated
                    continue
                seen = True
                info.uname = info.gname = ""
                info.uid = info.gid = 0
                data = None
                if info.isfile():
                    total += info.size
                    if total > MAX_INFO_BYTES:
                        raise RegistryError(f"{label}: info/ larger than {MAX_INFO_BYTES} bytes")
                    f = tar.extractfile(info)
                    data = f.read() if f is not None else b""
                elif not (info.isdir() or info.issym()):
                    continue  # devices, fifos, hard links: not copied
                yield info, data
    except (tarfile.TarError, OSError, EOFError) as e:
        raise RegistryError(f"{label}: unreadable archive ({type(e).__name__})") from None


def _zstd_reader(raw: Any) -> Any:
    for name in ("compression.zstd", "backports.zstd"):
        try:
            module = __import__(name, fromlist=["ZstdFile"])
        except ImportError:
            continue
        return module.ZstdFile(raw)
    raise RegistryError("reading a .conda archive needs zstd (pip install backports.zstd)")


@dataclass(frozen=True)
class BundleFiles:
    """A bundle's ``manifest.json`` sorted by where each file goes."""

    manifest: bytes
    archives: tuple[Mapping[str, Any], ...]  # local_<c>/<subdir>/<archive>
    repodata: tuple[Mapping[str, Any], ...]  # local_<c>/<subdir>/repodata.json
    metadata: tuple[Mapping[str, Any], ...]  # everything else but links

    @classmethod
    def read(cls, bundle: Path) -> BundleFiles:
        from .local import LOCAL_PREFIX
        from .outputs import MANIFEST

        raw = read_limited(bundle / MANIFEST, MAX_METADATA_BYTES)
        items = json.loads(raw)["files"]
        archives, repodata, metadata = [], [], []
        for item in items:
            rel = str(item["path"])
            parts = rel.split("/")
            if "link" in item:
                continue  # recorded in manifest.json itself
            if len(parts) == 3 and parts[0].startswith(LOCAL_PREFIX):
                (archives if "purl" in item else repodata).append(item)
            else:
                metadata.append(item)
        return cls(raw, tuple(archives), tuple(repodata), tuple(metadata))


Group = tuple[str, str]  # (repository, tag)
Groups = dict[Group, list[tuple[Path, Mapping[str, Any]]]]


def package_group(namespace: str, item: Mapping[str, Any]) -> Group:
    """The (repository, tag) of one archive of the manifest (no file is looked at)."""
    channel, subdir, fn = str(item["path"]).split("/")
    name, version, build, _ = split_archive(fn)
    repo = repository_of(channel, package_repository, namespace, channel, subdir, name)
    return repo, escape_tag(f"{version}-{build}")


def package_groups(bundle: Path, namespace: str, archives: tuple[Mapping[str, Any], ...]) -> Groups:
    """Archives by (repository, tag): a ``.conda`` and a ``.tar.bz2`` of one build share one."""
    groups: Groups = {}
    for item in archives:
        key = package_group(namespace, item)
        groups.setdefault(key, []).append((contained(bundle, str(item["path"])), item))
    for members in groups.values():
        members.sort(key=lambda m: not m[0].name.endswith(".conda"))  # info from the .conda
    return groups


def repository_of(channel: str, make: Callable[..., str], *args: str) -> str:
    try:
        return make(*args)
    except RegistryError:
        raise RegistryError(
            f"local channel {quoted(channel)}: its name (or a package's) is not a valid "
            f"registry repository name (lowercase letters, digits, '.', '_', '-')"
        ) from None


def repodata_repository_of(namespace: str, item: Mapping[str, Any]) -> str:
    channel, subdir, _ = str(item["path"]).split("/")
    return repository_of(channel, repodata_repository, namespace, channel, subdir)
