"""``vendor push BUNDLE oci://HOST[:PORT]/NAMESPACE``: a verified bundle into a registry,
in the layout of :mod:`.oci_layout`.

A bundle state the registry already holds whole is not read at all (nothing would be
sent). Otherwise the bundle is verified first (a damaged bundle is never pushed) and its
manifest gives every file's sha256, so nothing is hashed twice. Only what is new moves:
a package whose tag already holds the same archive is left alone (one manifest ``GET``);
every other blob is asked for before it is uploaded (the upload's ``POST`` asks the
registry to mount it from the repository itself, or from another one this push saw
holding it: the registry answers 201 for a blob it has, and nothing moves). Packages go
up in parallel; the repodata artifacts next; the bundle's metadata artifact last, so its
tags never name a state whose packages are not all there.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock
from typing import TYPE_CHECKING, Any

from ..errors import VendorError
from ..fsutil import contained
from ..progress import TextReporter
from ..transport.oci import Registry
from ..transport.oci_names import OciReference
from . import oci_layout as L

# ``.local``, ``.outputs`` and ``.verify`` are imported where they are used: 40 ms of
# imports that a re-push of a state the registry holds does not need.

if TYPE_CHECKING:
    from ..progress import Reporter


@dataclass
class PushCounts:
    packages: int = 0
    packages_pushed: int = 0
    blobs_uploaded: int = 0
    blobs_present: int = 0
    bytes_uploaded: int = 0
    lock: Lock = field(default_factory=Lock, repr=False)
    holders: dict[str, str] = field(default_factory=dict, repr=False)  # digest -> a repo

    def blob(self, repo: str, digest: str, uploaded: bool, size: int) -> None:
        with self.lock:
            self.holders.setdefault(digest, repo)
            if uploaded:
                self.blobs_uploaded += 1
                self.bytes_uploaded += size
            else:
                self.blobs_present += 1

    def holder(self, digest: str) -> str | None:
        """A repository this push has seen holding ``digest`` (to mount it from)."""
        with self.lock:
            return self.holders.get(digest)


def push_bundle(
    bundle: Path,
    ref: OciReference,
    registry: Registry,
    jobs: int = 8,
    reporter: Reporter | None = None,
) -> dict[str, Any]:
    """Push ``bundle`` to ``ref``; returns what moved (for the report). Progress goes to
    ``reporter``: a step per phase, a bar over the packages' archive bytes."""
    from .outputs import DELTA

    reporter = reporter or TextReporter(quiet=True)
    if (bundle / DELTA).exists():
        raise VendorError(
            f"{bundle}: a delta bundle (it leaves out archives its base holds); push the "
            f"bundle it was applied to (`vendor apply {bundle} --to BUNDLE`)"
        )
    with reporter.step(f"Asking oci://{ref.netloc}/{ref.namespace} for this bundle state"):
        there, held = _state_in_registry(bundle, ref.namespace, registry, jobs)
    if held is not None:
        reporter.info("The registry holds this bundle state whole already: nothing to send.")
        return _report(bundle, ref, held.tag, PushCounts(packages=held.packages))
    from .verify import verify_output

    with reporter.step(f"Verifying {bundle}"):
        findings = verify_output(bundle)
    if findings["problems"]:
        raise VendorError(
            f"{bundle}: {findings['problems']} problem(s) found; run `vendor verify {bundle}` "
            f"and fix them before pushing (a damaged bundle is never pushed)"
        )
    files = L.BundleFiles.read(bundle)
    tag = L.bundle_tag(files.manifest)
    counts = PushCounts()
    groups = L.package_groups(bundle, ref.namespace, files.archives)
    counts.packages = len(groups)
    _push_packages(registry, groups, counts, jobs, reporter, ask=there != "empty")
    with reporter.step("Pushing the repodata and the bundle's metadata"):
        for item in files.repodata:
            _push_repodata(registry, bundle, ref.namespace, item, tag, counts)
        _push_metadata(registry, bundle, ref.namespace, files, tag, counts)
    return _report(bundle, ref, tag, counts)


def _push_packages(
    registry: Registry,
    groups: L.Groups,
    counts: PushCounts,
    jobs: int,
    reporter: Reporter,
    ask: bool,
) -> None:
    """Every package in parallel; the bar counts their archives' bytes as each is done
    (pushed, or found in the registry), updated from this thread only. ``ask``: whether
    each package's tag may be there already (not in a namespace no push completed in)."""
    sizes = {key: sum(int(item["size"]) for _, item in members) for key, members in groups.items()}
    bar = reporter.bar("Pushing packages", sum(sizes.values()))
    done = 0
    try:
        with ThreadPoolExecutor(max(1, jobs), thread_name_prefix="push") as pool:
            futures = {
                pool.submit(_push_package, registry, g, counts, ask): g[0] for g in groups.items()
            }
            try:
                for future in as_completed(futures):
                    counts.packages_pushed += bool(future.result())
                    done += sizes[futures[future]]
                    bar.update(done)
            except BaseException:  # Ctrl-C, a failure: the others stop at their next request
                registry.cancelled.set()
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    finally:
        bar.close()


def _report(bundle: Path, ref: OciReference, tag: str, counts: PushCounts) -> dict[str, Any]:
    return {
        "success": True,
        "bundle": str(bundle),
        "reference": f"oci://{ref.netloc}/{ref.namespace}:{tag}",
        "tags": [tag, L.LATEST],
        "packages": counts.packages,
        "packages_pushed": counts.packages_pushed,
        "blobs_uploaded": counts.blobs_uploaded,
        "blobs_present": counts.blobs_present,
        "bytes_uploaded": counts.bytes_uploaded,
    }


@dataclass(frozen=True)
class HeldState:
    """The bundle state a registry holds whole: its tag and how many package tags it has."""

    tag: str
    packages: int


def _state_in_registry(
    bundle: Path, namespace: str, registry: Registry, jobs: int
) -> tuple[str, HeldState | None]:
    """``"held"`` when the registry holds this bundle state whole: the state's metadata
    artifact with this very ``manifest.json`` (the metadata goes up last, after everything
    it names), ``latest`` on it, and every package's and repodata's tag still there
    (:func:`_tags_there`). Then nothing would be sent, so nothing is read or hashed
    (the registry checked every blob's digest when it received it). ``"empty"`` when the
    namespace has no ``latest``: no push completed there, so its package tags are not asked
    for one by one (a package an interrupted push left is found blob by blob, each mounted
    in one request). Else ``"other"``: the full push. The second value is the held state,
    for the report (None unless ``"held"``)."""
    latest = registry.manifest_digest(namespace, L.LATEST)
    if latest is None:
        return "empty", None
    try:
        files = L.BundleFiles.read(bundle)
        groups = {L.package_group(namespace, item) for item in files.archives}
        subdirs = [L.repodata_repository_of(namespace, item) for item in files.repodata]
    except (OSError, ValueError, LookupError, TypeError, VendorError):
        return "other", None  # the full push's verify names what is wrong
    tag = L.bundle_tag(files.manifest)
    found = registry.get_manifest(namespace, tag, missing_ok=True)
    if found is None or latest != found[1]:
        return "other", None
    from .outputs import MANIFEST

    ours = L.sha256_digest(files.manifest)
    if not any(_is_layer(layer, ours, MANIFEST) for layer in found[0].get("layers") or []):
        return "other", None
    if not _tags_there(registry, [*groups, *((repo, tag) for repo in subdirs)], jobs):
        return "other", None
    return "held", HeldState(tag, len(groups))


def _tags_there(registry: Registry, wanted: list[L.Group], jobs: int) -> bool:
    """Whether every (repository, tag) of ``wanted`` is in the registry, asked in parallel:
    a ``HEAD`` of the tag where the bundle has one tag in that repository, its tag list
    where it has several (the builds of one package across a bundle's versions), so the
    questions grow with the packages' names, not with their versions."""
    by_repo: dict[str, set[str]] = {}
    for repo, tag in wanted:
        by_repo.setdefault(repo, set()).add(tag)

    def there(item: tuple[str, set[str]]) -> bool:
        repo, tags = item
        if len(tags) == 1:
            return registry.manifest_digest(repo, next(iter(tags))) is not None
        return tags <= set(registry.tags(repo))

    with ThreadPoolExecutor(max(1, jobs), thread_name_prefix="push-check") as pool:
        return all(list(pool.map(there, by_repo.items())))


def _is_layer(layer: Any, digest: str, title: str) -> bool:
    if not isinstance(layer, Mapping) or not isinstance(layer.get("annotations"), Mapping):
        return False
    return bool(layer.get("digest") == digest and layer["annotations"].get(L.TITLE) == title)


def _package_layer(path: Path, item: Mapping[str, Any]) -> L.Layer:
    media_type = next(t for ext, t in L.PACKAGE_MEDIA_TYPES.items() if path.name.endswith(ext))
    return L.Layer.of_file(path, item, media_type, path.name)


def _push_package(
    registry: Registry,
    group: tuple[L.Group, list[tuple[Path, Mapping[str, Any]]]],
    counts: PushCounts,
    ask: bool = True,
) -> bool:
    """One package tag; False when the registry holds it already (nothing moved).
    ``ask``: whether to ask for the tag first (one manifest ``GET``)."""
    (repo, tag), members = group
    packages = [_package_layer(path, item) for path, item in members]
    existing = registry.get_manifest(repo, tag, missing_ok=True) if ask else None
    if existing is not None and _holds(existing[0], packages):
        return False
    first = members[0][0]
    stem = first.name.removesuffix(".conda").removesuffix(".tar.bz2")
    layers = [*packages, *L.info_layers(first, stem)]
    config = L.empty_config()
    for layer in [*layers, config]:
        _ensure_blob(registry, repo, layer, counts)
    registry.put_manifest(repo, tag, L.image_manifest(layers, config))
    return True


def _holds(manifest: Mapping[str, Any], packages: list[L.Layer]) -> bool:
    have = {
        (layer.get("mediaType"), layer.get("digest"))
        for layer in manifest.get("layers") or []
        if isinstance(layer, Mapping)
    }
    return all((p.media_type, p.digest) in have for p in packages)


def _ensure_blob(registry: Registry, repo: str, layer: L.Layer, counts: PushCounts) -> None:
    """Upload ``layer`` unless the registry has it in ``repo`` or can mount it there from
    a repository this push saw holding it (the shared ``{}`` config blob, an archive in
    two channels): one request, no bytes."""
    source = counts.holder(layer.digest)
    uploaded = registry.put_blob(repo, layer.digest, layer.size, layer.source, source)
    counts.blob(repo, layer.digest, uploaded, layer.size)


def _push_artifact(
    registry: Registry,
    repo: str,
    layers: list[L.Layer],
    config: L.Layer,
    tags: list[str],
    counts: PushCounts,
) -> None:
    manifest = L.image_manifest(layers, config)
    for layer in [*layers, config]:
        _ensure_blob(registry, repo, layer, counts)
    digest = L.sha256_digest(manifest)
    for tag in tags:
        if registry.manifest_digest(repo, tag) != digest:
            registry.put_manifest(repo, tag, manifest)


def _push_repodata(
    registry: Registry,
    bundle: Path,
    namespace: str,
    item: Mapping[str, Any],
    tag: str,
    counts: PushCounts,
) -> None:
    repo = L.repodata_repository_of(namespace, item)
    path = contained(bundle, str(item["path"]))
    layer = L.Layer.of_file(path, item, L.REPODATA_MEDIA_TYPE, "repodata.json")
    _push_artifact(registry, repo, [layer], L.empty_config(), [tag, L.LATEST], counts)


def _push_metadata(
    registry: Registry,
    bundle: Path,
    namespace: str,
    files: L.BundleFiles,
    tag: str,
    counts: PushCounts,
) -> None:
    from .outputs import MANIFEST

    layers = [L.Layer.of_bytes(files.manifest, L.BUNDLE_FILE_MEDIA_TYPE, MANIFEST)]
    for item in files.metadata:
        rel = str(item["path"])
        layers.append(L.Layer.of_file(contained(bundle, rel), item, L.BUNDLE_FILE_MEDIA_TYPE, rel))
    config = L.empty_config(L.BUNDLE_CONFIG_MEDIA_TYPE)
    _push_artifact(registry, namespace, layers, config, [tag, L.LATEST], counts)
