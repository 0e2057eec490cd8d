"""``README.md`` and ``SHA256SUMS`` at a bundle's root: the bundle explains itself.

Whoever carries or receives a bundle learns from ``README.md`` what it holds
(environments, versions, platforms, package counts and sizes, channels), how to check
it (``vendor verify``, or ``sha256sum -c SHA256SUMS`` without this tool) and how to
install each environment (``vendor install``, or conda with no solve), and which tool
made it. Both files are written by the bundle transaction (:mod:`.transaction`) into
every bundle a command changes (``vendor``, ``vendor apply``, ``vendor prune``), from
the staged bundle only: the same bundle gives the same bytes, and nothing of the
machine that wrote it appears (no absolute path, no credential: channel URLs come from
the index, which holds none, and a ``file://`` channel is not named).

``SHA256SUMS`` lists every file but itself, ``README.md``, ``manifest.json`` and
``sbom.cdx.json`` (written after it; ``vendor verify`` checks those), in ``sha256sum``
form; an archive's digest is its local repodata entry's (the transaction verifies
each archive against that entry before the bundle is swapped in).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import __version__
from ..fsutil import MAX_METADATA_BYTES, atomic_write_text, read_json_file, sha256_file, walk_files
from ..pypi.simple_index import ROOT as PYPI_ROOT
from ..records import PACKAGE_SUFFIXES
from . import history
from .channels import REPODATA
from .history import Index
from .installer import SCRIPT_PS1, SCRIPT_SH, WHEELS
from .outputs import DELTA, MANIFEST, TOOL, env_file_name, explicit_file_name
from .sbom import SBOM

README = "README.md"
SUMS = "SHA256SUMS"
NOT_SUMMED = {README, SUMS, MANIFEST, SBOM}
SECTIONS = ("packages", "packages.conda")
RUN = "python -m conda_vendor_plugin"


def write(staging: Path, index: Index) -> None:
    """The transaction's writer: ``SHA256SUMS``, then ``README.md``, into ``staging``."""
    sums = checksums(staging)
    atomic_write_text(staging / SUMS, "".join(f"{d}  {rel}\n" for rel, d in sums.items()))
    sizes = {rel: (staging / rel).stat().st_size for rel in sums}
    atomic_write_text(staging / README, readme_text(staging, index, sizes))


def _archive_digests(root: Path, channel_subdir: str) -> Mapping[str, Any]:
    try:
        doc = read_json_file(root / channel_subdir / REPODATA, MAX_METADATA_BYTES)
    except (OSError, ValueError):
        return {}
    found: dict[str, Any] = {}
    for section in SECTIONS:
        entries = doc.get(section) if isinstance(doc, Mapping) else None
        if isinstance(entries, Mapping):
            found.update({k: v.get("sha256") for k, v in entries.items() if isinstance(v, Mapping)})
    return found


def checksums(root: Path) -> dict[str, str]:
    """Every regular file of ``root`` but :data:`NOT_SUMMED` -> its sha256, sorted."""
    digests: dict[str, Mapping[str, Any]] = {}
    sums = {}
    for rel, is_link in walk_files(root):
        if is_link or rel in NOT_SUMMED:
            continue
        parts = rel.split("/")
        known = None
        if len(parts) == 3 and parts[0].startswith("local_") and rel.endswith(PACKAGE_SUFFIXES):
            folder = f"{parts[0]}/{parts[1]}"
            if folder not in digests:
                digests[folder] = _archive_digests(root, folder)
            known = digests[folder].get(parts[2])
        sums[rel] = known.lower() if isinstance(known, str) and known else sha256_file(root / rel)
    return sums


def _size(n: int) -> str:
    return f"{n:,} bytes"


def _channel_source(url: str) -> str:
    return "a local folder of the machine that made it" if url.startswith("file:") else url


def _locked_counts(root: Path, name: str, vid: str) -> dict[str, tuple[int, int]]:
    """Packages and wheels per platform in one version's lockfile (empty when it cannot
    be read), as every other reader of a bundle's versions reads it
    (:func:`.locks.read_version_lock`: once per transaction)."""
    from ..errors import VendorError
    from ..fsutil import UnsafePath
    from .locks import read_version_lock

    try:
        lock = read_version_lock(root, history.version_dir(name, vid))
    except (VendorError, UnsafePath):
        return {}
    return {p: (len(pkgs), len(lock.pypi.get(p, ()))) for p, pkgs in lock.packages.items()}


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' * (n != 1)}"


def _holds(root: Path, index: Index, sizes: Mapping[str, int]) -> list[str]:
    lines = ["## What it holds", ""]
    for name, env in index.environments.items():
        v = env.version(env.current)
        kept = ", ".join(x.id for x in env.versions)
        counts = _locked_counts(root, name, v.id)
        size = sum(sizes.get(a, 0) for a in v.archives)
        per = ", ".join(
            f"{p}: {_count(n, 'package')}" + (f" + {_count(w, 'wheel')}" if w else "")
            for p, (n, w) in counts.items()
        )
        lines.append(
            f"- `{name}`: current version `{v.id}` ({per}; {_size(size)} of archives); "
            f"versions kept: {kept}"
        )
    lines.append("")
    for local, url in sorted(index.channels.items()):
        n = sum(
            1 for rel in sizes if rel.startswith(f"{local}/") and rel.endswith(PACKAGE_SUFFIXES)
        )
        total = sum(s for rel, s in sizes.items() if rel.startswith(f"{local}/"))
        lines.append(f"- `{local}/`: {n} archives ({_size(total)}) from {_channel_source(url)}")
    wheels = {rel: n for rel, n in sizes.items() if rel.startswith(f"{PYPI_ROOT}/")}
    if wheels:
        n = sum(1 for rel in wheels if rel.endswith(".whl"))
        lines.append(
            f"- `{PYPI_ROOT}/`: {n} wheels ({_size(sum(wheels.values()))}), the `pip:` "
            f"dependencies, as a PEP 503 simple index"
        )
    lines += ["", f"{len(sizes)} files in {SUMS}, {_size(sum(sizes.values()))}."]
    return lines


def _verify() -> list[str]:
    return [
        "## Check it",
        "",
        "From this folder (the bundle's root), with this tool:",
        "",
        f"    {RUN} vendor verify .",
        "",
        "or without it:",
        "",
        f"    sha256sum -c {SUMS}",
        "",
        f"`{SUMS}` covers every file but itself, `{README}`, `{MANIFEST}` and `{SBOM}`; "
        f"`vendor verify` checks all of them (`{MANIFEST}` lists every file with its sha256).",
    ]


def _install(root: Path, index: Index, delta: bool) -> list[str]:
    lines = ["## Install", ""]
    if delta:
        return [
            *lines,
            "This is a delta: it leaves out the archives of the bundle it was made against. "
            "Apply it to that bundle first:",
            "",
            f"    {RUN} vendor apply . --to <that bundle>",
        ]
    lines += [
        "From this folder, with no network and no solve; `<prefix>` is the new environment's "
        "folder. Without conda (needs py-rattler), every archive's sha256 checked:",
        "",
    ]
    lines += [f"    {RUN} vendor install . {name} --prefix <prefix>" for name in index.environments]
    if (root / SCRIPT_SH).is_file():
        lines += [
            "",
            "With only a Python >= 3.10 (no conda, no network, this tool not installed: a "
            f"throw-away virtualenv from the wheels in `{WHEELS}/`):",
            "",
        ]
        lines += [f"    sh {SCRIPT_SH} {name} --prefix <prefix>" for name in index.environments]
        lines += [
            f"    powershell -File {SCRIPT_PS1} {name} --prefix <prefix>"
            for name in index.environments
        ]
    lines += [
        "",
        "With conda (run `vendor verify` first: conda checks no hash of a local package):",
        "",
    ]
    with_wheels = []
    for name, env in index.environments.items():
        folder = history.version_dir(name, env.current)
        counts = _locked_counts(root, name, env.current)
        for platform in env.version(env.current).platforms:
            if counts.get(platform, (0, 0))[1]:
                env_file = f"{folder}/{env_file_name(platform)}"
                lines.append(f"    conda env create -p <prefix> --offline -f {env_file}")
                with_wheels.append(f"{name} ({platform})")
            else:
                explicit = f"{folder}/{explicit_file_name(platform)}"
                lines.append(f"    conda create -p <prefix> --offline --file {explicit}")
    if with_wheels:
        lines += [
            "",
            f"{', '.join(with_wheels)}: the environment file, whose `pip:` part then installs "
            f"the locked wheels from `{PYPI_ROOT}/` (no index, every sha256 checked by pip); "
            "a CEP 23 explicit file cannot hold wheels.",
        ]
    return lines


def readme_text(root: Path, index: Index, sizes: Mapping[str, int]) -> str:
    """The README of the bundle staged at ``root`` (``sizes``: the summed files')."""
    delta = (root / DELTA).is_file()
    kind = "a delta of a conda environment bundle" if delta else "a conda environment bundle"
    lines = [
        f"# conda environments: {', '.join(index.environments) or 'none'}",
        "",
        f"This folder is {kind}, made by {TOOL} {__version__}. Every command that changes it "
        f"(vendor, vendor apply, vendor prune) writes this file anew.",
        "",
        *_holds(root, index, sizes),
        "",
        *_verify(),
        "",
        *_install(root, index, delta),
    ]
    return "\n".join(lines) + "\n"
