"""The files beside the local channels: environment files, explicit files, manifest
(the SBOM has a room of its own: :mod:`.sbom`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from .. import __version__
from ..formats import cep23
from ..fsutil import sha256_file, walk_files
from ..integrity import Expected
from ..records import ForeignPackage, Lockfile, Solution
from ..spec import EnvironmentSpec
from ..urls import redact_url
from ..yamlfile import yaml_scalar
from .plan import VendoredPackage
from .sbom import purl

MANIFEST = "manifest.json"
LOCKFILE = "environment.lock.yml"
TOOL = "conda-vendor-plugin"


def env_file_name(platform: str) -> str:
    return f"environment-{platform}.yml"


def explicit_file_name(platform: str) -> str:
    return f"{platform}.explicit.txt"


def env_file_text(spec: EnvironmentSpec, solution: Solution, locals_in_order: Sequence[str]) -> str:
    """An environment file pinning every locked package, channels = the local channels.

    No ``nodefaults``: conda 26.7 hands it to the solver as a channel, and
    conda-rattler-solver then fails offline on its uncached repodata. The header gives
    the command that ignores configured channels with every solver."""
    channels = " ".join(f"-c ./{name}" for name in locals_in_order)
    lines = [
        f"# Written by {TOOL} {__version__} for {solution.platform}. Install offline from the",
        "# directory holding this file (channel paths are relative to it):",
        f"#   conda env create -n <name> --offline -f {env_file_name(solution.platform)}",
        "# or, ignoring any channels configured in .condarc (needed with the rattler solver",
        "# when .condarc lists channels):",
        f"#   conda create -n <name> --offline --override-channels {channels} \\",
        f"#     --file {env_file_name(solution.platform)}",
    ]
    if spec.name:
        lines.append(f"name: {yaml_scalar(spec.name)}")
    lines.append("channels:")
    lines += [f"  - ./{name}" for name in locals_in_order]
    lines.append("dependencies:")
    lines += [f"  - {yaml_scalar(f'{p.name}=={p.version}={p.build}')}" for p in solution.packages]
    if spec.variables:
        lines.append("variables:")
        lines += [f"  {yaml_scalar(k)}: {yaml_scalar(v)}" for k, v in spec.variables]
    return "\n".join(lines) + "\n"


def explicit_file_text(lock: Lockfile, platform: str, vendored: Sequence[VendoredPackage]) -> str:
    """CEP 23 ``@EXPLICIT`` text for ``platform`` whose entries are the bundle's own
    archives, as paths relative to the bundle (``./local_x/<subdir>/<file>``): conda
    installs them with no solve and no network when run from the bundle's directory."""
    where = {vp.package: f"./{vp.relpath}" for vp in vendored}
    local = replace(
        lock, packages={platform: tuple(replace(p, url=where[p]) for p in lock.packages[platform])}
    )
    hint = "cd <this directory> && conda create -n <name> --offline --file"
    return cep23.write(local, platform, install=f"{hint} {explicit_file_name(platform)}")


def manifest_text(
    root: Path,
    spec: EnvironmentSpec,
    input_hash: str,
    vendored: Sequence[VendoredPackage],
    not_vendored: Sequence[ForeignPackage] = (),
) -> str:
    """Every file in the output (but the manifest itself): path, size, sha256, origin;
    and the locked packages that are not conda packages, which were not vendored."""
    by_path = {vp.relpath: vp for vp in vendored}
    files = []
    for rel, _ in walk_files(root):
        path = root / rel
        if rel == MANIFEST:
            continue
        vp = by_path.get(rel)
        item: dict[str, Any] = {"path": rel, "size": path.stat().st_size}
        known = vp.package.sha256 if vp is not None else None
        item["sha256"] = known or sha256_file(path)
        if vp is not None:
            item["url"] = redact_url(vp.package.url)
            item["purl"] = purl(vp)
            item["verified_by"] = Expected(None, vp.package.sha256, vp.package.md5).verified_by
        files.append(item)
    doc = {
        "tool": {"name": TOOL, "version": __version__},
        "name": spec.name,
        "input_hash": input_hash,
        "platforms": list(spec.platforms),
        "files": files,
        "not_vendored": [asdict(f) for f in not_vendored],
        "pip_not_vendored": list(spec.pip),
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"
