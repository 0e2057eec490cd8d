"""``vendor verify``: re-check a bundle, e.g. one handed over across an air gap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import VendorError
from ..fsutil import sha256_file
from .channels import entry_problems
from .outputs import MANIFEST


def verify_output(out: Path) -> dict[str, Any]:
    """Re-check a vendored output: every archive against its repodata entry, and the rest
    of the files against the manifest. Returns the findings; ``problems`` counts them."""
    if not out.is_dir():
        raise VendorError(f"{out}: no such directory; pass the output of conda vendor")
    missing, extra, corrupt = entry_problems(out)
    archives = 0
    try:
        manifest = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        missing.append(MANIFEST)
        manifest = {"files": []}
    listed = {MANIFEST}
    for item in manifest.get("files", []):
        path = out / item["path"]
        listed.add(item["path"])
        if "purl" in item:
            archives += 1
        if not path.is_file():
            missing.append(item["path"])  # also archives whose whole subdir is gone
        elif "purl" not in item and sha256_file(path) != item.get("sha256"):
            corrupt.append((item["path"], "sha256 differs from the manifest"))
        # archives were checked against their repodata entries above
    if MANIFEST not in missing:
        # Files outside any local channel subdir are in no repodata: the manifest decides.
        known = listed | set(extra)
        extra += [
            rel
            for rel in sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
            if rel not in known
        ]
    return {
        "output": str(out),
        "archives": archives,
        "missing": sorted(set(missing)),
        "extra": extra,
        "corrupt": [f"{p}: {why}" for p, why in corrupt],
        "problems": len(set(missing)) + len(extra) + len(corrupt),
    }
