"""``vendor --with-installer``: what a target with only a Python >= 3.10 needs to run
``vendor install``, carried inside the bundle.

* ``installer/wheels/``: the wheels of this package (with py-rattler) and of every
  runtime dependency, for each platform of the bundle and each Python version asked for
  (default 3.10 to 3.13), fetched by pip's own cross-platform download (``pip download
  --only-binary=:all: --platform ... --python-version ... --implementation cp --abi
  ...``); pip's configuration (``PIP_INDEX_URL``, ``PIP_FIND_LINKS``, ``pip.conf``)
  decides where from. Each wheel is checked to be a whole zip (every member's CRC) and
  is listed, with its sha256, in the manifest and ``SHA256SUMS`` like every file, and
  in the SBOM as a ``pkg:pypi`` component with its sha256 (:func:`carried` when it is
  written, :func:`listed` when ``vendor verify`` checks it against the manifest).
* ``install.sh`` (POSIX sh) and ``install.ps1`` at the root: a throw-away virtualenv,
  ``pip install --no-index --find-links installer/wheels``, then ``vendor install`` of
  this bundle with the script's arguments.

The transaction runs :func:`writer` before the README writer, so the README names the
scripts. Wheels a lock's ``pip:`` part installs are another matter (they go with the
environment, not with the tool).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .. import __version__
from ..errors import VendorError
from ..fsutil import atomic_write_text, is_plain_dir, sha256_file
from ..pypi.records import Wheel
from ..transport.urls import redact_text
from .history import Index

WHEELS = "installer/wheels"
SCRIPT_SH = "install.sh"
SCRIPT_PS1 = "install.ps1"
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
REQUIREMENT = f"conda-vendor-plugin[rattler]=={__version__}"
_MANYLINUX = (*(f"manylinux_2_{n}" for n in range(17, 40)), "manylinux2014")
_MACOS = tuple(f"macosx_{v}" for v in ("10_9", "10_12", "10_13", "11_0", "12_0", "13_0", "14_0"))
ARCH = {
    "linux-64": [f"{m}_x86_64" for m in _MANYLINUX],
    "linux-aarch64": [f"{m}_aarch64" for m in _MANYLINUX],
    "linux-ppc64le": [f"{m}_ppc64le" for m in _MANYLINUX],
    "osx-64": [f"{m}_x86_64" for m in _MACOS] + [f"{m}_universal2" for m in _MACOS],
    "osx-arm64": [f"{m}_arm64" for m in _MACOS] + [f"{m}_universal2" for m in _MACOS],
    "win-64": ["win_amd64"],
    "win-arm64": ["win_arm64"],
}


class InstallerError(VendorError):
    """The installer's wheels could not be fetched or did not check."""


def _python_problem(version: str) -> str | None:
    major, _, minor = version.partition(".")
    if major != "3" or not minor.isdigit() or int(minor) < 10:
        return f"installer Python {version!r} is not 3.10 or later (as 3.X)"
    return None


def check_pythons(versions: Sequence[str]) -> tuple[str, ...]:
    for v in versions:
        problem = _python_problem(v)
        if problem is not None:
            raise InstallerError(f"--installer-python: {problem}")
    return tuple(dict.fromkeys(versions)) or PYTHONS


def pip_download_args(platform: str, python: str, dest: Path) -> list[str]:
    """pip's command line for the wheels of one conda platform and Python version."""
    cp = f"cp{python.replace('.', '')}"
    args = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check"]
    args += ["--only-binary=:all:", "--dest", str(dest), "--python-version", python]
    args += ["--implementation", "cp", "--abi", cp, "--abi", "abi3", "--abi", "none"]
    for tag in ARCH[platform]:
        args += ["--platform", tag]
    return [*args, "--progress-bar", "off", "--quiet", REQUIREMENT]


def _download(platform: str, python: str, dest: Path) -> None:
    result = subprocess.run(
        pip_download_args(platform, python, dest), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        lines = [x for x in (result.stderr or result.stdout).splitlines() if x.strip()]
        why = redact_text(lines[-1].strip() if lines else f"exit status {result.returncode}")
        raise InstallerError(
            f"pip download of the installer's wheels for {platform}, Python {python} failed: "
            f"{why}. pip's configuration (PIP_INDEX_URL, PIP_FIND_LINKS) says where from"
        )


def _check_wheel(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            names = zf.namelist()
    except (OSError, zipfile.BadZipFile) as e:
        raise InstallerError(f"{path.name}: not a wheel ({e})") from None
    if bad is not None or not any(n.endswith(".dist-info/RECORD") for n in names):
        raise InstallerError(f"{path.name}: a damaged wheel ({bad or 'no RECORD'})")


def fetch_wheels(folder: Path, platforms: Sequence[str], pythons: Sequence[str]) -> list[str]:
    """Every wheel the installer needs into ``folder``; returns their names, sorted."""
    targets = [p for p in platforms if p != "noarch"]
    unknown = [p for p in targets if p not in ARCH]
    if unknown:
        raise InstallerError(f"--with-installer: no wheels are known for platform {unknown[0]}")
    with tempfile.TemporaryDirectory(prefix="conda-vendor-wheels-") as tmp:
        for platform in targets:
            for python in pythons:
                _download(platform, python, Path(tmp))
        folder.mkdir(parents=True, exist_ok=True)
        for path in sorted(Path(tmp).iterdir()):
            if not path.name.endswith(".whl"):
                raise InstallerError(f"{path.name}: pip gave a file that is not a wheel")
            _check_wheel(path)
            shutil.copyfile(path, folder / path.name)
    return sorted(p.name for p in folder.iterdir())


def as_wheel(fn: str, sha256: str) -> Wheel:
    """An installer wheel as the SBOM names it: project and version from its file name
    (PEP 427: ``{name}-{version}-...whl``), no source URL (pip's configuration chose)."""
    name, _, rest = fn.partition("-")
    return Wheel(name=name, version=rest.partition("-")[0], url="", sha256=sha256)


def carried(root: Path) -> dict[str, Wheel]:
    """The installer's wheels in the bundle at ``root``, by bundle path, each with the
    sha256 of its file (none without ``--with-installer``)."""
    folder = root / WHEELS
    if not is_plain_dir(folder):
        return {}
    return {
        f"{WHEELS}/{p.name}": as_wheel(p.name, sha256_file(p))
        for p in sorted(folder.iterdir())
        if p.name.endswith(".whl") and p.is_file() and not p.is_symlink()
    }


def listed(files: Mapping[str, object]) -> dict[str, Wheel]:
    """The installer's wheels a manifest lists (``files``: path -> its sha256, untrusted),
    as :func:`carried` gives them when the files match the manifest."""
    return {
        rel: as_wheel(rel.rpartition("/")[2], str(sha256))
        for rel, sha256 in files.items()
        if rel.startswith(f"{WHEELS}/") and rel.endswith(".whl") and rel.count("/") == 2
    }


def sh_text() -> str:
    return (
        "\n".join(
            [
                "#!/bin/sh",
                f"# Written by conda-vendor-plugin {__version__}. Installs an environment of this",
                "# bundle on a machine with only a Python >= 3.10 (no conda, no network): a",
                f"# throw-away virtualenv from the wheels in {WHEELS}/, then",
                "#   vendor install <this bundle> ARGS...",
                "# Usage: sh install.sh [ENV] --prefix PREFIX [--version ID] [--force]",
                "# The Python used: $PYTHON, else python3.",
                "set -eu",
                'here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)',
                "python=${PYTHON:-python3}",
                'venv=$(mktemp -d "${TMPDIR:-/tmp}/conda-vendor-installer.XXXXXX")',
                "trap 'rm -rf \"$venv\"' EXIT",
                "trap 'exit 130' INT TERM",
                '"$python" -m venv "$venv"',
                '"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \\',
                "  --no-index \\",
                f'  --find-links "$here/{WHEELS}" "{REQUIREMENT}"',
                '"$venv/bin/python" -m conda_vendor_plugin vendor install "$here" "$@"',
            ]
        )
        + "\n"
    )


def ps1_text() -> str:
    wheels = WHEELS.replace("/", "\\")
    return (
        "\r\n".join(
            [
                f"# Written by conda-vendor-plugin {__version__}. Installs an environment of this",
                "# bundle on a machine with only a Python >= 3.10 (no conda, no network): a",
                f"# throw-away virtualenv from the wheels in {wheels}\\, then",
                "#   vendor install <this bundle> ARGS...",
                "# Usage:",
                "#   powershell -File install.ps1 [ENV] --prefix PREFIX [--version ID] [--force]",
                "# The Python used: $env:PYTHON, else py -3.",
                '$ErrorActionPreference = "Stop"',
                "$here = $PSScriptRoot",
                '$name = "conda-vendor-installer-" + [Guid]::NewGuid()',
                "$venv = Join-Path ([IO.Path]::GetTempPath()) $name",
                "try {",
                "    if ($env:PYTHON) { & $env:PYTHON -m venv $venv } "
                "else { & py -3 -m venv $venv }",
                '    if ($LASTEXITCODE -ne 0) { throw "could not create a virtualenv" }',
                '    $py = Join-Path $venv "Scripts\\python.exe"',
                "    & $py -m pip install --quiet --disable-pip-version-check --no-index `",
                f'        --find-links (Join-Path $here "{wheels}") "{REQUIREMENT}"',
                '    if ($LASTEXITCODE -ne 0) { throw "could not install the wheels" }',
                "    & $py -m conda_vendor_plugin vendor install $here @args",
                "    exit $LASTEXITCODE",
                "} finally {",
                "    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $venv",
                "}",
            ]
        )
        + "\r\n"
    )


def writer(pythons: Sequence[str]) -> Callable[[Path, Index], None]:
    """The transaction writer adding the installer for the merged index's platforms."""

    def write(staging: Path, index: Index) -> None:
        platforms = sorted(
            {p for env in index.environments.values() for v in env.versions for p in v.platforms}
        )
        folder = staging / WHEELS
        if folder.exists():
            shutil.rmtree(folder)  # the wheels of an earlier run: fetched anew
        fetch_wheels(folder, platforms, pythons)
        atomic_write_text(staging / SCRIPT_SH, sh_text())
        mode = stat.S_IMODE(os.stat(staging / SCRIPT_SH).st_mode)
        os.chmod(staging / SCRIPT_SH, mode | (mode & 0o444) >> 2)  # x where r (umask)
        atomic_write_text(staging / SCRIPT_PS1, ps1_text())

    return write
