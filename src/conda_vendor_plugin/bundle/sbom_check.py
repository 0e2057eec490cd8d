"""The check of a bundle's SBOM (``sbom.cdx.json``, written by :mod:`.sbom`) in ``vendor
verify``: every archive of the local channels, every wheel the lockfiles lock and every
wheel of the installer (``--with-installer``) has exactly one component, with its purl
and sha256, and every component names one of them. The document is untrusted: its
paths are compared, never opened; anything malformed is a finding, never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packageurl import PackageURL

from ..errors import quoted
from ..pypi.records import Wheel
from .sbom import PATH_PROPERTY, SBOM, SPEC_VERSION, archive_type, wheel_purl


@dataclass(frozen=True)
class Archive:
    """What ``vendor verify`` knows of an archive in a local channel, from its repodata
    entry: its identity and the sha256 the file has (None when that is unknown)."""

    name: str
    version: str
    build: str
    subdir: str
    fn: str
    sha256: str | None


def sbom_problems(
    doc: Any, archives: Mapping[str, Archive], wheels: Mapping[str, Wheel] | None = None
) -> list[str]:
    """What is wrong with a bundle's SBOM (parsed JSON, untrusted) for a bundle whose
    local channels hold ``archives`` (by bundle path), one line each: every archive must
    have exactly one component, with its purl and sha256, and every component an
    archive; the same for the ``wheels`` the bundle carries (by bundle path: those its
    lockfiles lock, and the installer's).
    Paths in the SBOM are compared, never opened."""
    wheels = wheels or {}
    if not isinstance(doc, Mapping) or doc.get("bomFormat") != "CycloneDX":
        return [f"{SBOM}: not a CycloneDX document"]
    if doc.get("specVersion") != SPEC_VERSION:
        return [f"{SBOM}: specVersion {quoted(doc.get('specVersion'))}, expected {SPEC_VERSION}"]
    components = doc.get("components", [])
    if not isinstance(components, list):
        return [f"{SBOM}: 'components' is not a list"]
    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, c in enumerate(components):
        rel = _path_of(c)
        if rel is None:
            problems.append(f"{SBOM}: components[{i}] has no single {PATH_PROPERTY} property")
        elif rel not in archives and rel not in wheels:
            problems.append(
                f"{SBOM}: components[{i}] names {quoted(rel)}, which is not an archive of "
                f"the bundle's local channels nor a wheel it carries"
            )
        else:
            seen[rel] = seen.get(rel, 0) + 1
            if seen[rel] == 2:
                problems.append(f"{SBOM}: {rel} has more than one component")
            found = _wheel_differences(c, wheels[rel]) if rel in wheels else None
            found = found if found is not None else _differences(c, archives[rel])
            problems += [f"{SBOM}: {rel}: {p}" for p in found]
    every = set(archives) | set(wheels)
    problems += [f"{SBOM}: {rel} has no component" for rel in sorted(every - set(seen))]
    return problems


def _path_of(component: Any) -> str | None:
    """The one ``conda-vendor:path`` of a component, or None."""
    props = component.get("properties") if isinstance(component, Mapping) else None
    if not isinstance(props, list):
        return None
    paths = [
        p.get("value") for p in props if isinstance(p, Mapping) and p.get("name") == PATH_PROPERTY
    ]
    return paths[0] if len(paths) == 1 and isinstance(paths[0], str) else None


def _sha256_of(component: Mapping[str, Any]) -> list[Any]:
    hashes = component.get("hashes")
    return [
        h.get("content")
        for h in (hashes if isinstance(hashes, list) else [])
        if isinstance(h, Mapping) and h.get("alg") == "SHA-256"
    ]


def _wheel_differences(component: Mapping[str, Any], w: Wheel) -> list[str]:
    """How a component disagrees with the wheel it names (locked, or the installer's):
    sha256, purl."""
    found = []
    if _sha256_of(component) != [w.sha256]:
        found.append(f"its SHA-256 is not {w.sha256}, the wheel's")
    if component.get("purl") != wheel_purl(w):
        found.append(f"purl {quoted(component.get('purl'))} is not {wheel_purl(w)}")
    return found


def _differences(component: Mapping[str, Any], a: Archive) -> list[str]:
    """How a component disagrees with the archive it names: sha256, purl."""
    found = []
    sha256 = _sha256_of(component)
    if len(sha256) != 1 or not isinstance(sha256[0], str):
        found.append("no single SHA-256 hash")
    elif a.sha256 is not None and sha256[0].lower() != a.sha256.lower():
        found.append(f"sha256 {quoted(sha256[0])} in the SBOM, the archive's is {a.sha256}")
    text = component.get("purl")
    try:
        p = PackageURL.from_string(text) if isinstance(text, str) else None
    except ValueError:
        p = None
    q = p.qualifiers if p is not None and isinstance(p.qualifiers, Mapping) else {}
    want = ("conda", a.name, a.version, a.build, a.subdir, archive_type(a.fn))
    if p is None or (p.type, p.name, p.version, *map(q.get, ("build", "subdir", "type"))) != want:
        found.append(f"purl {quoted(text)} does not name {a.fn} ({a.subdir})")
    return found
