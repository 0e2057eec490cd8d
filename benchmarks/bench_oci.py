"""Benchmark: ``vendor push`` / ``vendor pull`` against ``curl --parallel`` moving the same
blobs to and from the same registry, and a re-push of an unchanged bundle.

Run as ``python benchmarks/bench_oci.py [--packages 300] [--total-mb 200] [--jobs 8]
[--format .conda|.tar.bz2]``.

Set-up (one temporary directory, removed at the end): a channel of ``--packages`` packages
(payload sizes as ``bench_vendor.py`` spreads them, built with ``tests/support/build.py``),
vendored into a bundle from ``file://``; Debian's ``docker-registry`` started as
``tests/support/registry.py`` does (127.0.0.1, TLS with a CA made for the run).

Measured, each a subprocess timed by wall clock:

* ``vendor push BUNDLE oci://.../a`` into an empty namespace (verify, info layers, a
  ``POST`` per blob asking to mount it, uploads, manifests);
* ``curl --parallel``: every blob that push uploaded, into namespace ``b``, as ``POST``
  (one parallel batch, locations kept) then ``PUT ...?digest=`` (a second parallel batch);
  no hashing, no manifests: a lower bound for the transfer;
* ``vendor push`` again, unchanged (namespace ``a``);
* ``curl --parallel`` ``HEAD`` of every tag that re-push asks for (each package's and each
  repodata's): the registry's own time to answer those questions, the floor of a re-push
  that checks every tag is still there;
* ``vendor pull oci://.../a -o OUT2`` (downloads, digest checks, verify);
* ``curl --parallel`` GET of the same blobs from namespace ``a``.

Our commands run with compiled bytecode, as an installed package has (conda and pip compile
at install; this machine sets ``PYTHONDONTWRITEBYTECODE``, which would make every run compile
its imports again): ``compileall`` into a cache of the run (``PYTHONPYCACHEPREFIX``) first.

Targets: push / curl <= 1.3, pull / curl <= 1.3, re-push / push < 0.05 (the issue's; the
proposed target instead counts the re-push's requests, in the tests: see README.md).
Reported: re-push / (curl ``HEAD`` of the same tags).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_vendor import make_main_pkgs, write_env  # noqa: E402

from tests.support.build import build_channel  # noqa: E402
from tests.support.registry import Registry, available, make_certificates  # noqa: E402

TARGET, REPUSH_TARGET = 1.3, 0.05


def cli(*args: object) -> list[str]:
    return [sys.executable, "-m", "conda_vendor_plugin", *(str(a) for a in args)]


def compiled_env(work: Path) -> dict[str, str]:
    """The environment our commands run in: bytecode compiled once into ``work``."""
    import importlib.util

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    spec = importlib.util.find_spec("conda_vendor_plugin")
    assert spec is not None and spec.submodule_search_locations
    for where in spec.submodule_search_locations:
        subprocess.run([sys.executable, "-m", "compileall", "-q", where], env=env, check=True)
    return env


ENV: dict[str, str] | None = None  # set by bench(): compiled_env


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd[:6])}...\n{proc.stderr[-2000:]}")
    return seconds, proc.stdout


def pushed_blobs(storage: Path, ns: str) -> list[tuple[str, str]]:
    """(repository, digest) of every layer link the registry holds under ``ns``."""
    base = storage / "docker" / "registry" / "v2" / "repositories"
    found = []
    for layers in (base / ns).rglob("_layers"):
        repo = layers.parent.relative_to(base).as_posix()
        for link in (layers / "sha256").iterdir():
            found.append((repo, f"sha256:{link.name}"))
    return sorted(found)


def pushed_tags(storage: Path, ns: str) -> list[tuple[str, str]]:
    """(repository, tag) of every package and repodata tag under ``ns``, as re-push asks
    for them: not ``latest``, nor the bundle's own metadata repository (asked for first)."""
    base = storage / "docker" / "registry" / "v2" / "repositories"
    found = []
    for tags in (base / ns).rglob("_manifests/tags"):
        repo = tags.parent.parent.relative_to(base).as_posix()
        if repo.count("/") > ns.count("/") + 1:  # <ns>/<channel>/<subdir>[/<name>]
            found += [(repo, t.name) for t in tags.iterdir() if t.name != "latest"]
    return sorted(found)


def blob_file(storage: Path, digest: str) -> Path:
    hexd = digest[7:]
    return storage / "docker" / "registry" / "v2" / "blobs" / "sha256" / hexd[:2] / hexd / "data"


def curl(reg: Registry, jobs: int) -> list[str]:
    """curl, quiet, trusting the registry's CA, ``jobs`` transfers at a time."""
    assert reg.certs is not None
    return [
        "curl",
        "-sS",
        "--no-progress-meter",
        "--fail",
        "--cacert",
        str(reg.certs.ca),
        "--parallel",
        "--parallel-immediate",
        "--parallel-max",
        str(jobs),
    ]


def curl_push(reg: Registry, blobs: list[tuple[str, str]], work: Path, jobs: int) -> float:
    """POST one upload per blob (parallel), then PUT each blob to a location of its repository."""
    base = f"https://{reg.netloc}"
    common = curl(reg, jobs)
    targets = [(repo.replace("bench/a", "bench/b", 1), digest) for repo, digest in blobs]
    posts = work / "post.cfg"
    posts.write_text(
        "".join(
            f'url = "{base}/v2/{repo}/blobs/uploads/"\nrequest = POST\noutput = "/dev/null"\n'
            for repo, _ in targets
        )
    )
    start = time.perf_counter()
    answer = subprocess.run(
        [*common, "-w", "%{url_effective} %header{location}\n", "-K", str(posts)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    locations: dict[str, list[str]] = {}
    for line in answer.splitlines():
        url, _, location = line.partition(" ")
        repo = url.removeprefix(f"{base}/v2/").removesuffix("/blobs/uploads/")
        locations.setdefault(repo, []).append(location.strip())
    lines = []
    for repo, digest in targets:
        location = locations[repo].pop()
        url = location if location.startswith("http") else base + location
        blob = blob_file(reg.root / "storage", digest)
        lines += [
            "next" if lines else "",
            f'url = "{url}&digest={digest}"',
            f'cacert = "{reg.certs.ca}"',
            "fail",
            "request = PUT",
            f'data-binary = "@{blob}"',
            'header = "Content-Type: application/octet-stream"',
            'output = "/dev/null"',
        ]
    puts = work / "put.cfg"
    puts.write_text("\n".join(lines) + "\n")  # "next": data and headers per transfer
    subprocess.run([*common, "-K", str(puts)], check=True)
    return time.perf_counter() - start


def curl_heads(reg: Registry, tags: list[tuple[str, str]], work: Path, jobs: int) -> float:
    """``HEAD`` of each (repository, tag), as a manifest, ``jobs`` at a time."""
    cfg = work / "head.cfg"
    cfg.write_text(
        "".join(
            f'url = "https://{reg.netloc}/v2/{repo}/manifests/{tag}"\nhead\noutput = "/dev/null"\n'
            for repo, tag in tags
        )
    )
    accept = "Accept: application/vnd.oci.image.manifest.v1+json"
    start = time.perf_counter()
    subprocess.run([*curl(reg, jobs), "-H", accept, "-K", str(cfg)], check=True)
    return time.perf_counter() - start


def curl_pull(reg: Registry, blobs: list[tuple[str, str]], work: Path, jobs: int) -> float:
    cfg = work / "get.cfg"
    dest = work / "got"
    dest.mkdir()
    lines = []
    for i, (repo, digest) in enumerate(blobs):
        lines += [
            f'url = "https://{reg.netloc}/v2/{repo}/blobs/{digest}"',
            f'output = "{dest}/{i}"',
        ]
    cfg.write_text("\n".join(lines) + "\n")
    cmd = [*curl(reg, jobs), "-L", "-K", str(cfg)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def bench(args: argparse.Namespace, work: Path) -> int:
    global ENV
    ENV = compiled_env(work)
    pkgs = make_main_pkgs(args.packages, int(args.total_mb * 1_000_000), args.format)
    chan = build_channel(work / "chan", pkgs, subdirs=("linux-64",))
    env = write_env(work / "env.yml", chan.as_uri(), [p.name for p in pkgs])
    out = work / "OUT"
    timed(cli("vendor", env, "--platform", "linux-64", "-o", out, "--cache-dir", work / "cache"))
    nbytes = sum(f.stat().st_size for f in out.rglob("*") if f.is_file() and not f.is_symlink())
    certs = make_certificates(work / "tls")
    with Registry(work / "registry", certs=certs) as reg:
        url = reg.url("bench/a")
        flags = ["--ca-cert", certs.ca, "-j", args.jobs, "--json"]
        push, stdout = timed(cli("vendor", "push", out, url, *flags))
        report = json.loads(stdout)
        blobs = pushed_blobs(reg.root / "storage", "bench/a")
        curl_up = curl_push(reg, blobs, work, args.jobs)
        repush, stdout = timed(cli("vendor", "push", out, url, *flags))
        again = json.loads(stdout)
        tags = pushed_tags(reg.root / "storage", "bench/a")
        curl_check = curl_heads(reg, tags, work, args.jobs)
        pull, _ = timed(cli("vendor", "pull", url, "-o", work / "OUT2", *flags))
        curl_down = curl_pull(reg, blobs, work, args.jobs)
    print(
        f"bundle: {args.packages} packages, {nbytes / 1e6:.1f} MB; {len(blobs)} blobs "
        f"({report['blobs_uploaded']} uploaded by push, {report['bytes_uploaded'] / 1e6:.1f} MB)"
    )
    rows = [
        ("push", push, "curl --parallel", curl_up, TARGET),
        ("pull", pull, "curl --parallel", curl_down, TARGET),
        ("re-push", repush, "first push", push, REPUSH_TARGET),
        ("re-push", repush, f"curl HEAD {len(tags)} tags", curl_check, None),
    ]
    ok = True
    for label, ours, what, ref, target in rows:
        ratio = ours / ref
        ok &= target is None or ratio <= target
        said = "reported" if target is None else f"target {target}"
        print(f"{label:8} {ours:7.2f} s  vs {what} {ref:7.2f} s: {ratio:5.2f}x ({said})")
    print(f"re-push uploaded {again['blobs_uploaded']} blobs")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--packages", type=int, default=300)
    p.add_argument("--total-mb", type=float, default=200)
    p.add_argument("--jobs", type=int, default=8)
    p.add_argument(
        "--format",
        choices=(".conda", ".tar.bz2"),
        default=".conda",
        help="archive format (.conda, as conda-forge ships; .tar.bz2 costs a bz2 block "
        "per archive for its info layers)",
    )
    args = p.parse_args(argv)
    if not available():
        print("docker-registry, htpasswd or openssl missing: apt-get install -y docker-registry")
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-oci-") as tmp:
        return bench(args, Path(tmp))


if __name__ == "__main__":
    raise SystemExit(main())
