"""Benchmark: bytes of repodata ``vendor`` fetches from a sharded channel (CEP 16).

Run from anywhere as ``python benchmarks/bench_shards.py [--names 5000] [--versions 4]
[--packages 20] [--latency 0.0]``.

Set-up (one temporary directory, removed at the end):

* channel ``big`` with ``linux-64`` and ``noarch``: ``--names`` filler package names
  (two thirds linux-64) of ``--versions`` builds each, whose records look like
  conda-forge's (depends, constrains, license, hashes, sizes, timestamps; never
  downloaded), plus the environment's own packages with real archives
  (``tests/support/build.py``): ``--packages`` applications, each depending on one or
  two of ten libraries, which depend on one base package, each in three versions.
* ``repodata.json`` and ``repodata.json.zst`` for each subdir, and CEP 16 shards
  written from the same records (``tests/support/shards.py``: msgpack + zstd, hashes as
  bytes, shards under ``shards/``).
* served by ``tests/support/server.py`` on 127.0.0.1 (``--latency`` seconds a request).

Measured: ``python -m conda_vendor_plugin vendor ENV -o OUT --platform linux-64`` on a cold
cache, once with shards and once with ``CONDA_REPODATA_USE_SHARDS=0``; the bytes of
every repodata file the server sent (index, shards, repodata.json[.zst]; the archives
are the same in both runs and left out), and wall time.

Target: the sharded vendor fetches < 5% of the bytes of the full ``repodata.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.build import Pkg, build_channel  # noqa: E402
from tests.support.server import ChannelServer  # noqa: E402
from tests.support.shards import shard_subdir  # noqa: E402
from tests.support.zstd import zstd  # noqa: E402

PLATFORM = "linux-64"
TARGET = 0.05
LICENSES = ["MIT", "BSD-3-Clause", "Apache-2.0", "GPL-3.0-or-later", "LGPL-2.1-only"]


def env_pkgs(apps: int) -> list[Pkg]:
    """The environment's packages: apps -> libs -> base, three versions each."""
    pkgs = []
    for v in ("1.0", "1.1", "2.0"):
        pkgs.append(Pkg("base", version=v, subdir=PLATFORM, fmt=".conda"))
        for i in range(10):
            pkgs.append(
                Pkg(f"lib{i:02d}", version=v, subdir="noarch", depends=["base"], fmt=".conda")
            )
        for i in range(apps):
            libs = [f"lib{i % 10:02d} >={v}"] + ([f"lib{(i + 3) % 10:02d}"] if i % 2 else [])
            pkgs.append(Pkg(f"app{i:02d}", version=v, subdir=PLATFORM, depends=libs, fmt=".conda"))
    return pkgs


def filler_records(names: int, versions: int, subdir: str, seed: int) -> dict[str, dict]:
    """``fn -> record`` for filler packages shaped like conda-forge's records."""
    rng = random.Random(seed)
    out = {}
    for n in range(names):
        name = f"filler-{subdir}-{n:05d}"
        for v in range(versions):
            build = f"h{rng.getrandbits(32):08x}_{v}"
            fn = f"{name}-{v}.{n % 7}.0-{build}.conda"
            digest = hashlib.sha256(fn.encode()).hexdigest()
            deps = [f"filler-{subdir}-{rng.randrange(names):05d} >=0.{v}" for _ in range(3)]
            if subdir != "noarch":
                deps += ["libgcc >=13", "__glibc >=2.17,<3.0.a0"]
            out[fn] = {
                "build": build,
                "build_number": v,
                "constrains": [f"filler-{subdir}-{rng.randrange(names):05d} <9"],
                "depends": deps,
                "license": rng.choice(LICENSES),
                "license_family": "OTHER",
                "md5": digest[:32],
                "name": name,
                "sha256": digest,
                "size": rng.randrange(10_000, 50_000_000),
                "subdir": subdir,
                "timestamp": 1_700_000_000_000 + rng.randrange(10**10),
                "version": f"{v}.{n % 7}.0",
            }
    return out


def build(root: Path, args: argparse.Namespace) -> tuple[Path, dict[str, int]]:
    chan = build_channel(root / "big", env_pkgs(args.packages), subdirs=(PLATFORM,))
    sizes = {}
    for i, subdir in enumerate((PLATFORM, "noarch")):
        path = chan / subdir / "repodata.json"
        doc = json.loads(path.read_text())
        share = args.names * 2 // 3 if subdir == PLATFORM else args.names // 3
        doc["packages.conda"].update(filler_records(share, args.versions, subdir, seed=i))
        text = json.dumps(doc, indent=1, sort_keys=True)
        path.write_text(text)
        (chan / subdir / "repodata.json.zst").write_bytes(zstd.compress(text.encode(), level=19))
        shard_subdir(chan, subdir, "./shards/")
        sizes[subdir] = len(text.encode())
        sizes[f"{subdir} records"] = len(doc["packages.conda"])
    return chan, sizes


def vendor(server: ChannelServer, chan: Path, work: Path, label: str, shards: bool) -> dict:
    env_file = work / "environment.yml"
    deps = "".join(f"  - app{i:02d}\n" for i in range(ARGS.packages))
    env_file.write_text(f"channels:\n  - {server.url}/big\ndependencies:\n{deps}")
    environ = dict(os.environ, XDG_CACHE_HOME=str(work / f"cache-{label}"))
    environ["CONDA_REPODATA_USE_SHARDS"] = "1" if shards else "0"
    environ["NO_PROXY"] = environ["no_proxy"] = "127.0.0.1"
    start = len(server.requests)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "conda_vendor_plugin", "vendor", env_file, "-o",
         work / f"out-{label}", "--platform", PLATFORM],
        capture_output=True, text=True, env=environ,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"vendor ({label}) failed:\n{proc.stderr}")
    fetched, requests = 0, 0
    for method, path, _, status in server.requests[start:]:
        if method == "GET" and status == 200 and not path.endswith((".conda", ".tar.bz2")):
            fetched += (server.root / path.lstrip("/")).stat().st_size
            requests += 1
    return {"wall": wall, "bytes": fetched, "requests": requests}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-shards-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        chan, sizes = build(work / "served", ARGS)
        print(f"channel built in {time.perf_counter() - t0:.1f} s: {sizes}")
        full = sizes[PLATFORM] + sizes["noarch"]
        with ChannelServer(work / "served", latency=ARGS.latency) as server:
            sharded = vendor(server, chan, work, "sharded", shards=True)
            plain = vendor(server, chan, work, "plain", shards=False)
        shutil.rmtree(work / "served", ignore_errors=True)
    ratio = sharded["bytes"] / full
    print(f"full repodata.json (linux-64 + noarch): {full:,} bytes")
    for label, r in (("sharded", sharded), ("repodata.json.zst", plain)):
        print(
            f"vendor of {ARGS.packages} packages, {label:>17}: {r['bytes']:>11,} bytes of "
            f"repodata in {r['requests']} requests, {r['wall']:.2f} s"
        )
    verdict = "OK" if ratio < TARGET else "MISSED"
    print(f"sharded / full repodata.json = {ratio:.4f} (target < {TARGET}): {verdict}")
    print(f"sharded / repodata.json.zst  = {sharded['bytes'] / plain['bytes']:.4f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", type=int, default=5000)
    parser.add_argument("--versions", type=int, default=4)
    parser.add_argument("--packages", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.0)
    ARGS = parser.parse_args()
    main()
