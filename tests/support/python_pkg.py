"""A real ``python`` conda package built from the interpreter running the tests, and a real
``pip`` conda package with this interpreter's own pip, so that an offline install of a
lock's wheels runs pip for real (in ``vendor install`` and in conda's own pip step).

Not relocatable to another machine, which a test does not need: ``bin/python`` is a
symbolic link to this machine's base interpreter and ``pyvenv.cfg`` names its home, the
way ``python -m venv`` makes an environment. The prefix is then its own ``sys.prefix``,
so pip installs into ``PREFIX/lib/pythonX.Y/site-packages`` and nowhere else. pip's
``INSTALLER`` says ``conda``, as in conda-forge's pip (pip then checks for no newer pip
online). Archives are ``.conda`` files with real hashes, repodata written from their bytes.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import os
import platform
import sys
import tarfile
import zipfile
from pathlib import Path

from .zstd import zstd

Files = dict[str, "bytes | str"]  # path -> content (bytes) or symbolic link target (str)
MTIME = 1700000000


def host_subdir() -> str:
    """This machine's conda platform (the tests run on linux and macOS)."""
    machine = {"x86_64": "64", "AMD64": "64", "aarch64": "aarch64", "arm64": "arm64"}
    os_name = {"linux": "linux", "darwin": "osx", "win32": "win"}[sys.platform]
    return f"{os_name}-{machine.get(platform.machine(), platform.machine())}"


def _tar(files: Files) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.mtime = MTIME
            if isinstance(data, str):
                info.type, info.linkname = tarfile.SYMTYPE, data
                tf.addfile(info)
            else:
                info.size, info.mode = len(data), 0o755 if name.startswith("bin/") else 0o644
                tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _paths(files: Files) -> bytes:
    paths = []
    for p, data in sorted(files.items()):
        if isinstance(data, str):
            paths.append({"_path": p, "path_type": "softlink", "size_in_bytes": 0})
        else:
            digest = hashlib.sha256(data).hexdigest()
            paths.append(
                {"_path": p, "path_type": "hardlink", "sha256": digest, "size_in_bytes": len(data)}
            )
    return json.dumps({"paths": paths, "paths_version": 1}).encode()


def conda_archive(index: dict, files: Files) -> bytes:
    """A ``.conda`` archive of ``files`` with ``index`` as its ``info/index.json``."""
    stem = f"{index['name']}-{index['version']}-{index['build']}"
    info = {
        "info/index.json": json.dumps(index, indent=2).encode(),
        "info/paths.json": _paths(files),
        "info/files": "".join(f"{p}\n" for p in sorted(files)).encode(),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("metadata.json", json.dumps({"conda_pkg_format_version": 2}))
        zf.writestr(f"pkg-{stem}.tar.zst", zstd.compress(_tar(files), level=1))
        zf.writestr(f"info-{stem}.tar.zst", zstd.compress(_tar(info), level=1))
    return buf.getvalue()


def _site_packages() -> str:
    return f"lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"


def python_files() -> Files:
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    cfg = (
        f"home = {os.path.dirname(base)}\ninclude-system-site-packages = false\n"
        f"version = {platform.python_version()}\n"
    )
    return {
        "bin/python": base,
        "bin/python3": "python",
        "pyvenv.cfg": cfg.encode(),
        f"{_site_packages()}/README.txt": b"site-packages of a test python package\n",
    }


def pip_files() -> Files:
    """This interpreter's pip (its package and dist-info), INSTALLER set to conda."""
    dist = importlib.metadata.distribution("pip")
    root = Path(str(dist.locate_file("")))
    files: Files = {}
    for f in dist.files or ():
        if "__pycache__" in f.parts or f.parts[0].startswith(".."):
            continue
        data = (root / f).read_bytes() if f.name != "INSTALLER" else b"conda\n"
        files[f"{_site_packages()}/{f.as_posix()}"] = data
    return files


def write_python_channel(root: Path) -> dict[str, str]:
    """``root`` becomes a channel with the real ``python`` and ``pip`` packages for this
    machine's platform; returns name -> version."""
    subdir = host_subdir()
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    pyver = platform.python_version()
    pip_version = importlib.metadata.version("pip")
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    packages = [
        ("python", pyver, f"h0_{tag}", [], python_files()),
        ("pip", pip_version, f"{tag}_0", [f"python {minor}.*"], pip_files()),
    ]
    entries: dict[str, dict] = {}
    for name, version, build, depends, files in packages:
        index = {
            "name": name,
            "version": version,
            "build": build,
            "build_number": 0,
            "depends": depends,
            "subdir": subdir,
            "license": "PSF-2.0" if name == "python" else "MIT",
            "timestamp": MTIME * 1000,
        }
        data = conda_archive(index, files)
        fn = f"{name}-{version}-{build}.conda"
        (root / subdir).mkdir(parents=True, exist_ok=True)
        (root / subdir / fn).write_bytes(data)
        digest = {"md5": hashlib.md5(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}
        entries[fn] = {**index, **digest, "size": len(data)}
    for sd, section in ((subdir, entries), ("noarch", {})):
        (root / sd).mkdir(parents=True, exist_ok=True)
        doc = {"info": {"subdir": sd}, "packages": {}, "packages.conda": section}
        (root / sd / "repodata.json").write_text(json.dumps(doc, indent=1, sort_keys=True))
    return {"python": pyver, "pip": pip_version}
