"""Benchmark: a delta bundle against a full bundle, for a one-package update.

Run from anywhere as ``python benchmarks/bench_delta.py [--packages 300] [--total-mb 200]``.

Set-up (one temporary directory, removed at the end): a channel of ``--packages`` packages
(real archives from ``tests/support/build.py``, sizes spread as in ``bench_vendor.py``,
plus a second build of one mid-sized package), served on 127.0.0.1. An environment lists
every package; the update pins the one package to its newer build.

Measured: ``vendor ENV -o FULL`` (version 1), then the update vendored two ways, as a
user runs them (subprocesses, warm repodata cache):

* full: ``vendor ENV2 -o FULL`` (the bundle updated in place; what a full re-transfer
  would carry),
* delta: ``vendor ENV2 -o DELTA --since FULL-before/manifest.json``, then ``vendor apply
  DELTA --to COPY`` on a copy of version 1, which must then equal FULL's manifest.

Printed: bytes and files of each, delta / full as a ratio, and the apply time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_vendor import make_main_pkgs  # noqa: E402

from tests.support.build import build_channel  # noqa: E402
from tests.support.server import ChannelServer  # noqa: E402


def tree_size(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files), len(files)


def vendor(*args: object, cache: Path) -> float:
    cmd = [sys.executable, "-m", "conda_vendor_plugin", "vendor", *map(str, args)]
    cmd += ["--platform", "linux-64", "--cache-dir", str(cache), "--json"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return time.perf_counter() - started


def write_env(path: Path, url: str, deps: list[str]) -> Path:
    lines = ["name: bench", "channels:", f"  - {url}", "dependencies:"]
    lines += [f"  - {d}" for d in deps]
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packages", type=int, default=300)
    ap.add_argument("--total-mb", type=float, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pkgs = make_main_pkgs(args.packages, int(args.total_mb * 1e6), ".conda")
        old = sorted(pkgs, key=lambda p: p.payload_size)[len(pkgs) // 2]
        new = replace(old, build="1", build_number=1)
        build_channel(work / "served" / "main", [*pkgs, new], subdirs=("linux-64",))
        with ChannelServer(work / "served") as server:
            url = f"{server.url}/main"
            names = [p.name for p in pkgs if p.name != old.name]
            pin = f"{old.name} {old.version}"
            v1 = write_env(work / "v1.yml", url, [*names, f"{pin} 0"])
            v2 = write_env(work / "v2.yml", url, [*names, f"{pin} 1"])
            cache = work / "cache"
            full = work / "FULL"
            vendor(v1, "-o", full, cache=cache)
            before = work / "BEFORE"
            shutil.copytree(full, before, symlinks=True)
            t_full = vendor(v2, "-o", full, cache=cache)
            delta = work / "DELTA"
            t_delta = vendor(v2, "-o", delta, "--since", before / "manifest.json", cache=cache)
            started = time.perf_counter()
            apply = [sys.executable, "-m", "conda_vendor_plugin", "vendor", "apply", str(delta)]
            subprocess.run([*apply, "--to", str(before)], check=True, capture_output=True)
            t_apply = time.perf_counter() - started
        same = (before / "manifest.json").read_bytes() == (full / "manifest.json").read_bytes()
        full_bytes, full_files = tree_size(full)
        delta_bytes, delta_files = tree_size(delta)
        listed = json.loads((delta / "manifest.json").read_text())["files"]
        archives = [f for f in listed if "purl" in f]
        print(f"environment: {len(pkgs)} packages, {args.total_mb:.0f} MB; one updated: {pin}")
        print(f"full bundle:  {full_bytes / 1e6:9.2f} MB in {full_files} files")
        print(f"  (the update vendored in place in {t_full:.2f}s)")
        print(f"delta bundle: {delta_bytes / 1e6:9.2f} MB in {delta_files} files, "
              f"{len(archives)} archive(s)")  # fmt: skip
        print(f"  (written in {t_delta:.2f}s, applied in {t_apply:.2f}s)")
        print(f"delta / full: {delta_bytes / full_bytes:.4f} of the bytes")
        print(f"applied bundle's manifest equals the full vendor's: {same}")


if __name__ == "__main__":
    main()
