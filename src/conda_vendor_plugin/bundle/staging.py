"""Building a bundle beside OUT and swapping it into place.

Everything is built in a staging directory beside OUT (``.OUT.staging``), which also
keeps verified archives and partial downloads between runs, so a second run resumes.
Only when the whole output is complete does it replace OUT (``OUT`` -> ``.OUT.old``,
staging -> ``OUT``, then the old copy is removed); a run that fails or is
interrupted leaves the previous OUT as it was.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from ..errors import VendorError
from .outputs import MANIFEST, TOOL
from .plan import VendoredPackage


def staging_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.staging"


def old_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.old"


def _is_ours(out: Path) -> bool:
    try:
        return json.loads((out / MANIFEST).read_text()).get("tool", {}).get("name") == TOOL
    except (OSError, ValueError, AttributeError):
        return False


def check_output(out: Path) -> None:
    """Refuse to replace a directory this tool did not write; finish an interrupted swap."""
    if not out.exists() and old_dir(out).is_dir():
        os.rename(old_dir(out), out)  # a previous run died between its two renames
    if out.exists() and not out.is_dir():
        raise VendorError(f"{out}: exists and is not a directory; choose another -o/--output")
    if out.is_dir() and any(out.iterdir()) and not _is_ours(out):
        raise VendorError(
            f"{out}: exists, is not empty and was not written by conda vendor; "
            f"choose another -o/--output or empty it"
        )


def swap_into_place(staging: Path, out: Path) -> None:
    old = old_dir(out)
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        os.rename(out, old)
    os.rename(staging, out)
    shutil.rmtree(old, ignore_errors=True)


def seed_from_previous(out: Path, staging: Path, vendored: Sequence[VendoredPackage]) -> None:
    """Hard-link archives of the previous output into staging (verified before use)."""
    if not out.is_dir():
        return
    for vp in vendored:
        src, dst = out / vp.relpath, staging / vp.relpath
        if src.is_file() and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, dst)
            except OSError:
                shutil.copyfile(src, dst)


def prune(staging: Path, keep: set[str]) -> None:
    """Remove files of earlier plans from staging (partial files of kept archives stay)."""
    for path in sorted(staging.rglob("*"), reverse=True):
        rel = path.relative_to(staging).as_posix()
        if path.is_dir():
            if not any(path.iterdir()):
                path.rmdir()
        elif rel not in keep and rel.removesuffix(".partial") not in keep:
            path.unlink()
