"""Build small but real conda channels at test time: real archives, real hashes.

``.tar.bz2`` archives need only the standard library; ``.conda`` archives need zstd
(``compression.zstd`` or ``backports.zstd``, which the package depends on). Repodata is
written from the archives' bytes, the way an upstream indexer would, so sha256/md5/size
are the real ones.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Pkg:
    name: str
    version: str = "1.0"
    build: str = "0"
    build_number: int = 0
    subdir: str = "noarch"
    depends: list[str] = field(default_factory=list)
    fmt: str = ".tar.bz2"
    payload_size: int = 64  # bytes of (incompressible) file content inside the package
    extra: dict = field(default_factory=dict)  # extra repodata fields (e.g. a hotfix)

    @property
    def fn(self) -> str:
        return f"{self.name}-{self.version}-{self.build}{self.fmt}"

    def index(self) -> dict:
        d = {
            "name": self.name,
            "version": self.version,
            "build": self.build,
            "build_number": self.build_number,
            "depends": list(self.depends),
            "subdir": self.subdir,
            "license": "BSD-3-Clause",
            "timestamp": 1700000000000,
        }
        if self.subdir == "noarch":
            d["noarch"] = "generic"
        return d


def _tar_bytes(members: dict[str, bytes], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1700000000
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _payload(pkg: Pkg) -> bytes:
    seed = hashlib.sha256(pkg.fn.encode()).digest()
    out = bytearray()
    while len(out) < pkg.payload_size:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return bytes(out[: pkg.payload_size])


def archive_bytes(pkg: Pkg) -> bytes:
    info = {"info/index.json": json.dumps(pkg.index(), indent=2).encode()}
    files = {f"share/{pkg.name}/data.bin": _payload(pkg)}
    paths = {
        "info/paths.json": json.dumps(
            {
                "paths": [
                    {
                        "_path": p,
                        "path_type": "hardlink",
                        "sha256": hashlib.sha256(b).hexdigest(),
                        "size_in_bytes": len(b),
                    }
                    for p, b in files.items()
                ],
                "paths_version": 1,
            }
        ).encode(),
        "info/files": "\n".join(files).encode() + b"\n",
    }
    if pkg.fmt == ".tar.bz2":
        return _tar_bytes({**info, **paths, **files}, mode="w:bz2")
    from .zstd import zstd

    stem = pkg.fn[: -len(".conda")]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("metadata.json", json.dumps({"conda_pkg_format_version": 2}))
        zf.writestr(f"pkg-{stem}.tar.zst", zstd.compress(_tar_bytes(files), level=3))
        zf.writestr(f"info-{stem}.tar.zst", zstd.compress(_tar_bytes({**info, **paths}), level=3))
    return buf.getvalue()


def build_channel(root: str | Path, pkgs: list[Pkg], subdirs: tuple[str, ...] = ()) -> Path:
    """Write archives and ``<subdir>/repodata.json`` under ``root``; noarch always exists."""
    root = Path(root)
    repodata: dict[str, dict] = {}
    for sd in {"noarch", *subdirs, *(p.subdir for p in pkgs)}:
        repodata[sd] = {
            "info": {"subdir": sd},
            "packages": {},
            "packages.conda": {},
            "repodata_version": 1,
        }
    for pkg in pkgs:
        data = archive_bytes(pkg)
        d = root / pkg.subdir
        d.mkdir(parents=True, exist_ok=True)
        (d / pkg.fn).write_bytes(data)
        entry = {
            **pkg.index(),
            "md5": hashlib.md5(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            **pkg.extra,
        }
        section = "packages.conda" if pkg.fmt == ".conda" else "packages"
        repodata[pkg.subdir][section][pkg.fn] = entry
    for sd, doc in repodata.items():
        (root / sd).mkdir(parents=True, exist_ok=True)
        with open(root / sd / "repodata.json", "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write(os.linesep)
    return root
