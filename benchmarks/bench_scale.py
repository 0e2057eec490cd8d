"""Benchmark: ``lock`` and ``vendor`` on a conda-forge-sized channel.

Run from anywhere as ``python benchmarks/bench_scale.py [--records 50000] [--noarch N]
[--latency 0.02] [--repeat 3] [--profile]``; ``--records 500000`` is the issue's target
size (500k linux-64 + 150k noarch records).

Set-up (one temporary directory, removed at the end; nothing is committed):

* channel ``big``: the real Anaconda ``defaults`` snapshot (linux-64 + noarch, 2018-08,
  ``../shared/testdata/repodata``), whose records are replicated under new names
  (``<name>-syn<k>``, same versions, builds and dependencies) until ``linux-64`` holds
  ``--records`` records and ``noarch`` ``--noarch`` (default 30%), half ``.conda``. The
  real names stay, so the environments below solve as they did in 2018 in a channel of
  this size. ``repodata.json`` is written as conda-index writes it (``indent=2``, sorted
  keys), with a ``repodata.json.zst`` beside it.
* the archives of the packages the environments need: small valid ``.tar.bz2`` /
  ``.conda`` files (``tests/support/build.py``), whose sha256, md5 and size replace
  those of their repodata entries (every other field stays the 2018 one).
* served by ``tests/support/server.py`` on 127.0.0.1, ``--latency`` s per request.

Measured, for an environment of about 20 packages and one of about 300, each command a
subprocess (wall time and its own peak RSS, as ``bench_vendor.py`` takes them):

* bare py-rattler solve: ``rattler.solve`` with its own ``Gateway`` fetching the same
  channel over HTTP (cold: an empty cache; warm: the cache kept);
* ``python -m conda_vendor_plugin lock`` (cold: an empty ``--cache-dir``; warm: kept);
* ``python -m conda_vendor_plugin vendor`` into a fresh OUT (warm cache);
* ``curl --parallel`` fetching the same archives (the download's lower bound).

Targets (#11): lock <= 1.10x the bare solve, cold and warm; vendor <= 1.3x (warm lock +
curl); vendor peak RSS <= 1.2x lock's. ``--profile`` (or a missed vendor target) prints
where a vendor run spends its time (cProfile, main thread).

Inside conda (``--conda-python PATH``, a Python with conda and a conda solver; this
checkout's ``src`` goes first on its ``PYTHONPATH``), for each solver of
``--conda-solvers`` (default ``rattler``) and each environment, one process each, conda
isolated in a temporary HOME (``channels: []``, its own package cache and envs, no CUDA):

* ``python -m conda env lock -f ENV --platform linux-64``, cold (conda's repodata cache empty),
  then warm (the cache kept);
* ``python -m conda vendor ENV --platform linux-64 -o OUT`` into a fresh OUT (warm cache);
* ``curl --parallel`` for the archives that vendor fetched.

Same targets against ``conda env lock``: vendor <= 1.3x (warm env lock + curl), vendor
peak RSS <= 1.2x env lock's. A command that runs past ``--conda-timeout`` seconds is
stopped and reported as such (the classic solver at conda-forge size may be). The channel
serves only the archives the bare py-rattler solve picks: a solver that picks other builds
(classic, for the large environment) makes vendor fail with 404s, reported as a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_lock import INDEX, PLATFORM, SUBDIRS  # noqa: E402
from bench_vendor import Run, child_env, measured, run_curl  # noqa: E402

from tests.support.build import Pkg, archive_bytes  # noqa: E402
from tests.support.server import ChannelServer  # noqa: E402
from tests.support.zstd import zstd  # noqa: E402

ENVIRONMENTS = {
    "small": ("python 3.6.*", "pyyaml"),
    "large": (
        "python 3.6.*", "r-essentials", "jupyter", "pandas", "matplotlib", "scipy", "bokeh",
        "dask", "distributed", "conda-build", "sphinx",
    ),
}  # fmt: skip

BARE = """
import asyncio, sys, rattler as r
sys.path.insert(0, {src!r})
from conda_vendor_plugin.solve.virtual import virtual_packages
vp = [r.GenericVirtualPackage(r.PackageName(v.name), r.Version(v.version),
      getattr(r, "BuildString", str)(v.build)) for v in virtual_packages({platform!r})]
records = asyncio.run(r.solve([{url!r}], {specs!r}, gateway=r.Gateway(cache_dir={cache!r}),
    platforms=[{platform!r}, "noarch"], virtual_packages=vp,
    channel_priority=r.ChannelPriority.Flexible, add_pip_as_python_dependency=True))
print(len(records))
"""


# ------------------------------------------------------------------ the channel


def seed_records() -> dict[str, dict[str, dict[str, Any]]]:
    with open(INDEX, encoding="utf-8") as f:
        index: dict[str, dict[str, Any]] = json.load(f)
    by_subdir: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in SUBDIRS}
    for fn, rec in index.items():
        by_subdir[rec.get("subdir") or PLATFORM][fn] = {
            **rec,
            "subdir": rec.get("subdir") or PLATFORM,
        }
    return by_subdir


def grow(real: dict[str, dict[str, Any]], target: int, seed: int) -> dict[str, dict[str, Any]]:
    """``real`` plus copies under new names until there are ``target`` records."""
    rng = random.Random(seed)
    out = dict(real)
    seeds = list(real.values())
    k = 0
    while len(out) < target:
        rec = dict(rng.choice(seeds))
        k += 1
        rec["name"] = f"{rec['name']}-syn{k % 997}"
        ext = ".conda" if k % 2 else ".tar.bz2"
        fn = f"{rec['name']}-{rec['version']}-{rec['build']}{ext}"
        if fn not in out:
            out[fn] = rec
    return out


def write_repodata(channel: Path, subdir: str, records: dict[str, dict[str, Any]]) -> int:
    doc = {
        "info": {"subdir": subdir},
        "packages": {fn: r for fn, r in records.items() if fn.endswith(".tar.bz2")},
        "packages.conda": {fn: r for fn, r in records.items() if fn.endswith(".conda")},
        "repodata_version": 1,
    }
    data = json.dumps(doc, indent=2, sort_keys=True).encode()
    (channel / subdir).mkdir(parents=True, exist_ok=True)
    (channel / subdir / "repodata.json").write_bytes(data)
    (channel / subdir / "repodata.json.zst").write_bytes(zstd.compress(data, level=3))
    return len(data)


def solve_locally(channel: Path, specs: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(subdir, fn)`` of every package the environment needs (bare py-rattler)."""
    script = BARE.replace(
        "print(len(records))", "print([(x.subdir, x.file_name) for x in records])"
    )
    code = script.format(
        src=str(ROOT / "src"), platform=PLATFORM, url=channel.as_uri(), specs=list(specs),
        cache=str(channel.parent / "local-gateway"),
    )  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [tuple(x) for x in eval(out.stdout)]


def add_archives(channel: Path, records: dict[str, dict[str, dict[str, Any]]], needed) -> None:
    """Small real archives for the needed packages; their entries get the real hashes."""
    import hashlib

    for subdir, fn in needed:
        rec = records[subdir][fn]
        fmt = ".conda" if fn.endswith(".conda") else ".tar.bz2"
        pkg = Pkg(rec["name"], rec["version"], rec["build"], subdir=subdir, fmt=fmt)
        data = archive_bytes(pkg)
        (channel / subdir / fn).write_bytes(data)
        rec.update(
            sha256=hashlib.sha256(data).hexdigest(), md5=hashlib.md5(data).hexdigest(),
            size=len(data),
        )  # fmt: skip


# ------------------------------------------------------------------ the commands

TIMED_OUT = 124  # the exit status of coreutils' timeout(1)


def bare(url: str, specs: tuple[str, ...], cache: Path) -> Run:
    code = BARE.format(
        src=str(ROOT / "src"), platform=PLATFORM, url=url, specs=list(specs), cache=str(cache)
    )
    run = measured([sys.executable, "-c", code], cache.parent, child_env())
    if run.returncode:
        sys.exit(f"bare solve failed:\n{run.stderr}")
    return run


def ours(cmd: str, env: Path, cache: Path, out: Path, *extra: str) -> Run:
    argv = [
        sys.executable,
        "-m",
        "conda_vendor_plugin",
        cmd,
        "-f",
        str(env),
        "--platform",
        PLATFORM,
    ]
    argv += ["--cache-dir", str(cache), "-o", str(out), "--json", *extra]
    shutil.rmtree(out, ignore_errors=True)
    run = measured(argv, env.parent, child_env())
    if run.returncode:
        sys.exit(f"{cmd} failed ({run.returncode}):\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
    return run


def med(runs: list[Run]) -> tuple[float, float]:
    """Median seconds and median peak RSS (MiB)."""
    return statistics.median(r.seconds for r in runs), statistics.median(
        r.max_rss_kib / 1024 for r in runs
    )


def bench_env(label: str, specs, url: str, work: Path, repeat: int, profile: bool) -> dict:
    env = work / f"{label}.yml"
    env.write_text(
        "channels:\n  - " + url + "\n  - nodefaults\ndependencies:\n"
        + "".join(f'  - "{s}"\n' for s in specs)
    )  # fmt: skip
    kinds = ("bare cold", "bare warm", "lock cold", "lock warm", "vendor", "curl")
    runs: dict[str, list[Run]] = {k: [] for k in kinds}
    n = 0
    for i in range(repeat):
        gw = work / f"gw-{label}-{i}"
        runs["bare cold"].append(bare(url, specs, gw))
        runs["bare warm"].append(bare(url, specs, gw))
        cache = work / f"cache-{label}-{i}"
        runs["lock cold"].append(ours("lock", env, cache, work / f"{label}.lock.yml"))
        runs["lock warm"].append(ours("lock", env, cache, work / f"{label}.lock.yml"))
        v = ours("vendor", env, cache, work / f"out-{label}")
        runs["vendor"].append(v)
        result = json.loads(v.stdout)
        n = result["packages"]
        urls = [
            (f["url"], "/".join(f["url"].rsplit("/", 2)[-2:]), f["size"])
            for f in _files(work / f"out-{label}")
        ]
        runs["curl"].append(run_curl(urls, work / f"curl-{label}", 8, work))
    print(f"\n{label} environment: {n} packages ({', '.join(specs)})")
    figures = {k: med(v) for k, v in runs.items()}
    for k, (s, rss) in figures.items():
        print(f"  {k:10} {s:7.3f} s   peak RSS {rss:7.1f} MiB")
    lock_cold, lock_warm = figures["lock cold"][0], figures["lock warm"][0]
    ratios = {
        "lock / bare, cold (target <= 1.10)": lock_cold / figures["bare cold"][0],
        "lock / bare, warm (target <= 1.10)": lock_warm / figures["bare warm"][0],
        "vendor / (warm lock + curl) (target <= 1.3)": figures["vendor"][0]
        / (lock_warm + figures["curl"][0]),
        "vendor RSS / lock RSS (target <= 1.2)": figures["vendor"][1] / figures["lock warm"][1],
    }
    for k, r in ratios.items():
        print(f"  {k:45} {r:5.2f}")
    if profile or ratios["vendor / (warm lock + curl) (target <= 1.3)"] > 1.3:
        profile_vendor(env, work / f"cache-{label}-0", work / f"out-{label}")
    return {"packages": n, "figures": figures, "ratios": ratios}


def _files(out: Path) -> list[dict[str, Any]]:
    """The vendored archives with their upstream URLs (from the bundle's manifest)."""
    manifest = json.loads((out / "manifest.json").read_text())
    return [{"url": f["url"], "size": f["size"]} for f in manifest["files"] if f.get("url")]


def profile_vendor(env: Path, cache: Path, out: Path, top: int = 18) -> None:
    shutil.rmtree(out, ignore_errors=True)
    stats = out.parent / "vendor.prof"
    argv = [sys.executable, "-m", "cProfile", "-o", str(stats), "-m", "conda_vendor_plugin"]
    argv += [
        "vendor",
        "-f",
        str(env),
        "--platform",
        PLATFORM,
        "--cache-dir",
        str(cache),
        "-o",
        str(out),
    ]
    subprocess.run(argv, env=child_env(), capture_output=True, check=True)
    import pstats

    print(f"  where one vendor run spends its time (cProfile, cumulative, top {top}):")
    p = pstats.Stats(str(stats))
    p.strip_dirs().sort_stats("cumulative").print_stats(top)


# ------------------------------------------------------------------ inside conda


def conda_environ(root: Path, python_path: str, solver: str) -> dict[str, str]:
    """conda isolated in ``root`` (as tests/support/condarun.py), this checkout first."""
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".condarc").write_text("channels: []\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONDA")}
    env.update(
        HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), CONDARC=str(home / ".condarc"),
        CONDA_PKGS_DIRS=str(root / "pkgs"), CONDA_ENVS_DIRS=str(root / "envs"),
        CONDA_SOLVER=solver, CONDA_OVERRIDE_CUDA="", CONDA_NUMBER_CHANNEL_NOTICES="0",
        CONDA_REPORT_ERRORS="false", CONDA_NOTIFY_OUTDATED_CONDA="false",
        CONDA_AUTO_UPDATE_CONDA="false", NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT / "src"), python_path) if p),
    )  # fmt: skip
    return env


def conda_run(python: str, environ: dict[str, str], cwd: Path, timeout: float, *args) -> Run:
    """``python -m conda ARGS`` under timeout(1): wall time and peak RSS (timeout's child
    is conda; wait4 reports the larger of the two, and timeout itself is ~2 MiB)."""
    argv = ["timeout", str(int(timeout)), python, "-m", "conda", *map(str, args)]
    return measured(argv, cwd, environ)


def bench_conda(label: str, env_file: Path, work: Path, python: str, solver: str,
                timeout: float) -> dict | None:  # fmt: skip
    """``conda env lock`` (cold, warm), ``conda vendor`` and curl: one process each."""
    root = work / f"conda-{solver}-{label}"
    environ = conda_environ(root, os.environ.get("PYTHONPATH", ""), solver)
    lock_out = root / "out.lock.yml"
    lock = ("env", "lock", "-f", env_file, "--platform", PLATFORM, "-o", lock_out, "--json")
    out = root / "bundle"
    print(f"\n{label} environment inside conda ({python}, CONDA_SOLVER={solver}):")
    vendor = ("vendor", env_file, "--platform", PLATFORM, "-o", out, "--json")
    runs: dict[str, Run] = {}
    for kind, args in (("env lock cold", lock), ("env lock warm", lock), ("vendor", vendor)):
        shutil.rmtree(out, ignore_errors=True)
        run = conda_run(python, environ, root, timeout, *args)
        if run.returncode == TIMED_OUT:
            print(f"  {kind:14} stopped after {run.seconds:.0f} s (--conda-timeout {timeout:.0f})")
            return None
        if run.returncode:
            print(f"  {kind:14} FAILED ({run.returncode}): {(run.stderr or run.stdout)[-1500:]}")
            return None
        runs[kind] = run
        print(f"  {kind:14} {run.seconds:7.3f} s   peak RSS {run.max_rss_kib / 1024:7.1f} MiB")
    n = json.loads(runs["vendor"].stdout)["packages"]
    urls = [(f["url"], "/".join(f["url"].rsplit("/", 2)[-2:]), f["size"]) for f in _files(out)]
    curl = runs["curl"] = run_curl(urls, root / "curl", 8, root)
    print(f"  {'curl':14} {curl.seconds:7.3f} s   peak RSS {curl.max_rss_kib / 1024:7.1f} MiB")
    warm, vendor = runs["env lock warm"], runs["vendor"]
    ratios = {
        "vendor / (warm env lock + curl) (target <= 1.3)": vendor.seconds
        / (warm.seconds + runs["curl"].seconds),
        "vendor RSS / env lock RSS (target <= 1.2)": vendor.max_rss_kib / warm.max_rss_kib,
    }
    print(f"  ({n} packages)")
    for k, r in ratios.items():
        print(f"  {k:49} {r:5.2f}")
    return {"packages": n, "runs": runs, "ratios": ratios}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=50_000, help="linux-64 records")
    ap.add_argument("--noarch", type=int, help="noarch records (default: 30%% of --records)")
    ap.add_argument("--latency", type=float, default=0.02, help="seconds added per request")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--envs", default="small,large", help="small, large or both")
    ap.add_argument("--conda-python", help="a Python with conda: add the inside-conda rows")
    ap.add_argument("--conda-solvers", default="rattler", help="CONDA_SOLVER values (a,b)")
    ap.add_argument("--conda-timeout", type=float, default=600, help="seconds per conda command")
    args = ap.parse_args(argv)
    if not INDEX.is_file():
        print(f"skipped: {INDEX} is not present")
        return 0
    noarch = args.noarch if args.noarch is not None else int(args.records * 0.3)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        work = Path(tmp)
        channel = work / "served" / "big"
        t0 = time.perf_counter()
        seeds = seed_records()
        records = {PLATFORM: grow(seeds[PLATFORM], args.records, 1),
                   "noarch": grow(seeds["noarch"], noarch, 2)}  # fmt: skip
        for subdir in SUBDIRS:
            write_repodata(channel, subdir, records[subdir])
        needed = set()
        for label in args.envs.split(","):
            needed |= set(solve_locally(channel, ENVIRONMENTS[label]))
        add_archives(channel, records, sorted(needed))
        sizes = {s: write_repodata(channel, s, records[s]) for s in SUBDIRS}
        print(
            f"channel: {len(records[PLATFORM])} linux-64 + {len(records['noarch'])} noarch records"
            f" (repodata.json {sizes[PLATFORM] / 2**20:.0f} + {sizes['noarch'] / 2**20:.0f} MiB),"
            f" {len(needed)} archives; built in {time.perf_counter() - t0:.0f} s"
        )
        print(f"latency {args.latency * 1000:.0f} ms per request, {args.repeat} runs each, medians")
        with ChannelServer(work / "served", latency=args.latency) as srv:
            url = f"{srv.url}/big"
            for label in args.envs.split(","):
                bench_env(label, ENVIRONMENTS[label], url, work, args.repeat, args.profile)
            solvers = args.conda_solvers.split(",") if args.conda_python else []
            for solver in filter(None, solvers):
                for label in args.envs.split(","):
                    env_file = work / f"{label}.yml"
                    bench_conda(label, env_file, work, args.conda_python, solver,
                                args.conda_timeout)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
