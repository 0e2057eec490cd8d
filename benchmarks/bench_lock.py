"""Benchmark: ``lock`` (the whole pipeline) against the bare solve it wraps.

Run from anywhere as ``python benchmarks/bench_lock.py [--repeat N] [--no-http] [--profile]``.

Data: the real Anaconda ``defaults`` snapshot (linux-64 + noarch, 2018-08) from
``../shared/testdata/repodata`` (relative to the repository root). That file is in
the old ``filename -> record`` form; it is converted once into a temporary channel
(``linux-64/repodata.json`` and ``noarch/repodata.json``, split by each record's
``subdir``) that both sides read.

* bare solve: ``SparseRepoData`` over the two files + ``solve_with_sparse_repodata``
  with the virtual packages the plugin offers for linux-64 (what
  :func:`conda_vendor_plugin.solve.virtual.virtual_packages` returns) and strict channel
  priority, exactly as :mod:`conda_vendor_plugin.solve.rattler` calls it.
* lock: ``conda_vendor_plugin.cli.main(["lock", ...])`` in-process: reading and
  hashing the environment file, fetching repodata, solving, install ordering and
  writing the explicit-1.0 lockfile. Channels: a ``file://`` URL (repodata read in
  place), and the same channel over a loopback HTTP server from
  ``tests/support/server.py`` (cold: an empty cache each run, so the repodata is
  downloaded; warm: a kept cache, so a 304 revalidation).
* conda mode (when conda is importable by ``--conda-python``, by default the Python
  running this script): ``python -m conda env lock`` against ``python -m conda create
  --dry-run --json`` for the same specs, channel and platform, one process each (what a
  conda user runs and waits for), for every solver backend in ``--conda-solvers``. Both
  pay conda's start-up and the same solver. ``create --dry-run`` also plans and prints a
  transaction, which ``env lock`` does not, so a negative figure means locking costs the
  user less than conda's own dry run, not that the plugin's work is free.

Process level (#11: "the lock process costs at most 30 ms more than a bare solve process
on a warm cache"; ``--process-repeat``, 0 to skip): ``python -m conda_vendor_plugin lock``
as a whole process (``file://`` channel, and the loopback HTTP channel with a warm cache)
against a ``python -c`` process that imports py-rattler and runs the bare solve above (the
virtual packages computed here and passed in as literals). Wall time of each process, one
warm-up each, interleaved rounds; the figure is the median over the rounds of (lock
process - bare process) in the same round.

Every variant gets one untimed warm-up run (imports, page cache); the timed runs are
interleaved (bare, lock, lock, ... then again) so that drift in machine speed hits
every variant alike. Target: overhead < 10%, where overhead is the median, over the
rounds, of lock's time minus the bare solve's time in the same round, divided by the
bare solve's median time (pairing the runs of a round cancels drift in machine speed).
When a variant misses it, a per-step breakdown (file:// channel) and a cProfile of one
run of the first variant that missed are printed (``--profile``: of every variant).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = ROOT.parent / "shared" / "testdata"
if not TESTDATA.is_dir():  # a git worktree at <project>/wt/<name>
    TESTDATA = ROOT.parents[1] / "shared" / "testdata"
INDEX = TESTDATA / "repodata" / "anaconda-defaults_linux-64+noarch_2018-08.index.json"
PLATFORM = "linux-64"
SUBDIRS = (PLATFORM, "noarch")
TARGET = 10.0  # percent
PROCESS_TARGET_MS = 30.0

BARE_PROCESS = """
import asyncio, rattler as r
channel = r.Channel({uri!r})
sources = [r.SparseRepoData(channel, s, {root!r} + "/" + s + "/repodata.json") for s in {subdirs!r}]
bs = getattr(r, "BuildString", str)
vp = [r.GenericVirtualPackage(r.PackageName(n), r.Version(v), bs(b)) for n, v, b in {vpkgs!r}]
records = asyncio.run(r.solve_with_sparse_repodata({specs!r}, sources, virtual_packages=vp,
    channel_priority=r.ChannelPriority.Strict, add_pip_as_python_dependency=True))
print(len(records))
"""

# A data-science + R + build-tools environment: 320 packages from the 2018 snapshot
# (the snapshot has no 'anaconda' metapackage; r-essentials alone brings ~180).
SPECS = (
    "python 3.6.*",
    "r-essentials",
    "jupyter",
    "pandas",
    "matplotlib",
    "scipy",
    "bokeh",
    "dask",
    "distributed",
    "conda-build",
    "sphinx",
)


@dataclass
class Variant:
    label: str
    run: Callable[[], int]  # returns the package count (or bytes, for the reference)
    is_lock: bool = True
    times: list[float] = field(default_factory=list)
    count: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.times)


# ------------------------------------------------------------------ set-up


def make_channel(index: Path, dest: Path) -> dict[str, int]:
    """Write ``dest/<subdir>/repodata.json`` (modern form) from an old-form index file."""
    with open(index, encoding="utf-8") as f:
        records: dict[str, dict[str, Any]] = json.load(f)
    by_subdir: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in SUBDIRS}
    for fn, rec in records.items():
        # 12 old records carry no 'subdir'; all are linux-64 builds (C libraries, old R).
        subdir = rec.get("subdir") or PLATFORM
        by_subdir.setdefault(subdir, {})[fn] = rec
    counts = {}
    for subdir, recs in by_subdir.items():
        doc = {
            "info": {"subdir": subdir},
            "packages": {fn: r for fn, r in recs.items() if fn.endswith(".tar.bz2")},
            "packages.conda": {fn: r for fn, r in recs.items() if fn.endswith(".conda")},
            "repodata_version": 1,
        }
        (dest / subdir).mkdir(parents=True, exist_ok=True)
        with open(dest / subdir / "repodata.json", "w", encoding="utf-8") as f:
            json.dump(doc, f)
        counts[subdir] = len(recs)
    return counts


def write_env(path: Path, channel: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["name: bench", "channels:", f"  - {channel}", "dependencies:"]
    lines += [f'  - "{s}"' for s in SPECS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextlib.contextmanager
def loopback_server(root: Path) -> Iterator[Any]:
    """tests/support/server.py's ChannelServer, or None (with a note) where it is absent."""
    try:
        sys.path.insert(0, str(ROOT))
        from tests.support.server import ChannelServer

        server = ChannelServer(root)
    except Exception as e:  # tests/ absent or changed: keep the file:// figures
        print(f"(HTTP variants skipped: cannot start tests.support.server: {e})\n")
        yield None
        return
    with server:
        yield server


# ------------------------------------------------------------------ the measured work


def bare_solve(channel_dir: Path) -> int:
    """The solve alone, as py-rattler runs it; returns the number of packages."""
    return len(solve_records(channel_dir))


def solve_records(channel_dir: Path) -> list[Any]:
    """py-rattler's ``RepoDataRecord`` list for :data:`SPECS` (the bare solve)."""
    import rattler as r

    from conda_vendor_plugin.solve.virtual import virtual_packages

    channel = r.Channel(channel_dir.as_uri())
    sources = [r.SparseRepoData(channel, s, channel_dir / s / "repodata.json") for s in SUBDIRS]
    build_string = getattr(r, "BuildString", str)  # a plain str before py-rattler 0.28
    vpkgs = [
        r.GenericVirtualPackage(r.PackageName(v.name), r.Version(v.version), build_string(v.build))
        for v in virtual_packages(PLATFORM)
    ]
    try:
        return asyncio.run(
            r.solve_with_sparse_repodata(
                list(SPECS),
                sources,
                virtual_packages=vpkgs,
                channel_priority=r.ChannelPriority.Strict,
                add_pip_as_python_dependency=True,  # as the plugin (and conda) solve
            )
        )
    finally:
        for s in sources:
            s.close()


def run_lock(env: Path, out: Path, cache_dir: Path) -> int:
    """``lock`` in-process (``--json``, output captured); returns the number of packages."""
    from conda_vendor_plugin.cli import main

    argv = [
        "lock",
        "-f",
        str(env),
        "-o",
        str(out),
        "--platform",
        PLATFORM,
        "--cache-dir",
        str(cache_dir),
    ]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = main([*argv, "--json"])
    if rc != 0:
        raise SystemExit(f"lock failed (exit {rc}):\n{stdout.getvalue()}{stderr.getvalue()}")
    return json.loads(stdout.getvalue())["platforms"][PLATFORM]


def download(channel_url: str, dest: Path) -> int:
    """Fetch both repodata.json files with a plain requests session; returns bytes fetched."""
    from conda_vendor_plugin.transport.session import make_session

    total = 0
    dest.mkdir(parents=True, exist_ok=True)
    with make_session() as session:
        for subdir in SUBDIRS:
            url = f"{channel_url}/{subdir}/repodata.json"
            with session.get(url, stream=True, timeout=(10, 60)) as r:
                r.raise_for_status()
                with open(dest / f"{subdir}.json", "wb") as f:
                    for chunk in r.iter_content(1 << 20):
                        f.write(chunk)
                        total += len(chunk)
    return total


def measure(variants: list[Variant], repeat: int) -> None:
    for v in variants:
        v.count = v.run()  # warm-up, not timed
    for _ in range(repeat):
        for v in variants:
            t0 = time.perf_counter()
            v.count = v.run()
            v.times.append(time.perf_counter() - t0)


# ------------------------------------------------------------------ process level


def process_variant(label: str, argv: list[str], is_lock: bool = True) -> Variant:
    """A whole process as a :class:`Variant`: its package count read from its stdout."""
    path = [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}

    def run() -> int:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
        if proc.returncode:
            raise SystemExit(f"{label} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        out = proc.stdout.strip()
        return json.loads(out)["platforms"][PLATFORM] if is_lock else int(out)

    return Variant(label, run, is_lock=is_lock)


def run_process_level(channel_dir: Path, locks: dict[str, Path], repeat: int) -> None:
    """The lock process against a bare-solve process; ``locks``: label -> environment file
    (each with its own kept cache, so every timed run is a warm one)."""
    from conda_vendor_plugin.solve.virtual import virtual_packages

    vpkgs = [(v.name, str(v.version), v.build) for v in virtual_packages(PLATFORM)]
    code = BARE_PROCESS.format(
        uri=channel_dir.as_uri(), root=str(channel_dir), subdirs=SUBDIRS, vpkgs=vpkgs,
        specs=list(SPECS),
    )  # fmt: skip
    bare = process_variant("bare solve process", [sys.executable, "-c", code], is_lock=False)
    variants = [bare]
    for label, env_file in locks.items():
        d = env_file.parent
        argv = [sys.executable, "-m", "conda_vendor_plugin", "lock", "-f", str(env_file)]
        argv += ["-o", str(d / "proc.lock.yml"), "--platform", PLATFORM, "--json"]
        argv += ["--cache-dir", str(d / "proc-cache")]
        variants.append(process_variant(f"lock process, {label}", argv))
    print()
    print(f"Process level: whole processes ({sys.executable}), {repeat} interleaved rounds,")
    print("1 warm-up each (so every lock run has a warm cache)")
    measure(variants, repeat)
    print(f"{'':34} {'packages':>8} {'median s':>9} {'min s':>7} {'extra ms':>9}")
    print(f"{bare.label:34} {bare.count:>8} {bare.median:>9.3f} {min(bare.times):>7.3f}")
    for v in variants[1:]:
        extra = paired_ms(v, bare)
        verdict = "ok" if extra <= PROCESS_TARGET_MS else "MISSED"
        print(
            f"{v.label:34} {v.count:>8} {v.median:>9.3f} {min(v.times):>7.3f} {extra:>+9.1f}"
            f"  <= {PROCESS_TARGET_MS:.0f} ms: {verdict}"
        )


# ------------------------------------------------------------------ conda mode


def conda_python(option: str | None) -> str | None:
    """The Python to run ``-m conda`` with: ``--conda-python``, else ours if it has conda."""
    if option:
        return option
    import importlib.util

    return sys.executable if importlib.util.find_spec("conda") else None


def conda_environ(root: Path, solver: str) -> dict[str, str]:
    """conda isolated from the user's settings, caches and environments (as the tests do)."""
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    condarc = root / "condarc"
    condarc.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONDA")}
    env.update(
        HOME=str(home),
        CONDARC=str(condarc),
        CONDA_PKGS_DIRS=str(root / "pkgs"),
        CONDA_ENVS_DIRS=str(root / "envs"),
        CONDA_SOLVER=solver,
        CONDA_OVERRIDE_CUDA="",  # no CUDA probe subprocess
        CONDA_NUMBER_CHANNEL_NOTICES="0",
        CONDA_REPORT_ERRORS="false",
        CONDA_NOTIFY_OUTDATED_CONDA="false",
        CONDA_AUTO_UPDATE_CONDA="false",
    )
    return env


def conda_json(python: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    """``python -m conda ARGS`` (``--json``); its parsed output, or exit with what went wrong."""
    proc = subprocess.run(
        [python, "-m", "conda", *args], env=env, capture_output=True, text=True, timeout=600
    )
    try:
        out = json.loads(proc.stdout)
    except json.JSONDecodeError:
        out = None
    if proc.returncode != 0 or not isinstance(out, dict):
        raise SystemExit(
            f"conda {args[0]} failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}"
            f"{proc.stderr[-2000:]}"
        )
    return out


def conda_variants(
    python: str, solver: str, env_file: Path, channel: str, tmp: Path
) -> tuple[Variant, Variant]:
    """The two commands a conda user compares: ``create --dry-run`` and ``env lock``."""
    env = conda_environ(tmp / f"conda-{solver}", solver)
    out = tmp / f"conda-{solver}" / "out.lock.yml"
    create = (
        "create", "--dry-run", "--json", "-n", "bench", "--platform", PLATFORM,
        "--override-channels", "-c", channel, *SPECS,
    )  # fmt: skip
    lock = ("env", "lock", "-f", str(env_file), "--platform", PLATFORM, "-o", str(out), "--json")
    bare = Variant(
        f"conda create --dry-run ({solver})",
        lambda: len(conda_json(python, env, *create)["actions"]["LINK"]),
        is_lock=False,
    )
    locked = Variant(
        f"conda env lock ({solver})",
        lambda: conda_json(python, env, *lock)["platforms"][PLATFORM],
    )
    return bare, locked


def run_conda_mode(
    python: str, solvers: list[str], env_file: Path, channel: str, tmp: Path, repeat: int
) -> None:
    print()
    print(f"conda mode: one process per run ({python} -m conda), {repeat} rounds")
    for solver in solvers:
        bare, locked = conda_variants(python, solver, env_file, channel, tmp)
        try:
            measure([bare, locked], repeat)
        except SystemExit as e:
            print(f"  {solver}: skipped: {str(e).splitlines()[0]}")
            continue
        report(bare, [locked], None)


# ------------------------------------------------------------------ where the time goes


def phases(env: Path, channel_dir: Path, out: Path, repeat: int) -> list[tuple[str, float]]:
    """Median wall time of each step ``lock`` adds around the solve (file:// channel)."""
    from conda_vendor_plugin.formats import explicit_v1
    from conda_vendor_plugin.fsutil import atomic_write_text
    from conda_vendor_plugin.solve import rattler as rattler_backend
    from conda_vendor_plugin.solve.backend import effective_spec, to_lockfile
    from conda_vendor_plugin.solve.order import install_order
    from conda_vendor_plugin.spec import input_hash, load_spec

    backend = rattler_backend.RattlerBackend(cache_dir=out.parent / "cache")
    spec = effective_spec(load_spec(env), [PLATFORM], backend)
    solution = backend.solve(spec, PLATFORM)
    lock = to_lockfile(spec, [solution])
    text = explicit_v1.write(lock)
    records = solve_records(channel_dir)
    n = len(records)
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("load_spec (ruamel.yaml safe load)", lambda: load_spec(env)),
        ("input_hash", lambda: input_hash(spec)),
        ("backend.solve (solve + records + order)", lambda: backend.solve(spec, PLATFORM)),
        ("  of which: bare solve", lambda: bare_solve(channel_dir)),
    ]
    to_locked = getattr(rattler_backend, "_to_locked", None)  # private: may be renamed
    if to_locked is not None:
        steps.append((f"  of which: {n} records -> LockedPackage", lambda: to_locked(records)))
    steps += [
        (f"  of which: install_order ({n} packages)", lambda: install_order(solution.packages)),
        ("explicit_v1.write", lambda: explicit_v1.write(lock)),
        ("atomic_write_text (fsync + rename)", lambda: atomic_write_text(out, text)),
    ]
    result = []
    for label, fn in steps:
        fn()
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        result.append((label, statistics.median(times)))
    return result


def check_lockfile(path: Path, expected: int) -> str:
    """Read the written lockfile back: it must parse and hold every solved package."""
    from conda_vendor_plugin.errors import VendorError
    from conda_vendor_plugin.formats import explicit_v1

    try:
        n = len(explicit_v1.load(path).packages[PLATFORM])
    except VendorError as e:
        return f"lockfile check: FAILED to read back {path.name}: {e}"
    verdict = "ok" if n == expected else f"MISMATCH (bare solve: {expected})"
    return f"lockfile check: {path.name} reads back with {n} {PLATFORM} packages: {verdict}"


def profile(fn: Callable[[], Any], top: int) -> str:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    return buf.getvalue()


# ------------------------------------------------------------------ report


def paired_ms(v: Variant, *refs: Variant) -> float:
    """Median over the rounds of ``v``'s time minus the sum of ``refs``' in the same round
    (each round runs every variant once, back to back, so drift cancels), in ms."""
    rounds = zip(v.times, *(r.times for r in refs))
    return statistics.median(t - sum(ref) for t, *ref in rounds) * 1000


def report(bare: Variant, locks: list[Variant], download_ref: Variant | None) -> list[float]:
    print(f"{'':30} {'packages':>8} {'median s':>9} {'min s':>7} {'extra ms':>9} {'overhead':>9}")
    print(
        f"{bare.label:30} {bare.count:>8} {bare.median:>9.3f} {min(bare.times):>7.3f}"
        f" {'':>9} {'':>9}  (baseline)"
    )
    overheads = []
    for v in locks:
        extra = paired_ms(v, bare)
        over = extra / (bare.median * 1000) * 100
        overheads.append(over)
        verdict = "ok" if over < TARGET else "MISSED"
        print(
            f"{v.label:30} {v.count:>8} {v.median:>9.3f} {min(v.times):>7.3f}"
            f" {extra:>+9.1f} {over:>+8.1f}%  < {TARGET:.0f}%: {verdict}"
        )
        if v.count != bare.count:
            print(f"  warning: {v.label} locked {v.count} packages, the bare solve {bare.count}")
    print(
        "extra ms = median over rounds of (lock - bare solve) in the same round; "
        "overhead = extra / median(bare solve)"
    )
    cold = next((v for v in locks if "cold" in v.label), None)
    if download_ref is not None and cold is not None:
        both = bare.median + download_ref.median
        extra = paired_ms(cold, bare, download_ref)
        print()
        print("HTTP cold cache with the download accounted for (the bare solve reads local files):")
        print(
            f"  plain requests download of both repodata.json ({download_ref.count / 1e6:.1f} MB)"
            f"  {download_ref.median:.3f} s"
        )
        print(f"  bare solve + plain download{'':>30}{both:.3f} s")
        print(
            f"  lock, HTTP cold cache{'':>36}{cold.median:.3f} s"
            f"  ({extra:+.1f} ms, {extra / (both * 1000) * 100:+.1f}% over solve + download)"
        )
    return overheads


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="Timed runs of each (default 5).")
    ap.add_argument("--no-http", action="store_true", help="Skip the loopback HTTP variants.")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="Print the phase breakdown and a cProfile of every variant, even when the "
        "target is met (by default only the first variant that misses it is profiled).",
    )
    ap.add_argument("--top", type=int, default=12, help="cProfile rows to print (default 12).")
    ap.add_argument(
        "--conda-python",
        help="Python with conda installed, for the conda-mode figures (default: this one, "
        "if it can import conda).",
    )
    ap.add_argument(
        "--conda-solvers",
        default="classic,rattler",
        help="conda solver backends to time, comma-separated (default: classic,rattler; "
        "one that is not installed is reported as skipped).",
    )
    ap.add_argument(
        "--conda-repeat", type=int, default=3, help="Timed rounds in conda mode (default 3)."
    )
    ap.add_argument("--no-conda", action="store_true", help="Skip the conda-mode figures.")
    ap.add_argument(
        "--process-repeat",
        type=int,
        default=9,
        help="Interleaved rounds of the process-level comparison (default 9; 0 skips it).",
    )
    args = ap.parse_args(argv)
    if args.repeat < 1 or args.conda_repeat < 1:
        ap.error("--repeat and --conda-repeat must be at least 1")

    if not TESTDATA.is_dir():
        print(f"skipped: ../shared/testdata not found (looked for {TESTDATA})")
        return 0
    if not INDEX.is_file():
        print(f"skipped: {INDEX.relative_to(TESTDATA.parent)} not found in ../shared/testdata")
        return 0
    try:
        import rattler  # noqa: F401
    except ImportError:
        print("skipped: py-rattler is not installed (pip install 'conda-vendor-plugin[rattler]')")
        return 0
    sys.path.insert(0, str(ROOT / "src"))  # a checkout without an installed package

    from conda_vendor_plugin.solve.virtual import virtual_packages

    with tempfile.TemporaryDirectory(prefix="bench-lock-") as tmp_name:
        tmp = Path(tmp_name)
        served = tmp / "served"
        channel_dir = served / "defaults-2018"
        counts = make_channel(INDEX, channel_dir)

        print("conda-vendor-plugin: lock vs bare py-rattler solve")
        print(f"  repodata : {INDEX.name}")
        print("             " + ", ".join(f"{s}: {n} records" for s, n in counts.items()))
        print(f"  platform : {PLATFORM}")
        print(f"  virtual  : {' '.join(str(v) for v in virtual_packages(PLATFORM))}")
        print(f"  specs    : {' | '.join(SPECS)}")
        print(f"  runs     : {args.repeat} timed runs of each, interleaved, after 1 warm-up")
        print()

        env_file = write_env(tmp / "file" / "environment.yml", channel_dir.as_uri())
        bare = Variant("bare solve (py-rattler)", lambda: bare_solve(channel_dir), is_lock=False)
        variants = [
            bare,
            Variant(
                "lock, file:// channel",
                lambda: run_lock(env_file, tmp / "file" / "out.lock.yml", tmp / "file" / "cache"),
            ),
        ]
        download_ref = None
        http = contextlib.nullcontext() if args.no_http else loopback_server(served)
        with http as server:
            if server is not None:
                url = f"{server.url}/{channel_dir.name}"
                env_http = write_env(tmp / "http" / "environment.yml", url)
                out_http = tmp / "http" / "out.lock.yml"
                cold_runs = iter(range(10**9))
                download_ref = Variant(
                    "plain download", lambda: download(url, tmp / "dl"), is_lock=False
                )
                variants += [
                    Variant(
                        "lock, HTTP cold cache",
                        lambda: run_lock(
                            env_http, out_http, tmp / "http" / f"cold-{next(cold_runs)}"
                        ),
                    ),
                    Variant(
                        "lock, HTTP warm cache (304)",
                        lambda: run_lock(env_http, out_http, tmp / "http" / "warm"),
                    ),
                    download_ref,
                ]
            measure(variants, args.repeat)
            locks = [v for v in variants if v.is_lock]
            overheads = report(bare, locks, download_ref)
            print(check_lockfile(tmp / "file" / "out.lock.yml", bare.count))

            missed = [v for v, over in zip(locks, overheads) if over >= TARGET]
            if missed or args.profile:
                print()
                print("Where lock's time goes (file:// channel; median wall time of each step):")
                for label, secs in phases(env_file, channel_dir, tmp / "phases" / "out.yml", 9):
                    print(f"  {label:46} {secs * 1000:7.1f} ms")
                for v in locks if args.profile else missed[:1]:
                    print()
                    print(f"cProfile of one run of '{v.label}' (top {args.top} by own time;")
                    print("cProfile inflates pure-Python costs relative to the native solve):")
                    print(profile(v.run, args.top))

            if args.process_repeat > 0:
                envs = {"file:// channel": env_file}
                if server is not None:
                    envs["HTTP, warm cache"] = env_http
                run_process_level(channel_dir, envs, args.process_repeat)

        python = None if args.no_conda else conda_python(args.conda_python)
        if python is None:
            if not args.no_conda:
                print()
                print("conda mode: skipped (this Python cannot import conda; see --conda-python)")
        else:
            solvers = [x.strip() for x in args.conda_solvers.split(",") if x.strip()]
            uri = channel_dir.as_uri()
            run_conda_mode(python, solvers, env_file, uri, tmp, args.conda_repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
