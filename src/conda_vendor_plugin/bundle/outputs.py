"""The files beside the local channels: environment files and the manifest."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import __version__
from ..fsutil import sha256_file
from ..records import Solution
from ..spec import EnvironmentSpec
from ..urls import redact_url
from ..yamlfile import yaml_scalar
from .plan import VendoredPackage

MANIFEST = "manifest.json"
LOCKFILE = "environment.lock.yml"
TOOL = "conda-vendor-plugin"


def purl(vp: VendoredPackage) -> str:
    p = vp.package
    kind = "conda" if p.fn.endswith(".conda") else "tar.bz2"
    channel = quote(redact_url(p.channel), safe="")
    return (
        f"pkg:conda/{p.name}@{quote(p.version)}?build={quote(p.build)}"
        f"&channel={channel}&subdir={p.subdir}&type={kind}"
    )


def env_file_name(platform: str) -> str:
    return f"environment-{platform}.yml"


def env_file_text(spec: EnvironmentSpec, solution: Solution, locals_in_order: Sequence[str]) -> str:
    """An environment file pinning every locked package, channels = the local channels."""
    lines = [
        f"# Written by {TOOL} {__version__} for {solution.platform}. Install offline from the",
        "# directory holding this file (channel paths are relative to it):",
        f"#   conda env create -n <name> --offline -f {env_file_name(solution.platform)}",
    ]
    if spec.name:
        lines.append(f"name: {yaml_scalar(spec.name)}")
    lines.append("channels:")
    lines += [f"  - ./{name}" for name in locals_in_order]
    lines.append("  - nodefaults")
    lines.append("dependencies:")
    lines += [f"  - {yaml_scalar(f'{p.name}=={p.version}={p.build}')}" for p in solution.packages]
    if spec.variables:
        lines.append("variables:")
        lines += [f"  {yaml_scalar(k)}: {yaml_scalar(v)}" for k, v in spec.variables]
    return "\n".join(lines) + "\n"


def manifest_text(
    root: Path, spec: EnvironmentSpec, input_hash: str, vendored: Sequence[VendoredPackage]
) -> str:
    """Every file in the output (but the manifest itself): path, size, sha256, origin."""
    by_path = {vp.relpath: vp for vp in vendored}
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel == MANIFEST:
            continue
        vp = by_path.get(rel)
        item: dict[str, Any] = {"path": rel, "size": path.stat().st_size}
        known = vp.package.sha256 if vp is not None else None
        item["sha256"] = known or sha256_file(path)
        if vp is not None:
            item["url"] = redact_url(vp.package.url)
            item["purl"] = purl(vp)
        files.append(item)
    doc = {
        "tool": {"name": TOOL, "version": __version__},
        "name": spec.name,
        "input_hash": input_hash,
        "platforms": list(spec.platforms),
        "files": files,
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"
