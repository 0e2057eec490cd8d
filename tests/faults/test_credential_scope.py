"""Credentials stay under their channel; a lockfile brings none, erases none, and opens no
local channel the user did not name (issue 16, items 1, 2 and 6; docs/security.md).

A private channel is served with a token (or ``user:pass@``) on one loopback server; a
second server plays the host a hostile lockfile points at. Every request either server
saw is recorded with its raw path and ``Authorization`` header.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from ..support.build import Pkg, build_channel
from ..support.condarun import conda, conda_environ, no_traceback
from ..support.hostile import write_lockfile
from ..support.server import ChannelServer
from ..support.vendoring import write_env

pytest.importorskip("rattler")

TOKEN = "tk-secret-7"
USERINFO = "vendor:pw-secret-7"
FN = "big-1.0-0.tar.bz2"
FORMATS = ("explicit-1.0", "cep23", "conda-lock-v1", "pixi-lock-v6")


@pytest.fixture
def private(tmp_path: Path):
    """The private channel ``ch`` (``big`` and ``other``), served with a token."""
    build_channel(tmp_path / "private" / "ch", [Pkg("big", payload_size=5000), Pkg("other")])
    with ChannelServer(tmp_path / "private", token=TOKEN) as srv:
        yield srv


@pytest.fixture
def evil(tmp_path: Path):
    """Another host, serving the very archive (so a request with credentials succeeds)."""
    dest = tmp_path / "evil" / "ch" / "noarch" / FN
    dest.parent.mkdir(parents=True)
    shutil.copy(tmp_path / "private" / "ch" / "noarch" / FN, dest)
    with ChannelServer(tmp_path / "evil") as srv:
        yield srv


def _entry(channel: Path, fn: str = FN) -> dict:
    return json.loads((channel / "noarch" / "repodata.json").read_text())["packages"][fn]


def _leaks(server: ChannelServer, *secrets: str) -> list[tuple[str, str | None]]:
    return [(p, a) for p, a in server.seen if a or any(s in p for s in secrets)]


def _archive_gets(server: ChannelServer) -> int:
    return server.count(f"/ch/noarch/{FN}")


# ------------------------------------------------------------------ item 1 (and 2)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("form", ["token", "userinfo"])
def test_a_lockfile_url_on_another_host_gets_no_credentials(
    private: ChannelServer, evil: ChannelServer, tmp_path: Path, run, fmt: str, form: str
) -> None:
    """The entry's sha256 is one the private channel really lists, its URL names another
    host: the archive comes from the channel's own URL, with the credentials; the other
    host sees none of them (and is not asked for the archive at all)."""
    plain = f"http://127.0.0.1:{private.port}/ch"
    secret = f"{private.url}/ch"  # /t/<token>/ch
    if form == "userinfo":
        secret = f"http://{USERINFO}@127.0.0.1:{private.port}/t/{TOKEN}/ch"
    e = _entry(tmp_path / "private" / "ch")
    other = _entry(tmp_path / "private" / "ch", "other-1.0-0.tar.bz2")
    evil_url = f"http://127.0.0.1:{evil.port}/ch/noarch/{FN}"
    lock = write_lockfile(tmp_path / "lock", fmt, plain, evil_url, e, other)
    env = write_env(tmp_path / "env.yml", [secret], ["other"], name="mine")
    out = tmp_path / "OUT"
    rc, stdout, err = run(
        "vendor", env, "--lockfile", lock, "-o", out, "--platform", "linux-64", "--json"
    )
    assert _leaks(evil, TOKEN, "pw-secret") == []
    assert _archive_gets(evil) == 0
    assert rc == 0, stdout + err
    assert _archive_gets(private) == 1
    assert hashlib.sha256(next(out.rglob(FN)).read_bytes()).hexdigest() == e["sha256"]
    assert TOKEN not in stdout + err and "pw-secret" not in stdout + err


def test_the_env_file_credentials_survive_a_lockfile_naming_the_same_channel(
    private: ChannelServer, tmp_path: Path, run
) -> None:
    """Item 2: the lockfile (first on the command line) names the channel without its
    token; the environment file with it. The lockfile's repodata and archive are fetched
    with the user's token, whatever the order of the inputs."""
    plain = f"http://127.0.0.1:{private.port}/ch"
    e = _entry(tmp_path / "private" / "ch")
    lock = write_lockfile(tmp_path / "lock", "explicit-1.0", plain, f"{plain}/noarch/{FN}", e)
    env = write_env(tmp_path / "env.yml", [f"{private.url}/ch"], ["other"], name="mine")
    for args in ([lock, env], [env, lock]):
        out = tmp_path / f"OUT{len(private.requests)}"
        rc, _, err = run("vendor", *args, "-o", out, "--platform", "linux-64")
        assert rc == 0, err
        assert next(out.rglob(FN)).stat().st_size == e["size"]
    refused = [r for r in private.requests if r[3] == 401]
    assert refused == []


# ------------------------------------------------------------------ item 6


@pytest.fixture
def local_secret(tmp_path: Path) -> tuple[Path, dict]:
    """A local channel on the vendoring machine, which a lockfile from elsewhere names."""
    chan = build_channel(tmp_path / "machine" / "ch", [Pkg("big", payload_size=300)])
    return chan, _entry(chan)


def test_a_lockfile_may_not_read_a_local_channel_nobody_named(
    local_secret: tuple[Path, dict], tmp_path: Path, run
) -> None:
    chan, e = local_secret
    wrong = {**e, "sha256": "0" * 64, "md5": "0" * 32}  # a probe: would print the real hash
    lock = write_lockfile(tmp_path / "lock", "explicit-1.0", chan.as_uri(),
                     f"{chan.as_uri()}/noarch/{FN}", wrong)  # fmt: skip
    out = tmp_path / "OUT"
    rc, stdout, err = run("vendor", "--lockfile", lock, "-o", out, "--json")
    assert rc == 1 and "Traceback" not in err
    doc = json.loads(stdout)
    assert doc["error_type"] == "LockfileError"
    assert chan.as_uri() in doc["error"] and "not given" in doc["error"]
    assert e["sha256"] not in stdout + err and e["md5"] not in stdout + err
    assert not out.exists()


def test_a_local_channel_the_user_named_may_be_used(
    local_secret: tuple[Path, dict], tmp_path: Path, run
) -> None:
    """Named in an environment file of the run, or in the condarc's channels:, it works."""
    chan, e = local_secret
    lock = write_lockfile(tmp_path / "lock", "explicit-1.0", chan.as_uri(),
                     f"{chan.as_uri()}/noarch/{FN}", e)  # fmt: skip
    env = write_env(tmp_path / "env.yml", [str(chan)], ["big"], name="mine")
    rc, _, err = run(
        "vendor", env, "--lockfile", lock, "-o", tmp_path / "A", "--platform", "linux-64"
    )
    assert rc == 0, err
    condarc = Path(tmp_path / "condarc")
    condarc.write_text(f"channels:\n  - {chan}\n")
    with pytest.MonkeyPatch.context() as m:
        m.setenv("CONDARC", str(condarc))
        rc, _, err = run("vendor", "--lockfile", lock, "-o", tmp_path / "B")
    assert rc == 0, err


# ------------------------------------------------------------------ inside conda


def test_inside_conda_channel_alias_credentials_stay_home(
    private: ChannelServer, evil: ChannelServer, tmp_path: Path
) -> None:
    """conda puts a bare channel name under ``channel_alias``, with its token and
    ``user:pass@``: those go to the channel only, never to a lockfile entry's host."""
    pytest.importorskip("conda")
    e = _entry(tmp_path / "private" / "ch")
    alias = f"http://{USERINFO}@127.0.0.1:{private.port}/t/{TOKEN}"
    condarc = f"channels: []\nchannel_alias: {alias}\n"
    environ = {**conda_environ(tmp_path, condarc=condarc), "NO_PROXY": "127.0.0.1"}
    lock = write_lockfile(tmp_path / "lock", "explicit-1.0", "ch",
                     f"http://127.0.0.1:{evil.port}/ch/noarch/{FN}", e)  # fmt: skip
    proc = conda(environ, "vendor", "--lockfile", lock, "-o", tmp_path / "OUT", "--json")
    no_traceback(proc)
    assert _leaks(evil, TOKEN, "pw-secret") == []
    assert _archive_gets(evil) == 0
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _archive_gets(private) == 1
    assert TOKEN not in proc.stdout + proc.stderr and "pw-secret" not in proc.stdout + proc.stderr


def test_inside_conda_a_lockfile_may_not_read_an_unnamed_local_channel(
    local_secret: tuple[Path, dict], tmp_path: Path
) -> None:
    pytest.importorskip("conda")
    chan, e = local_secret
    lock = write_lockfile(tmp_path / "lock", "explicit-1.0", chan.as_uri(),
                     f"{chan.as_uri()}/noarch/{FN}", {**e, "sha256": "0" * 64})  # fmt: skip
    proc = conda(conda_environ(tmp_path), "vendor", "--lockfile", lock, "-o", tmp_path / "OUT")
    no_traceback(proc)
    assert proc.returncode == 1
    assert chan.as_uri() in proc.stderr and "not given" in proc.stderr
    assert e["sha256"] not in proc.stdout + proc.stderr
    named = conda_environ(tmp_path, condarc=f"channels:\n  - {chan}\n")
    lock.write_text(lock.read_text().replace("0" * 64, e["sha256"]))
    proc = conda(named, "vendor", "--lockfile", lock, "-o", tmp_path / "OUT")
    assert proc.returncode == 0, proc.stderr


def test_a_pip_index_password_never_reaches_the_bundle_or_the_output(tmp_path: Path, run):
    """A pip: section with an index URL and no requirement has nothing to vendor: the URL,
    password and all, is written nowhere (it once went to manifest.json and bundle.json as
    a 'not vendored' entry)."""
    build_channel(tmp_path / "ch", [Pkg("a")])
    env = tmp_path / "env.yml"
    env.write_text(
        f"channels: ['{(tmp_path / 'ch').as_uri()}']\ndependencies:\n  - a\n  - pip:\n"
        "    - --index-url https://alice:s3cret@example.invalid/simple\n"
        "platforms: [linux-64]\n"
    )
    out = tmp_path / "OUT"
    rc, stdout, err = run("vendor", env, "-o", out, "--cache-dir", tmp_path / "cache")
    assert rc == 0, err
    assert "s3cret" not in stdout + err
    written = [p for p in out.rglob("*") if p.is_file() and b"s3cret" in p.read_bytes()]
    assert written == []
