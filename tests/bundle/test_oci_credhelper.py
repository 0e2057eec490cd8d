"""Docker credential helpers (``credsStore``, ``credHelpers``) for ``vendor push``: a small
real helper program written by the test onto ``PATH``, run as docker runs it, against the
real registry with htpasswd basic auth (Debian's docker-registry)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from ..support import registry as reg
from ..support.build import build_channel
from .test_oci import PKGS, _vendor

HELPER = """#!{python}
import json, sys
from pathlib import Path
here = Path(__file__).parent
host = sys.stdin.read()
with open(here / "calls.log", "a") as log:
    log.write(json.dumps([sys.argv[1:], host]) + "\\n")
behaviour = json.loads((here / "behaviour.json").read_text())
mode = behaviour["mode"]
if mode == "ok" and host in behaviour["known"]:
    user, secret = behaviour["known"][host]
    print(json.dumps({{"ServerURL": host, "Username": user, "Secret": secret}}))
elif mode == "flood":
    sys.stdout.write("x" * (1 << 20))
elif mode == "broken":
    print(json.dumps({{"Secret": behaviour["secret"]}}))
    print("the keychain is locked", file=sys.stderr)
    sys.exit(3)
else:
    print("credentials not found in native keychain")
    sys.exit(1)
"""


@pytest.fixture
def helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``docker-credential-testhelper`` on PATH; its behaviour file beside it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "docker-credential-testhelper"
    program.write_text(HELPER.format(python=sys.executable))
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


@pytest.fixture
def bundle(run, tmp_path: Path) -> Path:
    chan = build_channel(tmp_path / "chan", PKGS, subdirs=("linux-64",)).as_uri()
    out = tmp_path / "OUT"
    _vendor(run, tmp_path, chan, ["tool"], out)
    return out


def _config(doc: dict) -> Path:
    config = Path(os.environ["HOME"]) / ".docker" / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps(doc))
    return config


def _behave(helper: Path, mode: str, known: dict | None = None) -> None:
    doc = {"mode": mode, "known": known or {}, "secret": reg.PASSWORD}
    (helper / "behaviour.json").write_text(json.dumps(doc))


def _calls(helper: Path) -> list:
    log = helper / "calls.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def basic(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory):
    certs = reg.certificates(tmp_path_factory)
    with reg.running(tmp_path / "r", auth="basic", certs=certs) as registry:
        yield registry


def _push(run, bundle: Path, registry: reg.Registry, *extra: str) -> tuple[int, str, str]:
    url = registry.url("team/envs")
    return run("vendor", "push", bundle, url, "--ca-cert", registry.certs.ca, *extra)


def test_creds_store_gives_the_credentials_and_the_secret_is_never_shown(
    run, bundle: Path, helper: Path, basic: reg.Registry
) -> None:
    _config({"auths": {basic.netloc: {}}, "credsStore": "testhelper"})
    _behave(helper, "ok", {basic.netloc: [reg.USER, reg.PASSWORD]})
    rc, stdout, err = _push(run, bundle, basic)
    assert rc == 0 and stdout.startswith(f"Pushed {bundle}")
    assert _calls(helper) == [[["get"], basic.netloc]]  # `get`, the host on stdin, once
    assert reg.PASSWORD not in stdout + err + basic.log.read_text()


def test_cred_helpers_entry_of_the_registry_wins_over_creds_store(
    run, bundle: Path, helper: Path, basic: reg.Registry
) -> None:
    _config({"credsStore": "not-installed", "credHelpers": {basic.netloc: "testhelper"}})
    _behave(helper, "ok", {basic.netloc: [reg.USER, reg.PASSWORD]})
    rc, _, err = _push(run, bundle, basic, "--json")
    assert rc == 0, err
    assert _calls(helper) == [[["get"], basic.netloc]]


def test_a_helper_without_credentials_for_the_host_means_none(
    run, bundle: Path, helper: Path, basic: reg.Registry
) -> None:
    _config({"credsStore": "testhelper"})
    _behave(helper, "ok", {"elsewhere.example:443": ["someone", "other-secret"]})
    rc, _, err = _push(run, bundle, basic)
    assert rc == 1 and err.splitlines()[-1] == (
        f"error: https://{basic.netloc}: the registry asks for authentication; no "
        f"credentials for it were found in ~/.docker/config.json or REGISTRY_AUTH_FILE "
        f"(`docker login` / `podman login` writes them)"
    )


@pytest.mark.parametrize(
    ("store", "mode", "said"),
    [
        (
            "missing",
            "ok",
            "the credential helper docker-credential-missing is not on PATH; install it, "
            "or remove it from the docker config to use the credentials in 'auths'",
        ),
        ("testhelper", "broken", "docker-credential-testhelper get failed (exit 3)"),
        (
            "testhelper",
            "flood",
            "docker-credential-testhelper get: more than 65536 bytes of answer; refused",
        ),
    ],
)
def test_a_helper_that_is_missing_or_fails_is_one_line(
    run, bundle: Path, helper: Path, basic: reg.Registry, store: str, mode: str, said: str
) -> None:
    config = _config({"credsStore": store})
    _behave(helper, mode)
    rc, stdout, err = _push(run, bundle, basic)
    assert rc == 1 and stdout == "" and "Traceback" not in err
    assert err.splitlines() == [f"error: {config} (credsStore): {said}"]
    assert reg.PASSWORD not in err  # the broken helper printed it as JSON: not shown
    assert basic.requests("[A-Z]+") == []  # nothing was sent
