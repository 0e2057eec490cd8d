"""``vendor pull oci://HOST[:PORT]/NAMESPACE[:TAG] -o OUT``: rebuild a pushed bundle.

The metadata artifact (tag ``latest`` unless one is given) holds ``manifest.json``; the
manifest names every file of the bundle with its sha256 and size, so every other blob is
fetched by that digest from the repository :mod:`.oci_layout` puts it in, through
:class:`~..transport.download.Downloader` (parallel, resumable, each blob checked against
its digest and size before it is kept). The registry is untrusted: a layer's title must be
a file the manifest lists, with the same digest; paths stay inside the output; the
``current`` links must point at a version. It is the one bundle transaction
(:mod:`.transaction`): the lock on OUT, the bundle built in ``.OUT.staging`` (kept after a
failure, so a second pull resumes), verified as ``vendor verify`` does, and only then
swapped in. An OUT holding files this tool did not write is refused (``--force``); a
bundle at OUT is replaced by the pulled state.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import RegistryError, quoted
from ..fsutil import (
    MAX_METADATA_BYTES,
    UnsafePath,
    contained,
    read_limited,
    relpath_problem,
    walk_files,
)
from ..transport.download import Downloader, DownloadJob
from ..transport.oci import Registry
from ..transport.oci_names import MAX_MANIFEST, OciReference
from . import history, transaction
from . import oci_layout as L
from . import staging as staging_mod
from .local import LOCAL_PREFIX
from .outputs import MANIFEST


def pull_bundle(
    ref: OciReference, registry: Registry, out: Path, jobs: int = 8, force: bool = False
) -> dict[str, Any]:
    """Pull ``ref`` into ``out`` through the bundle transaction; returns the report."""
    tag = ref.tag or L.LATEST
    where = f"{registry.url}/{ref.namespace}:{tag}"
    found = registry.get_manifest(ref.namespace, tag)
    assert found is not None
    layers = _bundle_layers(found[0], where)
    downloader = Downloader(registry.blob_session, jobs=jobs, policy=registry.policy)
    with transaction.begin(out, force=force) as tx:
        staging = tx.stage(_present(tx.output.staging))  # an earlier pull's files: resumed
        downloader.run([_job(registry, ref.namespace, staging, layers[MANIFEST], MANIFEST)])
        files = json.loads(read_limited(staging / MANIFEST, MAX_METADATA_BYTES)).get("files")
        todo, links = _plan(registry, ref.namespace, staging, files, layers)
        staging_mod.prune(staging, {MANIFEST, *(job.label for job in todo)})
        for job in todo:
            job.dest.parent.mkdir(parents=True, exist_ok=True)
        results = downloader.run(todo)
        for rel, target in links.items():
            _link(staging, rel, target)
        transaction.check_staged(staging, tx.output)
        transaction.swap(staging, tx.output)
    return {
        "success": True,
        "reference": f"oci://{ref.netloc}/{ref.namespace}:{tag}",
        "output": str(out),
        "files": len(todo) + 1,
        "archives": sum(1 for item in files if isinstance(item, Mapping) and "purl" in item),
        "bytes_fetched": sum(r.bytes_fetched for r in results),
    }


def _present(staging: Path) -> set[str]:
    """Every file an earlier pull left in ``staging`` (kept until the manifest is read)."""
    if not staging.is_dir():
        return set()
    return {rel.removesuffix(".partial") for rel, _ in walk_files(staging)}


def _bundle_layers(manifest: Mapping[str, Any], where: str) -> dict[str, Mapping[str, Any]]:
    """The metadata artifact's layers by title, each checked; ``manifest.json`` among them."""
    config = manifest.get("config")
    if not isinstance(config, Mapping) or config.get("mediaType") != L.BUNDLE_CONFIG_MEDIA_TYPE:
        raise RegistryError(f"{where}: not a bundle pushed by `vendor push` (config media type)")
    found: dict[str, Mapping[str, Any]] = {}
    for layer in manifest.get("layers") or []:
        title = (
            (layer.get("annotations") or {}).get(L.TITLE) if isinstance(layer, Mapping) else None
        )
        problem = relpath_problem(title) if isinstance(title, str) else "has no title"
        size = layer.get("size") if isinstance(layer, Mapping) else None
        if problem or not isinstance(size, int) or size < 0 or size > MAX_METADATA_BYTES:
            raise RegistryError(f"{where}: layer {quoted(title)} refused ({problem or 'its size'})")
        found[str(title)] = layer
    if MANIFEST not in found or found[MANIFEST]["size"] > MAX_MANIFEST * 64:
        raise RegistryError(f"{where}: no {MANIFEST} layer (or a huge one); not a bundle")
    return found


def _job(
    registry: Registry, repo: str, staging: Path, layer: Mapping[str, Any], rel: str
) -> DownloadJob:
    return _blob_job(registry, repo, staging, rel, str(layer.get("digest", "")), layer["size"])


def _blob_job(
    registry: Registry, repo: str, staging: Path, rel: str, digest: str, size: object
) -> DownloadJob:
    if not digest.startswith("sha256:") or len(digest) != 71 or not isinstance(size, int):
        raise RegistryError(f"{rel}: no sha256 digest and size to fetch it by")
    try:
        dest = contained(staging, rel)
    except UnsafePath as e:
        raise RegistryError(f"{MANIFEST}: {e}; refused") from None
    return DownloadJob(registry.blob_url(repo, digest), dest, size, digest[7:], None, rel)


def _plan(
    registry: Registry,
    namespace: str,
    staging: Path,
    files: Any,
    layers: Mapping[str, Mapping[str, Any]],
) -> tuple[list[DownloadJob], dict[str, str]]:
    """A download per file the manifest lists (from the repository it lives in), and
    the links to make."""
    jobs: list[DownloadJob] = []
    links: dict[str, str] = {}
    for item in files if isinstance(files, list) else []:
        rel = item.get("path") if isinstance(item, Mapping) else None
        if not isinstance(rel, str) or relpath_problem(rel) or rel == MANIFEST:
            continue  # verify reports what is wrong with the manifest
        if "link" in item:
            links[rel] = str(item["link"])
            continue
        digest, size = f"sha256:{item.get('sha256')}", item.get("size")
        parts = rel.split("/")
        if len(parts) == 3 and parts[0].startswith(LOCAL_PREFIX):
            repo = _channel_repository(namespace, parts, "purl" in item)
        elif layers.get(rel, {}).get("digest") == digest:
            repo = namespace
        else:
            raise RegistryError(f"{rel}: the manifest lists it, the bundle artifact lacks it")
        jobs.append(_blob_job(registry, repo, staging, rel, digest, size))
    return jobs, links


def _channel_repository(namespace: str, parts: list[str], archive: bool) -> str:
    channel, subdir, fn = parts
    if not archive:
        return L.repodata_repository(namespace, channel, subdir)
    name = L.split_archive(fn)[0]
    return L.package_repository(namespace, channel, subdir, name)


def _link(staging: Path, rel: str, target: str) -> None:
    """A ``current`` pointer as the manifest records it (a version of its environment)."""
    parts = rel.split("/")
    if parts[0] != history.ENVS or parts[-1] != history.CURRENT:
        raise RegistryError(f"{MANIFEST}: link {quoted(rel)} is not a version pointer; refused")
    if not target.startswith(f"{history.VERSIONS}/") or target.count("/") != 1:
        raise RegistryError(f"{MANIFEST}: link {quoted(rel)} -> {quoted(target)} refused")
    if relpath_problem(target):
        raise RegistryError(f"{MANIFEST}: link target {quoted(target)} refused")
    path = contained(staging, rel.rpartition("/")[0]) / parts[-1]
    if path.is_symlink():
        path.unlink()
    try:
        os.symlink(target, path)
    except OSError:
        pass  # media without links: current.txt says the same
