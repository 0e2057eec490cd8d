"""The commands behave as a conda user expects, the same standalone and inside conda:
errors are one line with conda's exit statuses (2 for usage), ``--json`` keeps the error's
type, flags conda users know are accepted, each command has its own help.

Standalone runs go through ``python -m conda_vendor_plugin``, conda runs through
``python -m conda``, each a real subprocess with its own home and configuration.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

from conda_vendor_plugin import __version__

from .support.build import Pkg, build_channel
from .support.condarun import conda_environ
from .support.locking import run_module
from .support.server import ChannelServer
from .support.vendoring import write_env

pytest.importorskip("rattler")

HAS_CONDA = importlib.util.find_spec("conda") is not None
MODES = ["standalone", "conda"] if HAS_CONDA else ["standalone"]


@pytest.fixture
def invoke(tmp_path: Path):
    """``invoke(mode, *args)``: ``lock``/``vendor`` in that mode (``conda env lock`` for lock
    inside conda), as a subprocess with its own home."""

    def call(mode: str, command: str, *args: object):
        environ = conda_environ(tmp_path, "classic")  # os.environ as the test has set it
        argv = [str(a) for a in args]
        if mode == "standalone":
            return run_module("conda_vendor_plugin", command, *argv, env=environ)
        conda_command = ["env", "lock"] if command == "lock" else [command]
        return run_module("conda", *conda_command, *argv, env=environ)

    return call


@pytest.fixture
def env(http_server: ChannelServer, tmp_path: Path) -> Path:
    build_channel(tmp_path / "served" / "ch", [Pkg("a", depends=["b"]), Pkg("b")])
    return write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["a"])


def _no_report(proc) -> None:
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text and "An unexpected error has occurred" not in text, text


@pytest.mark.parametrize("mode", MODES)
def test_an_unknown_platform_is_a_usage_error_naming_the_known_ones(
    env: Path, invoke, mode: str
) -> None:
    proc = invoke(mode, "lock", "-f", env, "--platform", "linux-86")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    _no_report(proc)
    assert "'linux-86' is not a platform conda knows" in proc.stdout + proc.stderr
    assert "linux-64" in proc.stdout + proc.stderr and "osx-arm64" in proc.stdout + proc.stderr
    doc = json.loads(invoke(mode, "lock", "-f", env, "--platform", "linux-86", "--json").stdout)
    name = doc.get("error_type") or doc.get("exception_name")
    assert name == "UsageError"


@pytest.mark.parametrize("mode", MODES)
def test_json_keeps_the_type_of_the_error(
    http_server: ChannelServer, env: Path, tmp_path: Path, invoke, mode: str
) -> None:
    unsolvable = write_env(tmp_path / "bad.yml", [f"{http_server.url}/ch"], ["a >=9"])
    proc = invoke(mode, "lock", "-f", unsolvable, "--platform", "linux-64", "--json")
    assert proc.returncode == 1
    _no_report(proc)
    doc = json.loads(proc.stdout)
    assert (doc.get("error_type") or doc.get("exception_name")) == "SolveError"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("vendor", "prune", "{out}"), id="prune-without-keep"),
        pytest.param(("vendor", "apply", "{out}"), id="apply-without-to"),
        pytest.param(("vendor", "{env}", "-o", "{out}", "-j", "0"), id="jobs"),
        pytest.param(("vendor", "{env}", "--no-such-flag"), id="unknown-flag"),
        pytest.param(("lock", "-f", "{env}", "--channel-priority", "sometimes"), id="priority"),
    ],
)
def test_usage_errors_exit_2(env: Path, tmp_path: Path, invoke, mode: str, args) -> None:
    argv = [a.format(env=env, out=tmp_path / "OUT") for a in args]
    proc = invoke(mode, *argv)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    _no_report(proc)
    assert not (tmp_path / "OUT").exists()


@pytest.mark.parametrize("mode", MODES)
def test_vendor_verify_has_its_own_help(invoke, mode: str) -> None:
    proc = invoke(mode, "vendor", "verify", "--help")
    assert proc.returncode == 0
    assert "vendor verify [-h] [--json] OUT" in proc.stdout and "air gap" in proc.stdout
    assert "--lockfile" not in proc.stdout  # not vendor's own options
    vendor = invoke(mode, "vendor", "--help")
    assert vendor.returncode == 0 and "--lockfile" in vendor.stdout


@pytest.mark.parametrize("mode", MODES)
def test_vendor_sub_commands_are_in_the_usage_and_each_has_its_own_options(
    invoke, mode: str
) -> None:
    vendor = invoke(mode, "vendor", "--help")
    usage = " ".join(vendor.stdout.split("\n\n", 1)[0].split())
    assert "{verify,prune,apply,install,pack,unpack,push,pull} ... | ENV_FILE ..." in usage, usage
    assert "--keep" not in vendor.stdout and "--to" not in vendor.stdout
    apply = invoke(mode, "vendor", "apply", "--help")
    assert apply.returncode == 0
    assert "vendor apply [-h] --to BUNDLE [--json] DELTA" in " ".join(apply.stdout.split())
    assert "--lockfile" not in apply.stdout and "--keep" not in apply.stdout
    prune = invoke(mode, "vendor", "prune", "--help")
    assert "--keep N" in prune.stdout and "--drop NAME" in prune.stdout
    assert "--to" not in prune.stdout


@pytest.mark.parametrize("mode", MODES)
def test_a_sub_command_option_on_a_plain_vendor_is_a_usage_error(
    env: Path, tmp_path: Path, invoke, mode: str
) -> None:
    """``vendor env.yml --keep 2 --to X`` used to vendor and ignore both options."""
    out = tmp_path / "OUT"
    proc = invoke(mode, "vendor", env, "-o", out, "--keep", "2", "--to", tmp_path / "X")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    _no_report(proc)
    assert "unrecognized arguments: --keep 2 --to" in proc.stderr
    assert not out.exists()
    before = invoke(mode, "vendor", "-o", out, "verify", tmp_path / "X")
    assert before.returncode == 2, before.stdout + before.stderr
    assert "vendor options before 'verify' (output) are not verify's" in before.stderr


@pytest.mark.parametrize("mode", MODES)
def test_a_mistyped_command_is_named_with_the_one_meant(tmp_path: Path, invoke, mode: str) -> None:
    proc = invoke(mode, "vendor", "verfiy", tmp_path / "OUT")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    _no_report(proc)
    assert proc.stderr.splitlines()[-1].endswith(
        "error: unknown command 'verfiy'; did you mean 'verify'?"
    )
    other = invoke(mode, "vendor", "frobnicate")
    assert other.returncode == 2
    assert (
        "unknown command 'frobnicate'; commands: verify, prune, apply, install, pack, unpack"
        in other.stderr
    )


@pytest.mark.parametrize("mode", MODES)
def test_plain_vendor_still_vendors_and_sub_commands_run(
    env: Path, tmp_path: Path, invoke, mode: str
) -> None:
    """``vendor ENV_FILE`` vendors; a file named like a command is still a file."""
    out = tmp_path / "OUT"
    proc = invoke(mode, "vendor", env, "-o", out, "--platform", "linux-64")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (out / "manifest.json").is_file()
    verify = invoke(mode, "vendor", "--json", "verify", out)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads(verify.stdout)["problems"] == 0
    prune = invoke(mode, "vendor", "prune", out, "--keep", "1", "--json")
    assert prune.returncode == 0, prune.stdout + prune.stderr
    assert json.loads(prune.stdout)["dropped_versions"] == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("command", ["lock", "vendor"])
def test_the_earlier_dash_p_platform_is_one_line_naming_the_new_flag(
    env: Path, tmp_path: Path, invoke, mode: str, command: str
) -> None:
    """``-p`` names a prefix, as in every conda command; ``-p linux-64`` (no environment
    there, and a platform's name) says what to write instead."""
    args = ["-f", env] if command == "lock" else [env, "-o", tmp_path / "OUT"]
    proc = invoke(mode, command, *args, "-p", "linux-64")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    _no_report(proc)
    assert "-p names a prefix as in conda; for a platform use --platform linux-64" in (proc.stderr)
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1, proc.stderr
    assert not (tmp_path / "OUT").exists() and not (tmp_path / "env.lock.yml").exists()


@pytest.mark.parametrize("mode", MODES)
def test_platform_subdir_and_yes_are_conda_s_flags(
    env: Path, tmp_path: Path, invoke, mode: str
) -> None:
    proc = invoke(mode, "lock", "-f", env, "--subdir", "osx-arm64", "--platform", "win-64", "-y")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = (tmp_path / "env.lock.yml").read_text()
    assert "osx-arm64:" in doc and "win-64:" in doc and "linux-64:" not in doc


@pytest.mark.parametrize("mode", MODES)
def test_channel_flags_add_to_or_replace_the_file_s_channels(
    http_server: ChannelServer, env: Path, tmp_path: Path, invoke, mode: str
) -> None:
    """``-c`` goes before the file's channels, ``--override-channels`` drops them; the
    lockfile records the channels used and its input hash covers them (``--check``)."""
    from conda_vendor_plugin.formats import explicit_v1

    build_channel(tmp_path / "served" / "ch2", [Pkg("a", depends=["b"]), Pkg("b")])
    extra = f"{http_server.url}/ch2"
    out = tmp_path / "x.lock.yml"
    base = ["-f", env, "--platform", "linux-64", "-o", out]
    proc = invoke(mode, "lock", *base, "-c", extra, "--override-channels")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    replaced = explicit_v1.load(out)
    assert replaced.channels == (extra,)
    assert {p.url.rsplit("/", 2)[0] for p in replaced.packages["linux-64"]} == {extra}
    assert (
        invoke(mode, "lock", *base, "-c", extra, "--override-channels", "--check").returncode == 0
    )
    assert invoke(mode, "lock", *base, "--check").returncode == 1  # another request
    assert invoke(mode, "lock", *base, "-c", extra).returncode == 0
    added = explicit_v1.load(out)
    assert added.channels == (extra, f"{http_server.url}/ch")
    assert len({replaced.input_hash, added.input_hash}) == 2
    alone = invoke(mode, "lock", *base, "--override-channels")
    assert alone.returncode == 2 and "--override-channels: name the channels" in alone.stderr


@pytest.mark.parametrize("mode", MODES)
def test_lock_dry_run_prints_exactly_the_lockfile_and_writes_nothing(
    env: Path, tmp_path: Path, invoke, mode: str
) -> None:
    dry = invoke(mode, "lock", "-f", env, "--platform", "linux-64", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert not (tmp_path / "env.lock.yml").exists()
    assert "would write" in dry.stderr
    assert invoke(mode, "lock", "-f", env, "--platform", "linux-64").returncode == 0
    assert dry.stdout == (tmp_path / "env.lock.yml").read_text()


@pytest.mark.parametrize("mode", MODES)
def test_offline_flag_and_conda_offline(
    http_server: ChannelServer, env: Path, tmp_path: Path, invoke, mode: str, monkeypatch
) -> None:
    """``--offline`` (or ``CONDA_OFFLINE=true``, conda's variable) uses what the caches hold
    and asks nothing of the network; without them, the cache is revalidated."""
    monkeypatch.setenv("CONDA_LOCAL_REPODATA_TTL", "0")  # conda: always revalidate online
    assert invoke(mode, "lock", "-f", env, "--platform", "linux-64").returncode == 0
    before = len(http_server.requests)
    assert invoke(mode, "lock", "-f", env, "--platform", "linux-64").returncode == 0
    assert len(http_server.requests) > before  # online: asks again
    for how in ("--offline", "CONDA_OFFLINE"):
        before = len(http_server.requests)
        if how == "CONDA_OFFLINE":
            monkeypatch.setenv("CONDA_OFFLINE", "true")
            proc = invoke(mode, "lock", "-f", env, "--platform", "linux-64")
        else:
            proc = invoke(mode, "lock", "-f", env, "--platform", "linux-64", "--offline")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert len(http_server.requests) == before, how  # nothing asked of the network


def test_the_console_script_names_itself() -> None:
    beside = Path(sys.executable).parent / "conda-vendor-plugin"
    script = str(beside) if beside.exists() else shutil.which("conda-vendor-plugin") or ""
    if not Path(script).exists():
        pytest.skip("the console script is not installed next to this interpreter")
    import subprocess

    proc = subprocess.run([script, "--version"], capture_output=True, text=True)
    assert proc.stdout.strip() == f"conda-vendor-plugin {__version__}"
    module = run_module("conda_vendor_plugin", "--version")
    assert module.stdout.strip() == f"python -m conda_vendor_plugin {__version__}"


@pytest.mark.parametrize("mode", MODES)
def test_a_pip_entry_vendor_cannot_carry_is_refused_before_solving(
    http_server: ChannelServer, tmp_path: Path, invoke, mode: str
) -> None:
    build_channel(tmp_path / "served" / "ch", [Pkg("a")])
    env = tmp_path / "env.yml"
    env.write_text(
        f"channels: ['{http_server.url}/ch']\ndependencies:\n  - a\n"
        "  - pip:\n    - requests>=2\n    - git+https://example.invalid/x.git\n"
    )
    out = tmp_path / "OUT"
    proc = invoke(mode, "vendor", env, "-o", out, "--platform", "linux-64")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    said = [line for line in proc.stderr.splitlines() if line.strip()]
    assert said[-1].endswith(
        f"{env}: pip: 'git+https://example.invalid/x.git' is a VCS requirement; only "
        "requirements resolved to wheels from an index can be vendored"
    )
    assert not out.exists()
    assert not [p for _, p, _, _ in http_server.requests if p.startswith("/ch/")]  # no solve
