"""``vendor`` carries a lock's wheels: one PEP 503 simple index in the bundle
(``pypi/simple/``), each wheel once, in the manifest and the SBOM, checked by ``vendor
verify``. Real wheels (../shared/testdata/pypi) and a conda channel with ``python``, both
served on 127.0.0.1; pip reads the bundle's index back with the servers' URLs gone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conda_vendor_plugin.formats import explicit_v1
from conda_vendor_plugin.pypi.records import normalize

from ..support.bundles import env_report
from ..support.pypi import sha256_file
from .conftest import env_file

pytest.importorskip("rattler")
pytest.importorskip("pip")

LOCK = "envs/demo/current/environment.lock.yml"
PLATFORMS = ["linux-64", "win-64"]


def _vendor(
    tmp_path: Path, served, run, pip: list[str], out: Path, name: str = "demo", *more: object
):
    """Lock an environment file with a pip: section, then vendor its lockfile into OUT."""
    channel, index, _ = served
    pip = [f"--index-url {index}", *pip]
    env = env_file(tmp_path / f"{name}.yml", channel, ["python 3.12.*"], pip, PLATFORMS)
    env.write_text(env.read_text().replace("name: demo", f"name: {name}"))
    rc, _, err = run("lock", "-f", env, "--cache-dir", tmp_path / "cache")
    assert rc == 0, err
    lock = tmp_path / f"{name}.lock.yml"
    rc, stdout, err = run(
        "vendor", "--lockfile", lock, "-o", out, "--cache-dir", tmp_path / "c", *more
    )
    assert rc == 0, err
    return stdout + err


def test_vendor_of_an_environment_file_carries_its_pip_section(tmp_path: Path, served, run):
    """``vendor ENV_FILE`` resolves the pip: section as ``lock`` does: the bundle carries
    the same wheels as ``lock`` then ``vendor --lockfile``."""
    channel, index, _ = served
    env = env_file(
        tmp_path / "demo.yml",
        channel,
        ["python 3.12.*"],
        [f"--index-url {index}", "msgpack"],
        PLATFORMS,
    )
    direct = tmp_path / "DIRECT"
    rc, stdout, err = run("vendor", env, "-o", direct, "--cache-dir", tmp_path / "c")
    assert rc == 0, err
    assert "not vendored" not in stdout + err
    via_lock = tmp_path / "VIA_LOCK"
    _vendor(tmp_path, served, run, ["msgpack"], via_lock)
    assert _wheel_files(direct) == _wheel_files(via_lock) and len(_wheel_files(direct)) == 2
    assert _locked(direct) == _locked(via_lock)
    manifest = json.loads((direct / "manifest.json").read_text())
    assert env_report(manifest)["pip_not_vendored"] == []
    rc, _, err = run("vendor", "verify", direct)
    assert rc == 0, err


def _locked(out: Path, lock: str = LOCK) -> dict[str, object]:
    """Bundle path -> locked wheel, over every platform of the bundle's lockfile."""
    wheels = explicit_v1.load(out / lock).pypi
    return {
        f"pypi/simple/{normalize(w.name)}/{w.filename}": w for ws in wheels.values() for w in ws
    }


def _wheel_files(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in (out / "pypi").rglob("*.whl"))


def test_vendor_carries_every_locked_wheel_once_in_one_simple_index(tmp_path: Path, served, run):
    out = tmp_path / "OUT"
    said = _vendor(tmp_path, served, run, ["requests", "msgpack"], out)
    locked = _locked(out)
    # certifi, idna, requests, urllib3 are the same file on both platforms: once.
    assert len(locked) == 8 and _wheel_files(out) == sorted(locked)
    for rel, w in locked.items():
        assert sha256_file(out / rel) == w.sha256
    page = (out / "pypi/simple/requests/index.html").read_text()
    req = locked["pypi/simple/requests/requests-2.32.3-py3-none-any.whl"]
    assert f'<a href="requests-2.32.3-py3-none-any.whl#sha256={req.sha256}"' in page
    assert '<a href="msgpack/">msgpack</a>' in (out / "pypi/simple/index.html").read_text()
    manifest = json.loads((out / "manifest.json").read_text())
    listed = {f["path"]: f for f in manifest["files"] if f["path"].endswith(".whl")}
    assert sorted(listed) == sorted(locked)
    item = listed["pypi/simple/requests/requests-2.32.3-py3-none-any.whl"]
    assert item["purl"] == "pkg:pypi/requests@2.32.3"
    assert (item["sha256"], item["url"]) == (req.sha256, req.url)
    assert item["size"] == (out / item["path"]).stat().st_size
    env = env_report(manifest)
    assert env["not_vendored"] == [] and env["pip_not_vendored"] == []
    assert "not vendored" not in said
    sbom = json.loads((out / "sbom.cdx.json").read_text())
    wheels = [c for c in sbom["components"] if c["purl"].startswith("pkg:pypi/")]
    assert sorted(c["bom-ref"] for c in wheels) == sorted(locked)  # one component a wheel
    pypi = {c["purl"]: c for c in wheels}
    assert pypi["pkg:pypi/requests@2.32.3"]["hashes"] == [{"alg": "SHA-256", "content": req.sha256}]
    assert run("vendor", "verify", out)[0] == 0


def test_pip_downloads_from_the_bundles_index_alone(tmp_path: Path, served, run):
    """pip reads the bundle's index (file://, the served index gone) and checks its hashes."""
    out = tmp_path / "OUT"
    _vendor(tmp_path, served, run, ["msgpack"], out)
    shutil.rmtree(served[2])  # the served channel and index are gone
    got = tmp_path / "got"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--isolated",
        "--no-deps",
        "--only-binary=:all:",
        "--platform",
        "win_amd64",
        "--python-version",
        "3.12",
        "--index-url",
        (out / "pypi" / "simple").as_uri(),
        "-d",
        got,
        "msgpack==1.1.0",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in got.iterdir()] == ["msgpack-1.1.0-cp312-cp312-win_amd64.whl"]


@pytest.mark.parametrize(
    "alter, said",
    [
        ("wheel", "pypi/simple/msgpack/msgpack-1.1.0-cp312-cp312-win_amd64.whl: "),
        ("page", "pypi/simple/msgpack/index.html: does not list exactly the locked wheels"),
        ("gone", "pypi/simple/msgpack/msgpack-1.1.0-cp312-cp312-win_amd64.whl (locked by demo)"),
    ],
)
def test_verify_refuses_an_altered_wheel_or_index(tmp_path: Path, served, run, alter, said):
    out = tmp_path / "OUT"
    _vendor(tmp_path, served, run, ["msgpack"], out)
    wheel = out / "pypi/simple/msgpack/msgpack-1.1.0-cp312-cp312-win_amd64.whl"
    if alter == "wheel":  # same size, other bytes
        data = bytearray(wheel.read_bytes())
        data[100] ^= 0xFF
        wheel.write_bytes(bytes(data))
    elif alter == "page":
        page = out / "pypi/simple/msgpack/index.html"
        page.write_text(page.read_text().replace("#sha256=", "#sha256=0"))
    else:
        wheel.unlink()
    rc, stdout, _ = run("vendor", "verify", out, "--json")
    assert rc != 0
    found = json.loads(stdout)
    assert any(said in line for k in ("corrupt", "missing") for line in found[k]), found


def test_wheels_are_carried_by_later_runs_and_dropped_by_prune(tmp_path: Path, served, run):
    """A second environment vendored into the bundle keeps the first one's wheels (linked
    from the bundle); prune drops the wheels only the dropped environment locked."""
    out = tmp_path / "OUT"
    _vendor(tmp_path, served, run, ["msgpack"], out)
    first = set(_wheel_files(out))
    _vendor(tmp_path, served, run, ["idna"], out, name="other")
    assert set(_wheel_files(out)) == first | {"pypi/simple/idna/idna-3.20-py3-none-any.whl"}
    assert run("vendor", "verify", out)[0] == 0
    rc, _, err = run("vendor", "prune", out, "--drop", "demo")
    assert rc == 0, err
    assert _wheel_files(out) == ["pypi/simple/idna/idna-3.20-py3-none-any.whl"]
    assert not (out / "pypi/simple/msgpack").exists()
    assert "msgpack" not in (out / "pypi/simple/index.html").read_text()
    assert run("vendor", "verify", out)[0] == 0


def test_a_delta_carries_its_wheels_and_apply_adds_them(tmp_path: Path, served, run):
    """``--since`` omits conda archives the bundle has, never wheels; apply gives the
    bundle that vendoring both environments in place gives (wheels and index)."""
    out = tmp_path / "OUT"
    _vendor(tmp_path, served, run, ["msgpack"], out)
    delta = tmp_path / "DELTA"
    _vendor(tmp_path, served, run, ["idna"], delta, "other", "--since", out)
    assert _wheel_files(delta) == ["pypi/simple/idna/idna-3.20-py3-none-any.whl"]
    assert run("vendor", "verify", delta)[0] == 0
    before = set(_wheel_files(out))
    rc, _, err = run("vendor", "apply", delta, "--to", out)
    assert rc == 0, err
    assert set(_wheel_files(out)) == before | {"pypi/simple/idna/idna-3.20-py3-none-any.whl"}
    projects = (out / "pypi/simple/index.html").read_text()
    assert '<a href="idna/">idna</a>' in projects and '<a href="msgpack/">' in projects
    assert run("vendor", "verify", out)[0] == 0


def test_a_wheel_name_with_path_separators_writes_nothing_outside(tmp_path: Path, served, run):
    """A hostile lock's wheel URL naming ``../`` (encoded) is refused, nothing written."""
    out = tmp_path / "OUT"
    _vendor(tmp_path, served, run, ["msgpack"], out)
    lock = tmp_path / "hostile.lock.yml"
    text = (out / LOCK).read_text()
    evil = "..%2F..%2F..%2Fmsgpack-1.1.0-cp312-cp312-win_amd64.whl"
    assert "/msgpack-1.1.0-cp312-cp312-win_amd64.whl" in text
    lock.write_text(text.replace("/msgpack-1.1.0-cp312-cp312-win_amd64.whl", f"/{evil}"))
    before = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    rc, _, err = run(
        "vendor", "--lockfile", lock, "-o", tmp_path / "OUT2", "--cache-dir", tmp_path / "cache"
    )
    assert rc != 0
    assert "msgpack-1.1.0-cp312-cp312-win_amd64.whl" in err and "Traceback" not in err
    after = sorted(p for p in tmp_path.rglob("*") if p.is_file() and p.name != ".OUT2.lock")
    assert after == before


def test_wheels_from_an_index_that_needs_credentials(
    tmp_path: Path, served, run, monkeypatch: pytest.MonkeyPatch
):
    """An index behind basic auth (user:pass in the pip: section's --index-url): pip
    resolves with them, the wheels are downloaded with them (only from that index's host),
    and they reach no file of the bundle and no output."""
    from ..support.server import ChannelServer

    channel, _, root = served
    with ChannelServer(root, basic=("/pypi/", "alice", "s3cret")) as private:
        index = f"http://alice:s3cret@127.0.0.1:{private.port}/pypi/simple/"
        env = env_file(
            tmp_path / "demo.yml",
            channel,
            ["python 3.12.*"],
            [f"--index-url {index}", "idna"],
            PLATFORMS,
        )
        out = tmp_path / "OUT"
        rc, stdout, err = run("vendor", env, "-o", out, "--cache-dir", tmp_path / "c")
        assert rc == 0, err
        wheel_gets = [a for p, a in private.seen if p.endswith(".whl")]
    assert wheel_gets and all(a and a.startswith("Basic ") for a in wheel_gets)
    assert (out / "pypi/simple/idna").is_dir()
    texts = [p.read_bytes() for p in out.rglob("*") if p.is_file()]
    assert not [t for t in texts if b"s3cret" in t or b"alice" in t]
    assert "s3cret" not in stdout + err and "alice" not in stdout + err


def test_ignore_pip_non_wheel_lists_what_was_left_out_in_bundle_json(tmp_path: Path, served, run):
    """``vendor ENV --ignore-pip-non-wheel``, and ``vendor --lockfile`` of a lock made
    with it: the sdist-only requirement is named in the report and in bundle.json's
    not_vendored (and the bundle's lockfile's pypi-skipped), per platform, with why."""
    channel, index, _ = served
    pip = [f"--index-url {index}", "msgpack", "pathtools"]
    env = env_file(tmp_path / "demo.yml", channel, ["python 3.12.*"], pip, PLATFORMS)
    for n, args in enumerate(
        (
            [env, "--ignore-pip-non-wheel"],
            ["--lockfile", _lock_ignoring(tmp_path, run, env)],
        )
    ):
        out = tmp_path / f"OUT{n}"
        rc, stdout, err = run("vendor", *args, "-o", out, "--cache-dir", tmp_path / "c")
        assert rc == 0, err
        doc = json.loads((out / "bundle.json").read_text())
        (version,) = doc["environments"]["demo"]["versions"]
        assert version["not_vendored"] == [
            {
                "manager": "pip",
                "name": "pathtools",
                "platform": p,
                "reason": f"needs pathtools, which has no wheel for {p} (CPython 3.12)",
                "url": "",
                "version": "",
            }
            for p in PLATFORMS
        ]
        assert (
            "  demo: not vendored (pip, left out by --ignore-pip-non-wheel): pathtools "
            "(win-64): needs pathtools, which has no wheel for win-64 (CPython 3.12)"
        ) in (stdout + err).splitlines()
        lock = explicit_v1.load(out / LOCK)
        assert sorted(f.platform for f in lock.foreign) == PLATFORMS
        assert list((out / "pypi" / "simple").iterdir())  # msgpack is carried


def _lock_ignoring(tmp_path: Path, run, env: Path) -> Path:
    rc, _, err = run("lock", "-f", env, "--cache-dir", tmp_path / "c", "--ignore-pip-non-wheel")
    assert rc == 0, err
    return env.with_name("demo.lock.yml")


def test_ignore_pip_non_wheel_takes_a_vcs_entry_out_of_vendor_env_file(tmp_path: Path, served, run):
    """``vendor ENV --ignore-pip-non-wheel`` with a VCS requirement: left out like an
    sdist-only project, not refused later when the run looks for the index credentials."""
    channel, index, _ = served
    vcs = "git+https://example.com/psf/requests@v2.32.3"
    env = env_file(
        tmp_path / "demo.yml",
        channel,
        ["python 3.12.*"],
        [f"--index-url {index}", "msgpack", vcs],
        PLATFORMS,
    )
    out = tmp_path / "OUT"
    rc, _, err = run(
        "vendor", env, "-o", out, "--cache-dir", tmp_path / "c", "--ignore-pip-non-wheel"
    )
    assert rc == 0, err
    doc = json.loads((out / "bundle.json").read_text())
    (version,) = doc["environments"]["demo"]["versions"]
    assert [(f["name"], f["platform"]) for f in version["not_vendored"]] == [
        (vcs, p) for p in PLATFORMS
    ]
