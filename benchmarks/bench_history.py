"""Benchmark: ``vendor`` into a bundle as its history grows (one version per update).

Run from anywhere as ``python benchmarks/bench_history.py [--packages 300] [--versions 8]``.

Set-up (one temporary directory, removed at the end): a ``file://`` channel of
``--packages`` small packages (real archives from ``tests/support/build.py``) plus one
build of ``lib`` per version. Update ``k`` vendors the same environment with ``lib`` pinned
to its ``k``-th build into the same bundle, so the bundle then holds ``k`` versions, each
with its own lockfile of ``--packages + 1`` packages.

Measured: each update as a user runs it (a subprocess, warm repodata cache), and the
``vendor verify`` of the final bundle. What grows with the history is the reading of the
versions' lockfiles (each is checked before the fetch, merged, and verified before the
swap; its bytes are parsed once per run, see ``bundle/locks.py``) and the verify of the
staged bundle. Printed: seconds per update and the last update / the first as a ratio.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.build import Pkg, build_channel  # noqa: E402
from tests.support.vendoring import write_env  # noqa: E402


def timed(*args: object) -> float:
    cmd = [sys.executable, "-m", "conda_vendor_plugin", *map(str, args), "--json"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return time.perf_counter() - started


def bench(packages: int, versions: int, work: Path) -> None:
    pkgs = [Pkg(f"p{i:04d}", "1.0") for i in range(packages)]
    pkgs += [Pkg("lib", f"1.{v}") for v in range(versions)]
    channel = build_channel(work / "chan", pkgs, subdirs=("linux-64",)).as_uri()
    out, cache = work / "OUT", work / "cache"
    times = []
    for v in range(versions):
        deps = [f"lib 1.{v}.*", *(p.name for p in pkgs[:packages])]
        env = write_env(work / "env.yml", [channel], deps, name="bench")
        args = ("vendor", env, "--platform", "linux-64", "-o", out, "--cache-dir", cache)
        times.append(timed(*args))
        print(f"update {v + 1} (bundle then holds {v + 1} versions): {times[-1]:.2f} s")
    print(f"vendor verify of the {versions}-version bundle: {timed('vendor', 'verify', out):.2f} s")
    print(f"last update / first: {times[-1] / times[0]:.2f}x")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--packages", type=int, default=300)
    p.add_argument("--versions", type=int, default=8)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        bench(args.packages, args.versions, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
