"""Benchmark: resolving a ``pip:`` section for three target platforms against ``pip download``.

Run from anywhere as ``python benchmarks/bench_pip.py [--repeat 3] [--latency 0.02]``.

Set-up (one temporary directory, removed at the end): the real wheels of
``../shared/testdata/pypi`` (requests and its closure, msgpack; CPython 3.10 and 3.12;
linux, macOS, Windows) as a PEP 503 simple index on 127.0.0.1, with ``--latency`` seconds
per request. No HTTP cache (``PIP_NO_CACHE_DIR=1``) on either side; no pip configuration.

Measured, for linux-64, osx-arm64 and win-64 with CPython 3.12 (the fastest of
``--repeat`` runs each):

* ours: ``pypi.resolve.resolve`` for ``requests`` and ``msgpack`` (what ``lock`` runs per
  platform: pip's resolver, ``--dry-run --report``, the target's tags), then the download
  of the resolved wheels as ``vendor`` does it (``transport.download.Downloader``: parallel,
  sha256-verified, renamed into place);
* pip download: ``python -m pip download --only-binary=:all: --platform <tags>
  --python-version 3.12 --implementation cp --abi cp312 -d DIR`` with the same index
  and requirements (resolves *and* downloads the wheels).

Printed: seconds of each (ours split into resolve and download) and ours / pip download.
The issue's budget is resolve + download <= 1.2x pip download.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from conda_vendor_plugin.pypi.requirements import parse_pip_section  # noqa: E402
from conda_vendor_plugin.pypi.resolve import resolve  # noqa: E402
from conda_vendor_plugin.pypi.target import Target, platform_tags  # noqa: E402
from conda_vendor_plugin.transport.download import Downloader, DownloadJob  # noqa: E402
from conda_vendor_plugin.transport.session import make_session  # noqa: E402
from tests.support.pypi import PLATFORMS, write_simple_index  # noqa: E402
from tests.support.server import ChannelServer  # noqa: E402

SHARED = ROOT.parent / "shared" / "testdata" / "pypi"
REQUIREMENTS = ("requests", "msgpack")
SESSION = make_session()


def target(platform: str) -> Target:
    return Target(platform, "3.12", "cp312", platform_tags(platform, {}))


def ours(index: str, platform: str, dest: Path) -> tuple[float, float]:
    """Seconds to resolve, then to download the resolved wheels into ``dest``."""
    section = parse_pip_section([f"--index-url {index}", *REQUIREMENTS], "bench")
    started = time.perf_counter()
    wheels = resolve(section, target(platform), {}, "bench")
    resolved = time.perf_counter()
    assert len(wheels) == 6, wheels
    jobs = [
        DownloadJob(w.url, dest / w.filename, w.size, w.sha256, None, w.filename, False)
        for w in wheels
    ]
    results = Downloader(lambda url: SESSION, jobs=8).run(jobs)
    assert len(results) == 6, results
    return resolved - started, time.perf_counter() - resolved


def pip_download(index: str, platform: str, dest: Path) -> float:
    tags = [f"--platform={t}" for t in target(platform).tags]
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    cmd += ["--only-binary=:all:", *tags, "--python-version=3.12", "--implementation=cp"]
    cmd += ["--abi=cp312", "--abi=abi3", "--abi=none", "--index-url", index, "-d", str(dest)]
    started = time.perf_counter()
    subprocess.run([*cmd, *REQUIREMENTS], check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    assert len(list(dest.glob("*.whl"))) == 6
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.02)
    args = parser.parse_args()
    os.environ.update({"PIP_NO_CACHE_DIR": "1", "PIP_CONFIG_FILE": os.devnull})
    os.environ["NO_PROXY"] = "127.0.0.1"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_simple_index(root / "served", sorted((SHARED / "wheels").iterdir()))
        with ChannelServer(root / "served", latency=args.latency) as server:
            index = f"{server.url}/simple/"
            head = f"{'platform':<10} {'resolve s':>9} {'download s':>10} {'ours s':>7}"
            print(f"{head} {'pip download s':>15} {'ratio':>6}")
            total_ours = total_pip = 0.0
            for platform in PLATFORMS:
                runs = [
                    ours(index, platform, Path(tempfile.mkdtemp(dir=tmp)))
                    for _ in range(args.repeat)
                ]
                res, dl = min(runs, key=sum)
                mine = res + dl
                theirs = min(
                    pip_download(index, platform, Path(tempfile.mkdtemp(dir=tmp)))
                    for _ in range(args.repeat)
                )
                total_ours, total_pip = total_ours + mine, total_pip + theirs
                row = f"{platform:<10} {res:9.2f} {dl:10.2f} {mine:7.2f} {theirs:15.2f}"
                print(f"{row} {mine / theirs:6.2f}")
            last = f"{'all':<10} {'':9} {'':10} {total_ours:7.2f} {total_pip:15.2f}"
            print(f"{last} {total_ours / total_pip:6.2f}")


if __name__ == "__main__":
    main()
