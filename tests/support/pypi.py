"""A PEP 503 simple index over copies of the real wheels in ../shared/testdata/pypi, and a
conda channel with ``python`` packages to resolve them against.

The index pages are written into the test's temp dir (never into the shared data); each
link carries the file's real ``#sha256=`` as PyPI's pages do.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from .build import Pkg, build_channel

PLATFORMS = ("linux-64", "osx-arm64", "win-64")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def project(filename: str) -> str:
    """The PEP 503 name of a wheel or sdist file."""
    stem = re.split(r"-\d", filename, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", stem).lower()


def write_simple_index(served: Path, sources: Sequence[Path]) -> Path:
    """Copy ``sources`` (wheels, sdists) to ``served/files`` and write ``served/simple``."""
    files = served / "files"
    files.mkdir(parents=True, exist_ok=True)
    by_project: dict[str, list[Path]] = {}
    for src in sources:
        dest = files / src.name
        shutil.copyfile(src, dest)
        by_project.setdefault(project(src.name), []).append(dest)
    simple = served / "simple"
    simple.mkdir(exist_ok=True)
    for name, found in sorted(by_project.items()):
        links = "".join(
            f'<a href="../../files/{f.name}#sha256={sha256_file(f)}">{f.name}</a><br/>\n'
            for f in sorted(found)
        )
        (simple / name).mkdir()
        (simple / name / "index.html").write_text(
            f"<!DOCTYPE html><html><body>\n{links}</body></html>\n"
        )
    return simple


def python_channel(root: Path, versions: Sequence[str] = ("3.12.7", "3.10.14"), extra=()) -> Path:
    """A conda channel with ``python`` for each of :data:`PLATFORMS` and ``pip`` (noarch,
    which the solver adds to python's depends), plus ``extra`` packages."""
    pkgs = [Pkg("pip", "25.0", "pyh_0", depends=["python"])]
    for platform in PLATFORMS:
        for v in versions:
            tag = "cp" + "".join(v.split(".")[:2])
            pkgs.append(Pkg("python", v, f"h0_{tag}", subdir=platform))
    return build_channel(root, [*pkgs, *extra], subdirs=PLATFORMS)
