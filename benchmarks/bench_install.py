"""Benchmark: the far side. ``vendor install`` against ``conda create --offline``, and
``vendor verify`` / ``vendor pack`` against ``sha256sum`` / ``tar`` on the same files.

Run as ``python benchmarks/bench_install.py [--packages 300] [--total-mb 200]
[--conda-python /work/scratch/conda-venv/bin/python]``.

Set-up (one temporary directory, removed at the end): a channel of ``--packages`` real
archives (``tests/support/build.py``, sizes spread as in ``bench_vendor.py``, one
environment listing them all), served on 127.0.0.1 and vendored into a bundle; the server
is then stopped. Each command is a whole process, as a user runs it, one run each:

* ``vendor install OUT bench --prefix P1`` (every archive staged in a private folder and
  sha256-checked there, then linked by py-rattler; the bundle is this user's, mode 0644,
  on the prefix's file system, so staging hard-links: see ``bundle/install.py``) against
  ``conda create -p P2 --offline --override-channels -c ./local_<chan> <every package
  pinned name==version=build>`` from the bundle's root with
  the classic solver (its own empty package cache: it extracts every archive too; conda
  checks no hash of a local archive);
* ``vendor verify OUT`` against ``sha256sum`` of every file of the bundle;
* ``vendor pack OUT -o x.tar`` (every file hashed against the manifest, the tar hashed
  for ``x.tar.sha256``, fsync) against ``tar -cf y.tar -C OUT .`` (no hash), and against
  that plus ``sha256sum y.tar``.

Printed: seconds of each (and the CPU seconds of both installs, steadier than wall time on
a shared machine), and the ratios (install: vendor / conda, the lower the better;
verify and pack: throughput of the tool / throughput of the reference, the higher the better).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_vendor import make_main_pkgs  # noqa: E402

from tests.support.build import build_channel  # noqa: E402
from tests.support.server import ChannelServer  # noqa: E402

CPU: list[float] = [0.0]  # user + system seconds of the last command timed (its children too)


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> float:
    """Wall seconds of ``cmd``; its CPU seconds in ``CPU[0]`` (steadier on a busy machine)."""
    cpu = children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    wall = time.perf_counter() - started
    CPU[0] = children_cpu() - cpu
    return wall


def tool(*args: object) -> list[str]:
    return [sys.executable, "-m", "conda_vendor_plugin", "vendor", *map(str, args)]


def bundle_files(out: Path) -> list[str]:
    return sorted(
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and not p.is_symlink()
    )


def conda_env(root: Path) -> dict[str, str]:
    home = root / "conda-home"
    home.mkdir()
    (home / ".condarc").write_text("channels: []\n")
    return {
        **os.environ,
        "HOME": str(home),
        "CONDARC": str(home / ".condarc"),
        "CONDA_PKGS_DIRS": str(home / "pkgs"),
        "CONDA_SOLVER": "classic",
        "CONDA_OVERRIDE_CUDA": "",
        "PYTHONPATH": str(ROOT / "src"),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, default=300)
    ap.add_argument("--total-mb", type=int, default=200)
    ap.add_argument("--conda-python", default="/work/scratch/conda-venv/bin/python")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp:
        root = Path(tmp)
        pkgs = make_main_pkgs(args.packages, args.total_mb << 20, ".conda")
        build_channel(root / "served" / "chan", pkgs, subdirs=("linux-64",))
        env_file = root / "bench.yml"
        with ChannelServer(root / "served") as srv:
            lines = ["name: bench", "channels:", f"  - {srv.url}/chan", "dependencies:"]
            env_file.write_text("\n".join(lines + [f"  - {p.name}" for p in pkgs]) + "\n")
            out = root / "OUT"
            timed(
                tool(env_file, "--platform", "linux-64", "-o", out, "--cache-dir", root / "cache")
            )
        files = bundle_files(out)
        size = sum((out / f).stat().st_size for f in files)
        print(f"bundle: {args.packages} packages, {len(files)} files, {size / 2**20:.0f} MiB")

        t_install = timed(tool("install", out, "bench", "--prefix", root / "P1"))
        c_install = CPU[0]
        index = json.loads((out / "bundle.json").read_text())
        current = index["environments"]["bench"]["current"]
        lock = out / "envs" / "bench" / "versions" / current / "environment.lock.yml"
        from conda_vendor_plugin.formats.registry import read_path

        pins = [f"{p.name}=={p.version}={p.build}" for p in read_path(lock).packages["linux-64"]]
        locals_ = [f"./{d.name}" for d in sorted(out.iterdir()) if d.name.startswith("local_")]
        conda_cmd = [args.conda_python, "-m", "conda", "create", "-y", "-q", "--offline"]
        conda_cmd += ["-p", str(root / "P2"), "--override-channels"]
        for c in locals_:
            conda_cmd += ["-c", c]
        t_conda = timed([*conda_cmd, *pins], env=conda_env(root), cwd=out)
        c_conda = CPU[0]
        n1 = len(list((root / "P1" / "conda-meta").glob("*.json")))
        n2 = len(list((root / "P2" / "conda-meta").glob("*.json")))
        print(
            f"install: vendor install {t_install:.2f}s ({n1} records), conda create --offline "
            f"(classic) {t_conda:.2f}s ({n2} records); vendor / conda = {t_install / t_conda:.2f}"
        )
        print(
            f"install CPU (user + system): vendor install {c_install:.2f}s, conda create "
            f"{c_conda:.2f}s; vendor / conda = {c_install / c_conda:.2f}"
        )

        t_verify = timed(tool("verify", out))
        listing = root / "files.txt"
        listing.write_text("\0".join(files))
        t_sha = timed(["sh", "-c", f"xargs -0 sha256sum < {listing} > /dev/null"], cwd=out)
        print(
            f"verify: vendor verify {t_verify:.2f}s, sha256sum {t_sha:.2f}s; throughput "
            f"vendor / sha256sum = {t_sha / t_verify:.2f}"
        )

        t_pack = timed(tool("pack", out, "-o", root / "x.tar"))
        t_tar = timed(["tar", "-cf", str(root / "y.tar"), "-C", str(out), "."])
        t_tar_sum = t_tar + timed(["sha256sum", str(root / "y.tar")])
        print(
            f"pack: vendor pack {t_pack:.2f}s, tar {t_tar:.2f}s, tar + sha256sum of the tar "
            f"{t_tar_sum:.2f}s; throughput vendor / tar = {t_tar / t_pack:.2f}, "
            f"vendor / (tar + sha256sum) = {t_tar_sum / t_pack:.2f}"
        )
        shutil.rmtree(root / "P1", ignore_errors=True)


if __name__ == "__main__":
    main()
