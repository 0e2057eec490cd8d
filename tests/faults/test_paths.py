"""Names from repodata and paths in a received bundle never reach outside OUT/staging.

A hostile channel controls every repodata key and field; a bundle handed to ``vendor
verify`` controls every byte of its manifest and local repodata. Each case is served by
a real loopback server (or built as a real bundle first) and the whole temporary tree
is compared before and after the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..support.build import Pkg, build_channel
from ..support.hostile import add_entry, put, tree
from ..support.locking import run_module
from ..support.server import ChannelServer
from ..support.vendoring import sha256, write_env

pytest.importorskip("rattler")

DATA = b"the server's bytes, which must land nowhere\n"
ESCAPE = "../" * 6


@pytest.fixture
def channel(http_server: ChannelServer, tmp_path: Path) -> Path:
    return build_channel(tmp_path / "served" / "ch", [Pkg("good")])


def _error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if line.startswith("error:")]


HOSTILE = [
    pytest.param(
        f"pwned-1.0-{ESCAPE}pwned.conda", {"build": f"{ESCAPE}pwned"}, "not one plain", id="dot-dot"
    ),
    pytest.param(
        "pwned-1.0-0.conda", {"build": "0", "subdir": f"{ESCAPE}evil"}, "subdir", id="subdir"
    ),
    pytest.param(
        f"pwned-1.0-{'x' * 250}.conda", {"build": "x" * 250}, "longer than 255", id="too-long"
    ),
    pytest.param(
        "pwned-1.0-a\\..\\..\\b.conda", {"build": "a\\..\\..\\b"}, "not valid repodata", id="bslash"
    ),
    pytest.param("pwned-1.0-a\0b.conda", {"build": "a\0b"}, "not valid repodata", id="nul"),
    pytest.param(
        "pwned-1.0-%2e%2e%2fx.conda", {"build": "%2e%2e%2fx"}, "not one plain", id="percent"
    ),
]


@pytest.mark.parametrize(("fn", "fields", "says"), HOSTILE)
def test_a_hostile_archive_name_is_refused_and_nothing_is_written(
    channel: Path, http_server: ChannelServer, tmp_path: Path, run, fn, fields, says
) -> None:
    out = tmp_path / "a" / "b" / "c" / "d" / "OUT"  # deep: an escape would land in tmp_path
    good = write_env(tmp_path / "good.yml", [f"{http_server.url}/ch"], ["good"])
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["good", "pwned"])
    assert run("vendor", good, "-o", out, "--platform", "linux-64")[0] == 0
    before = tree(tmp_path, skip={"served"})

    add_entry(channel, "noarch", fn, DATA, name="pwned", version="1.0", **fields)
    put(tmp_path / "served" / "pwned.conda", DATA)  # where a normalised URL would land
    requests_before = len(http_server.requests)

    rc, stdout, stderr = run("vendor", env, "-o", out, "--platform", "linux-64")
    assert rc == 1
    (line,) = _error_lines(stderr)
    assert f"{http_server.url}/ch" in line and says in line
    rc, stdout, _ = run("vendor", env, "-o", out, "--platform", "linux-64", "--json")
    doc = json.loads(stdout)
    assert rc == 1 and doc["success"] is False and doc["error_type"] == "ChannelError"

    assert tree(tmp_path, skip={"served"}) == before  # previous OUT intact, nothing elsewhere
    archive_gets = [p for _, p, _, _ in http_server.requests[requests_before:] if "pwned" in p]
    assert archive_gets == []


def test_an_archive_name_that_differs_from_its_entry_is_refused(
    channel: Path, http_server: ChannelServer, tmp_path: Path, run
) -> None:
    # The key says one package, the entry another; conda would install the entry's.
    add_entry(channel, "noarch", "pwned-1.0-0.conda", DATA, name="pwned", version="1.0", build="1")
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["pwned"])
    rc, _, stderr = run("vendor", env, "-o", tmp_path / "OUT", "--platform", "linux-64")
    assert rc == 1
    assert not (tmp_path / "OUT").exists()
    assert "Traceback" not in stderr


# ------------------------------------------------------------------ verify


def _bundle(tmp_path: Path, http_server: ChannelServer, run) -> Path:
    build_channel(tmp_path / "served" / "ch", [Pkg("good")])
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["good"])
    out = tmp_path / "OUT"
    assert run("vendor", env, "-o", out, "--platform", "linux-64")[0] == 0
    assert run("vendor", "verify", out)[0] == 0
    return out


def test_verify_reads_nothing_outside_the_bundle(
    http_server: ChannelServer, tmp_path: Path, run
) -> None:
    out = _bundle(tmp_path, http_server, run)
    secret = put(tmp_path / "secret" / "shadow", b"root:$6$not-for-anyone\n")
    fifo = tmp_path / "secret" / "fifo"
    os.mkfifo(fifo)  # opening it for reading would block the run: proof it is never opened
    secret_hash = sha256(secret.read_bytes())

    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"] += [
        {"path": "../secret/shadow", "sha256": secret_hash, "size": 1},
        {"path": str(secret), "sha256": secret_hash, "size": 1},
        {"path": "../secret/fifo", "sha256": secret_hash, "size": 1},
        {"path": "via-link/shadow", "sha256": secret_hash, "size": 1},
    ]
    (out / "manifest.json").write_text(json.dumps(manifest))
    rd_path = out / "local_ch" / "noarch" / "repodata.json"
    rd = json.loads(rd_path.read_text())
    rd["packages.conda"][f"x-1-{ESCAPE}secret/fifo.conda"] = {
        "name": "x",
        "version": "1",
        "build": f"{ESCAPE}secret/fifo",
        "sha256": secret_hash,
    }
    rd_path.write_text(json.dumps(rd))
    (out / "via-link").symlink_to(tmp_path / "secret")
    (out / "local_ch" / "noarch" / "linked-1.0-0.tar.bz2").symlink_to(fifo)
    (out / "notes.txt").symlink_to(secret)
    (out / "local_evil").symlink_to(tmp_path / "secret")

    # A real subprocess with a deadline: a read of the FIFO would hang it.
    proc = run_module("conda_vendor_plugin", "vendor", "verify", out, "--json")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert secret_hash not in proc.stdout
    unsafe = "\n".join(doc["unsafe"])
    for what in ("../secret/shadow", str(secret), "../secret/fifo", "via-link", "notes.txt"):
        assert what in unsafe, what
    assert "local_evil" in unsafe
    assert "x-1-" in unsafe  # the hostile repodata key, reported and not opened
    assert any("linked-1.0-0.tar.bz2" in c for c in doc["unsafe"] + doc["extra"])


def test_verify_reports_a_malformed_manifest_in_one_line(
    http_server: ChannelServer, tmp_path: Path, run
) -> None:
    out = _bundle(tmp_path, http_server, run)
    for text, says in [
        ("{not json", "not valid JSON"),
        ('{"files": 7}', "'files' list"),
        ('{"files": [{"size": 1}]}', "no 'path'"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ]:
        (out / "manifest.json").write_text(text)
        rc, stdout, stderr = run("vendor", "verify", out, "--json")
        assert rc == 1 and "Traceback" not in stderr
        doc = json.loads(stdout)
        assert any(c.startswith("manifest.json:") and says in c for c in doc["corrupt"]), doc


def test_a_bundle_whose_repodata_names_an_absolute_path_is_reported(
    http_server: ChannelServer, tmp_path: Path, run
) -> None:
    out = _bundle(tmp_path, http_server, run)
    rd_path = out / "local_ch" / "noarch" / "repodata.json"
    rd = json.loads(rd_path.read_text())
    rd["packages"]["/etc/passwd"] = {"name": "x", "version": "1", "build": "0", "size": 1}
    rd_path.write_text(json.dumps(rd))
    rc, stdout, _ = run("vendor", "verify", out, "--json")
    doc = json.loads(stdout)
    assert rc == 1
    assert any("'/etc/passwd'" in u for u in doc["unsafe"])


def test_conda_vendor_refuses_a_hostile_name_too(tmp_path: Path) -> None:
    pytest.importorskip("conda")
    build_channel(tmp_path / "served" / "ch", [Pkg("good")])
    channel = tmp_path / "served" / "ch"
    add_entry(channel, "noarch", f"pwned-1.0-{ESCAPE}pwned.conda", DATA, name="pwned",
              version="1.0", build=f"{ESCAPE}pwned")  # fmt: skip
    put(tmp_path / "served" / "pwned.conda", DATA)
    out = tmp_path / "a" / "b" / "c" / "d" / "OUT"
    with ChannelServer(tmp_path / "served") as srv:
        env = write_env(tmp_path / "env.yml", [f"{srv.url}/ch"], ["pwned"])
        before = tree(tmp_path, skip={"served", "home"})
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "conda",
                "vendor",
                env,
                "-o",
                out,
                "--platform",
                "linux-64",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "CONDA_SOLVER": "classic", "NO_PROXY": "127.0.0.1"},
        )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "not one plain file name" in json.loads(proc.stdout)["error"]
    assert tree(tmp_path, skip={"served", "home"}) == before
