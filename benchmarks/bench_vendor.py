"""Benchmark: ``vendor`` downloads against ``curl --parallel`` fetching the same files.

Run from anywhere as ``python benchmarks/bench_vendor.py [--packages 300]
[--total-mb 200] [--latency 0.02] [--jobs 8] [--repeat 3] [--profile]``.

Set-up (all in one temporary directory, removed at the end):

* channel ``main``: ``--packages`` packages (about a third noarch, the rest linux-64)
  whose incompressible payloads add up to ``--total-mb`` MB; sizes are spread
  log-normally, plus a few large ones of 10-20 MB. Built with ``tests/support/build.py``
  (real archives, real sha256/md5/size in the repodata). An environment file lists
  every package, so the solve selects them all.
* channel ``scale``: ``--scale-count`` packages of ``--scale-mb`` MB (``small000``...)
  and as many at ten times that size (``large000``...), with one environment file each.
* both served by ``tests/support/server.py``'s ``ChannelServer`` on 127.0.0.1 with
  ``--latency`` seconds added to every request (one server, in this process).

Measured (each a subprocess: wall time, its own peak RSS and CPU time taken by GNU
``time`` or a small wrapper, and the CPU time the in-process server spent meanwhile):

* ``python -m conda_vendor_plugin vendor ENV --dry-run`` twice: cold (fills the
  repodata cache) and warm (interpreter start, imports, 304 revalidation, solve).
* ``python -m conda_vendor_plugin vendor ENV -o OUT --platform linux-64 --jobs J`` into a
  fresh OUT with the warm repodata cache: the whole command a user runs.
* ``curl --parallel --parallel-immediate --parallel-max J -K cfg``: the same URLs
  into a fresh directory (no hashing, no solve: a lower bound for the transfer).
* the two ``scale`` environments: peak RSS must not grow with package size.

Targets: vendor / curl <= 1.3 (printed for the whole command and for the command
minus the warm dry run, i.e. the download part), and peak RSS of the large run
about equal to that of the small run.

Then one more vendor run with the phases of ``run_vendor`` timed in-process (the
functions it calls are wrapped from a driver script; nothing in ``src`` changes).
``--profile`` (or a missed time target) runs the vendor command once more under
py-spy (all threads, wall clock; ``pip install py-spy``) or else cProfile (main
thread only) and prints where the time goes, by line of ``run_vendor`` for the main
thread and by line of ``Downloader._attempt`` for the download threads.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.build import Pkg, build_channel  # noqa: E402
from tests.support.server import ChannelServer  # noqa: E402

PLATFORM = "linux-64"
MB = 1_000_000
TARGET_RATIO = 1.3
RSS_TOLERANCE = 1.15  # large/small peak RSS above this counts as "grows with size"


# ------------------------------------------------------------------ channels


def main_sizes(count: int, total: int, seed: int = 0) -> list[int]:
    """Payload sizes: a few large ones (10-20 MB, capped by ``total``), the rest spread
    log-normally; the sum is ``total`` bytes (give or take rounding)."""
    rng = random.Random(seed)
    n_large = max(1, count // 75) if count >= 10 else 0
    large = [int((20 - 10 * i / max(1, n_large - 1)) * MB) for i in range(n_large)]
    if sum(large) > 0.4 * total:  # keep most of the bytes in ordinary packages
        large = [int(s * 0.4 * total / sum(large)) for s in large]
    rest = count - n_large
    weights = [math.exp(rng.gauss(0, 1.2)) for _ in range(rest)]
    budget = total - sum(large)
    small = [max(1024, int(budget * w / sum(weights))) for w in weights]
    return large + small


def make_main_pkgs(count: int, total: int, fmt: str) -> list[Pkg]:
    pkgs = []
    for i, size in enumerate(main_sizes(count, total)):
        subdir = "noarch" if i % 3 == 0 else PLATFORM
        # a little dependency structure, so the solver has something to do
        depends = [f"pkg{(i - 1) // 2:04d}"] if i else []
        pkgs.append(Pkg(f"pkg{i:04d}", subdir=subdir, depends=depends, fmt=fmt, payload_size=size))
    return pkgs


def make_scale_pkgs(count: int, size: int, fmt: str) -> tuple[list[Pkg], list[Pkg]]:
    small = [
        Pkg(f"small{i:03d}", subdir=PLATFORM, fmt=fmt, payload_size=size) for i in range(count)
    ]
    large = [
        Pkg(f"large{i:03d}", subdir=PLATFORM, fmt=fmt, payload_size=10 * size) for i in range(count)
    ]
    return small, large


def write_env(path: Path, channel_url: str, names: list[str]) -> Path:
    lines = ["name: bench", "channels:", f"  - {channel_url}", "  - nodefaults", "dependencies:"]
    lines += [f"  - {n}" for n in names]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def archive_urls(channel_dir: Path, base_url: str) -> list[tuple[str, str, int]]:
    """``(url, relative path, size)`` of every archive in the channel's repodata."""
    out = []
    for subdir in sorted(p.name for p in channel_dir.iterdir() if p.is_dir()):
        doc = json.loads((channel_dir / subdir / "repodata.json").read_text())
        for section in ("packages", "packages.conda"):
            for fn, rec in sorted(doc.get(section, {}).items()):
                out.append((f"{base_url}/{subdir}/{fn}", f"{subdir}/{fn}", rec["size"]))
    return out


# ------------------------------------------------------------------ measuring


@dataclass
class Run:
    seconds: float
    max_rss_kib: int  # of the measured command alone
    cpu_seconds: float  # of the measured command (user + system)
    server_cpu: float  # of this process meanwhile: the HTTP server's threads
    returncode: int
    stdout: str
    stderr: str


# Peak RSS must be taken from a process forked by something small: Linux carries the
# parent's high-water mark into a forked child (and across exec), so wait4() on a child
# of this (large) process would report our own RSS. GNU time forks from ~1 MiB; the
# fallback wrapper from ~11 MiB (python -S), which is still far below the vendor's.
_WRAPPER = """
import json, os, subprocess, sys
p = subprocess.Popen(sys.argv[2:])
_, status, ru = os.wait4(p.pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump([ru.ru_maxrss, ru.ru_utime + ru.ru_stime], f)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _gnu_time() -> str | None:
    path = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    if not path:
        return None
    r = subprocess.run([path, "-f", "%M", "true"], capture_output=True, text=True)
    return path if r.returncode == 0 and r.stderr.strip().isdigit() else None


GNU_TIME = _gnu_time()


def measured(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run ``cmd``: wall time, its own peak RSS and CPU time, and the server's CPU time."""
    with tempfile.TemporaryDirectory() as tmp:
        usage_file = Path(tmp) / "usage"
        if GNU_TIME:
            full = [GNU_TIME, "-f", "%M %U %S", "-o", str(usage_file), *cmd]
        else:
            full = [sys.executable, "-S", "-c", _WRAPPER, str(usage_file), *cmd]
        cpu0 = time.process_time()
        started = time.perf_counter()
        proc = subprocess.run(full, cwd=cwd, env=env, capture_output=True)
        seconds = time.perf_counter() - started
        server_cpu = time.process_time() - cpu0
        text = usage_file.read_text() if usage_file.exists() else ""
        if not text.strip():
            max_rss, cpu = 0, 0.0
        elif GNU_TIME:
            # GNU time prefixes a line when the command fails; the figures are the last line
            rss, user, system = text.strip().splitlines()[-1].split()
            max_rss, cpu = int(rss), float(user) + float(system)
        else:
            max_rss, cpu = json.loads(text)
    return Run(
        seconds=seconds,
        max_rss_kib=max_rss,
        cpu_seconds=cpu,
        server_cpu=server_cpu,
        returncode=proc.returncode,
        stdout=proc.stdout.decode(errors="replace"),
        stderr=proc.stderr.decode(errors="replace"),
    )


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CONDA_PKGS_DIRS", None)  # no package cache: every archive is downloaded
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p
    )
    return env


def vendor_cmd(env_file: Path, out: Path, jobs: int, cache: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "conda_vendor_plugin",
        "vendor",
        str(env_file),
        "-o",
        str(out),
        "--platform",
        PLATFORM,
        "--jobs",
        str(jobs),
        "--cache-dir",
        str(cache),
        "--json",
        *extra,
    ]


def run_vendor(env_file: Path, out: Path, jobs: int, cache: Path, *extra: str) -> Run:
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(out.parent / f".{out.name}.staging", ignore_errors=True)
    run = measured(vendor_cmd(env_file, out, jobs, cache, *extra), out.parent, child_env())
    if run.returncode != 0:
        sys.exit(f"vendor failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    return run


def run_curl(urls: list[tuple[str, str, int]], dest: Path, jobs: int, work: Path) -> Run:
    shutil.rmtree(dest, ignore_errors=True)
    cfg = work / "curl.cfg"
    lines = ["create-dirs", "fail", "silent", "show-error"]
    for url, rel, _ in urls:
        lines += [f'url = "{url}"', f'output = "{dest / rel}"']
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cmd = [
        "curl",
        "--parallel",
        "--parallel-immediate",
        "--parallel-max",
        str(jobs),
        "-K",
        str(cfg),
    ]
    run = measured(cmd, work)
    if run.returncode != 0:
        sys.exit(f"curl failed ({run.returncode}):\n{run.stderr}")
    bad = [rel for _, rel, size in urls if (dest / rel).stat().st_size != size]
    if bad:
        sys.exit(f"curl fetched {len(bad)} files of the wrong size, e.g. {bad[0]}")
    return run


def curl_version() -> str | None:
    try:
        r = subprocess.run(["curl", "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return " ".join(r.stdout.split()[:2]) or "curl"


# ------------------------------------------------------------------ phases

# Runs the CLI in a child with the functions run_vendor calls wrapped in timers (by
# replacing the step functions in conda_vendor_plugin.vendor and .bundle.staging; src is
# not touched).
# Nested calls are not double counted: only the names run_vendor itself calls are
# wrapped, and the one nested step shown (the SBOM) is labelled "of which" and left out of
# the sum. A name a refactor removed is reported, not fatal. Prints {"phase": seconds}
# as the last line of stderr.
_PHASES_DRIVER = """
import json, sys, time
t0 = time.perf_counter()
from conda_vendor_plugin import cli, vendor
from conda_vendor_plugin.bundle import assemble, staging
spent = {"start-up + imports": time.perf_counter() - t0}
def timed(label, fn):
    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - t
    return wrapper
steps = [
    (vendor, ("_settle", "fetch", "write_outputs")),
    (staging, ("check_output", "make_staging", "prune", "seed_from_previous",
               "check_free_space", "swap_into_place")),
]
for module, names in steps:
    for name in names:
        if not hasattr(module, name):
            print(f"(no {module.__name__}.{name} to time)", file=sys.stderr)
            continue
        label = "solve and plan (_settle)" if name == "_settle" else name
        setattr(module, name, timed(label, getattr(module, name)))
assemble.write_sbom = timed("  of which the SBOM (in write_outputs)", assemble.write_sbom)
run = vendor.run_vendor
vendor.run_vendor = timed("run_vendor (total)", run)
t1 = time.perf_counter()
rc = cli.main(sys.argv[1:])
spent["after import: cli.main (total)"] = time.perf_counter() - t1
print(json.dumps(spent), file=sys.stderr)
sys.exit(rc)
"""


def phase_timings(env_file: Path, out: Path, jobs: int, cache: Path) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(out.parent / f".{out.name}.staging", ignore_errors=True)
    cmd = vendor_cmd(env_file, out, jobs, cache)
    cmd = [sys.executable, "-c", _PHASES_DRIVER, *cmd[3:]]
    r = subprocess.run(cmd, cwd=out.parent, env=child_env(), capture_output=True, text=True)
    if r.returncode != 0:
        print(f"(phase timing run failed: {r.stderr.strip()[-300:]})")
        return {}
    return json.loads(r.stderr.strip().splitlines()[-1])


def print_phases(spent: dict[str, float]) -> None:
    total = spent.pop("run_vendor (total)", 0.0)
    outer = spent.pop("after import: cli.main (total)", 0.0)
    startup = spent.pop("start-up + imports", 0.0)
    print("where the vendor command's time goes (one extra run, phases timed in-process):")
    print(f"  {startup:6.3f}s  interpreter start-up + imports of conda_vendor_plugin")
    print(f"  {outer - total:6.3f}s  CLI outside run_vendor (backend set-up, rattler import)")
    for label, sec in sorted(spent.items(), key=lambda kv: ("of which" in kv[0], -kv[1])):
        if sec >= 0.0005:
            print(f"  {sec:6.3f}s  {label}")
    rest = total - sum(sec for label, sec in spent.items() if "of which" not in label)
    print(f"  {rest:6.3f}s  rest of run_vendor (mkdir, summary, ...)")
    print(f"  {startup + outer:6.3f}s  total (interpreter start not counted)")


# ------------------------------------------------------------------ profiling


def profile_vendor(env_file: Path, out: Path, jobs: int, cache: Path, work: Path) -> None:
    """One more vendor run under py-spy (all threads, wall clock) or else cProfile."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(out.parent / f".{out.name}.staging", ignore_errors=True)
    bindir = str(Path(sys.executable).parent)
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=bindir)
    cmd = vendor_cmd(env_file, out, jobs, cache)
    if py_spy:
        raw = work / "profile.txt"
        rate = 200
        prof = [py_spy, "record", "-r", str(rate), "--threads", "--idle", "-f", "raw"]
        prof += ["-o", str(raw), "--", *cmd]
        r = subprocess.run(prof, cwd=work, env=child_env(), capture_output=True, text=True)
        if r.returncode == 0 and raw.exists():
            summarise_py_spy(raw, rate)
            return
        print(f"(py-spy failed: {r.stderr.strip()[-300:]}; falling back to cProfile)")
    else:
        print("(py-spy not found: pip install py-spy for a view of the download threads)")
    stats = work / "profile.pstats"
    cmd = [sys.executable, "-m", "cProfile", "-o", str(stats), *cmd[1:]]
    subprocess.run(cmd, cwd=work, env=child_env(), capture_output=True, check=True)
    import pstats

    print("cProfile (main thread only; download threads are not seen):")
    pstats.Stats(str(stats)).sort_stats("cumulative").print_stats(25)


def _callee_of(frames: list[str], caller: str) -> str | None:
    """``caller (file:line) -> callee`` for the innermost frame named ``caller``."""
    for i in range(len(frames) - 1, -1, -1):
        if frames[i].startswith(caller + " ("):
            below = frames[i + 1].split(" (")[0] if i + 1 < len(frames) else "(self)"
            return f"{frames[i]} -> {below}"
    return None


def summarise_py_spy(path: Path, rate: int, top: int = 14) -> None:
    """Wall-clock breakdown from py-spy's raw stacks (``--threads --idle``).

    Main thread: by the line of ``run_vendor`` it was in (and the callee), so each
    phase (solve, waiting for downloads, writing repodata, manifest...) gets seconds.
    Download threads: by the line of ``Downloader._attempt`` (request and wait for the
    headers, reading the body, writing, hashing) and what was below it.
    """
    main: dict[str, int] = {}
    workers: dict[str, int] = {}
    worker_leaf: dict[str, int] = {}
    threads: dict[str, str] = {}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        parts = stack.split(";")
        tid = next((f for f in parts if f.startswith("thread ")), "?")
        frames = [f for f in parts if not f.startswith(("process ", "thread "))]
        if any(f.startswith("_run_module_as_main") for f in frames):
            threads[tid] = "main"
            key = _callee_of(frames, "run_vendor") or "(outside run_vendor: start-up, imports, CLI)"
            main[key] = main.get(key, 0) + n
        elif any(f.startswith("_worker (") and "concurrent/futures" in f for f in frames):
            threads[tid] = "worker"
            key = _callee_of(frames, "Downloader._attempt") or (
                "(idle in the thread pool)"
                if not any(f.startswith("Downloader.") for f in frames)
                else _callee_of(frames, "Downloader.fetch") or "Downloader (other)"
            )
            workers[key] = workers.get(key, 0) + n
            if frames:
                worker_leaf[frames[-1]] = worker_leaf.get(frames[-1], 0) + n
    n_workers = sum(1 for k in threads.values() if k == "worker")
    for title, table in (
        ("main thread (wall clock)", main),
        (f"download threads ({n_workers} threads, thread-seconds)", workers),
        ("download threads, innermost frame", worker_leaf),
    ):
        total = sum(table.values()) or 1
        print(f"  {title}: {total / rate:.2f}s")
        for key, n in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            print(f"    {n / rate:6.2f}s {100 * n / total:5.1f}%  {key}")


# ------------------------------------------------------------------ main


def mb(n: float) -> str:
    return f"{n / MB:.1f} MB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packages", type=int, default=300)
    ap.add_argument("--total-mb", type=float, default=200)
    ap.add_argument("--latency", type=float, default=0.02, help="seconds added per request")
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3, help="timed vendor/curl pairs (median)")
    ap.add_argument("--scale-count", type=int, default=16, help="packages in each scale run")
    ap.add_argument("--scale-mb", type=float, default=1.0, help="payload of a small package")
    ap.add_argument("--format", choices=(".conda", ".tar.bz2"), default=".conda")
    ap.add_argument("--profile", action="store_true", help="profile one vendor run regardless")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args(argv)
    if args.format == ".conda":
        try:
            import zstandard  # noqa: F401
        except ImportError:
            print("(zstandard missing: building .tar.bz2 archives, which is slower)")
            args.format = ".tar.bz2"

    work = Path(tempfile.mkdtemp(prefix="bench-vendor-"))
    try:
        return bench(args, work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def bench(args: argparse.Namespace, work: Path) -> int:
    t0 = time.perf_counter()
    serve_root = work / "serve"
    main_pkgs = make_main_pkgs(args.packages, int(args.total_mb * MB), args.format)
    small, large = make_scale_pkgs(args.scale_count, int(args.scale_mb * MB), args.format)
    build_channel(serve_root / "main", main_pkgs, subdirs=(PLATFORM,))
    build_channel(serve_root / "scale", small + large, subdirs=(PLATFORM,))
    built = time.perf_counter() - t0
    payloads = sorted((p.payload_size for p in main_pkgs), reverse=True)
    print(
        f"built channels in {built:.1f}s ({args.format}): main {len(main_pkgs)} packages, "
        f"largest {', '.join(mb(s) for s in payloads[:4])}, "
        f"median {mb(statistics.median(payloads))}"
    )

    cache = work / "cache"
    curl = curl_version()
    with ChannelServer(serve_root, latency=args.latency) as server:
        base = server.url
        env_main = write_env(work / "main.yml", f"{base}/main", [p.name for p in main_pkgs])
        env_small = write_env(work / "small.yml", f"{base}/scale", [p.name for p in small])
        env_large = write_env(work / "large.yml", f"{base}/scale", [p.name for p in large])
        urls = archive_urls(serve_root / "main", f"{base}/main")
        n_bytes = sum(size for _, _, size in urls)

        # solve alone: cold (fills the repodata cache), then warm
        cold = run_vendor(env_main, work / "out-dry", args.jobs, cache, "--dry-run")
        dry = run_vendor(env_main, work / "out-dry", args.jobs, cache, "--dry-run")
        planned = json.loads(dry.stdout)
        if planned["packages"] != len(urls) or planned["bytes"] != n_bytes:
            sys.exit(f"solve selected {planned['packages']} packages, expected {len(urls)}")

        vendor_runs: list[Run] = []
        curl_runs: list[Run] = []
        inner: list[float] = []
        for _ in range(max(1, args.repeat)):
            v = run_vendor(env_main, work / "out", args.jobs, cache)
            summary = json.loads(v.stdout)
            if summary["fetched_bytes"] != n_bytes or summary["archives"] != {
                "downloaded": len(urls)
            }:
                sys.exit(f"vendor did not download everything: {summary['archives']}")
            vendor_runs.append(v)
            inner.append(summary["seconds"])
            if curl:
                curl_runs.append(run_curl(urls, work / "curl-out", args.jobs, work))

        # peak RSS against package size
        scale_small = run_vendor(env_small, work / "out-small", args.jobs, cache)
        scale_large = run_vendor(env_large, work / "out-large", args.jobs, cache)
        small_bytes = json.loads(scale_small.stdout)["bytes"]
        large_bytes = json.loads(scale_large.stdout)["bytes"]
        dry_scale = run_vendor(env_large, work / "out-dry", args.jobs, cache, "--dry-run")

        def med(runs: list[Run]) -> Run:
            return sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]

        v = med(vendor_runs)
        print()
        print(
            f"channel: {len(urls)} packages, {mb(n_bytes)} archives; server latency "
            f"{args.latency * 1000:.0f} ms/request; --jobs {args.jobs}; {os.cpu_count()} CPUs; "
            f"median of {len(vendor_runs)} run(s)"
        )
        print(
            f"{'':34} {'seconds':>8} {'MB/s':>8} {'CPU s':>7} {'peak RSS':>11} {'server CPU s':>13}"
        )

        def row(label: str, r: Run, nbytes: int | None = n_bytes) -> None:
            rate = f"{nbytes / MB / r.seconds:8.1f}" if nbytes else f"{'':>8}"
            print(
                f"{label:34} {r.seconds:8.2f} {rate} {r.cpu_seconds:7.2f} "
                f"{r.max_rss_kib / 1024:7.1f} MiB {r.server_cpu:13.2f}"
            )

        row("vendor --dry-run, cold cache", cold, None)
        row("vendor --dry-run, warm (solve)", dry, None)
        row("vendor (whole command)", v)
        download_part = v.seconds - dry.seconds
        print(
            f"{'  of which download+write':34} {download_part:8.2f} "
            f"{n_bytes / MB / download_part:8.1f}   (whole - warm dry run; in-process "
            f"run_vendor: {statistics.median(inner):.2f}s)"
        )
        if curl:
            c = med(curl_runs)
            row("curl --parallel", c)
            ratio = v.seconds / c.seconds
            ratio_dl = download_part / c.seconds
            verdict = "OK" if ratio <= TARGET_RATIO else "MISSED"
            print(
                f"ratio vendor/curl: {ratio:.2f}x whole command, {ratio_dl:.2f}x download part "
                f"(target <= {TARGET_RATIO}x: {verdict}) [{curl}]"
            )
            if len(vendor_runs) > 1:
                print(
                    "  all runs (s): vendor "
                    + ", ".join(f"{r.seconds:.2f}" for r in vendor_runs)
                    + "; curl "
                    + ", ".join(f"{r.seconds:.2f}" for r in curl_runs)
                )
        else:
            ratio = 0.0
            print("curl: not found (curl --version failed); comparison skipped")

        print()
        print(
            f"peak RSS against package size ({args.scale_count} packages each, --jobs {args.jobs}):"
        )
        row(
            f"  small: {args.scale_count} x {mb(small_bytes / args.scale_count)}",
            scale_small,
            small_bytes,
        )
        row(
            f"  large: {args.scale_count} x {mb(large_bytes / args.scale_count)}",
            scale_large,
            large_bytes,
        )
        row("  large, --dry-run (no download)", dry_scale, None)
        rss_ratio = scale_large.max_rss_kib / scale_small.max_rss_kib
        growth = (scale_large.max_rss_kib - scale_small.max_rss_kib) / 1024
        print(
            f"  RSS large/small: {rss_ratio:.2f}x ({growth:+.1f} MiB for "
            f"{(large_bytes - small_bytes) / args.scale_count / MB:.1f} MB more per package); "
            f"main run: {v.max_rss_kib / 1024:.1f} MiB with a {mb(payloads[0])} package: "
            f"{'flat' if rss_ratio <= RSS_TOLERANCE else 'GROWS with package size'}"
        )
        print()
        print_phases(phase_timings(env_main, work / "out-phases", args.jobs, cache))
        print(f"\ntotal benchmark time {time.perf_counter() - t0:.1f}s")

        if args.profile or (curl and ratio > TARGET_RATIO):
            print("\nprofiling one vendor run of the main channel:")
            profile_vendor(env_main, work / "out-prof", args.jobs, cache, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
