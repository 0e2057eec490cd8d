"""The whole environment crosses the gap: ``vendor install`` installs the conda packages
and then exactly the locked wheels, offline, hash-checked, with the environment's own pip;
the bundle's environment files carry a ``pip:`` part that does the same when conda runs it.

Real pieces only: a ``python`` conda package made from the interpreter running the tests
and a ``pip`` package holding its pip (tests/support/python_pkg.py), real PyPI wheels
(../shared/testdata/pypi), both served on 127.0.0.1 while the bundle is made and gone
when it is installed. The real conda run of the environment file is in
tests/conda/test_pip_offline.py; here, where CI has no conda, pip is run the way conda
26.7 runs it (``python -m pip install -U -r <file in the environment file's folder>
--exists-action=b`` in that folder).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conda_vendor_plugin.formats import explicit_v1

from ..support.pypi import write_simple_index
from ..support.python_pkg import host_subdir, write_python_channel

pytest.importorskip("rattler")
pytest.importorskip("pip")

HOST = host_subdir()
TAG = f"cp{sys.version_info.major}{sys.version_info.minor}"
# pure wheels for every Python; msgpack's binary wheels where the test data has them
PIP = ["urllib3", "idna", *(["msgpack"] if TAG in ("cp310", "cp312") else [])]
LOCK = "envs/demo/current/environment.lock.yml"


@pytest.fixture
def bundle(tmp_path: Path, http_server, shared_testdata: Path, run) -> Path:
    """A bundle of python + pip (conda) and PIP (wheels) for this machine, made while
    the channel and the index are served; both are gone afterwards."""
    served = tmp_path / "served"
    write_simple_index(served / "pypi", sorted((shared_testdata / "pypi" / "wheels").iterdir()))
    write_python_channel(served / "conda")
    url = http_server.url
    env = tmp_path / "demo.yml"
    lines = ["name: demo", "channels:", f"  - {url}/conda", "dependencies:", "  - python"]
    lines += ["  - pip", "  - pip:", f"    - --index-url {url}/pypi/simple/"]
    lines += [f"    - {p}" for p in PIP]
    env.write_text("\n".join(lines) + "\n")
    out = tmp_path / "OUT"
    rc, said, err = run("vendor", env, "--platform", HOST, "-o", out, "--cache-dir", tmp_path / "c")
    assert rc == 0, err
    (tmp_path / "vendor-output.txt").write_text(said + err)
    shutil.rmtree(served)  # the channel and the index are gone from here on
    return out


def _python(prefix: Path) -> Path:
    return prefix / "bin" / "python"


def _pip_list(prefix: Path) -> dict[str, str]:
    proc = subprocess.run(
        [_python(prefix), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {d["name"].lower(): d["version"] for d in json.loads(proc.stdout)}


def _locked_wheels(out: Path) -> dict[str, str]:
    lock = explicit_v1.load(out / LOCK)
    return {w.name.lower(): w.version for w in lock.pypi[HOST]}


def test_vendor_install_installs_the_locked_wheels_offline(tmp_path: Path, bundle: Path, run):
    prefix = tmp_path / "env"
    rc, out, err = run("vendor", "install", bundle, "--prefix", prefix)
    assert rc == 0, err
    locked = _locked_wheels(bundle)
    assert sorted(locked) == sorted(PIP)
    listed = _pip_list(prefix)
    assert {n: listed.get(n) for n in locked} == locked  # exactly the locked versions
    code = "import sys, urllib3, idna; print(sys.prefix)"
    proc = subprocess.run([_python(prefix), "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == str(prefix), proc.stderr
    assert f"and {len(locked)} wheels (pip, --require-hashes)" in out + err
    assert "not installed" not in out + err


def test_vendor_install_json_names_the_wheels(tmp_path: Path, bundle: Path, run):
    rc, out, err = run("vendor", "install", bundle, "--prefix", tmp_path / "env", "--json")
    assert rc == 0, err
    doc = json.loads(out)
    assert sorted(w.split("-")[0].lower() for w in doc["wheels"]) == sorted(PIP)
    assert doc["not_installed"] == []


def test_an_altered_wheel_is_refused_before_anything_is_installed(
    tmp_path: Path, bundle: Path, run
):
    wheel = next((bundle / "pypi" / "simple" / "idna").glob("*.whl"))
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 1
    wheel.write_bytes(bytes(data))
    prefix = tmp_path / "env"
    rc, _, err = run("vendor", "install", bundle, "--prefix", prefix)
    assert rc == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: pypi/simple/idna/{wheel.name}: sha256 "), err
    assert "nothing was installed" in lines[0]
    assert not prefix.exists()


def test_pips_refusal_leaves_no_prefix_and_quotes_pip(tmp_path: Path, bundle: Path, run):
    """A wheel that matches its lock but that pip cannot install (the lock was edited to
    name a broken file): the conda packages were linked already; PREFIX is removed again
    (a previous one is put back) and the one line quotes pip's reason."""
    wheel = next((bundle / "pypi" / "simple" / "idna").glob("*.whl"))
    old = hashlib.sha256(wheel.read_bytes()).hexdigest()
    broken = b"not a zip archive"
    wheel.write_bytes(broken)
    lock = (bundle / LOCK).resolve()
    text = lock.read_text().replace(old, hashlib.sha256(broken).hexdigest())
    lock.write_text(
        re.sub(r"(idna-[^\n]*\n(?:\s+\w+:.*\n)*?\s+size: )\d+", rf"\g<1>{len(broken)}", text)
    )
    prefix = tmp_path / "env"
    prefix.mkdir()
    (prefix / "mine.txt").write_text("a user's file")
    rc, _, err = run("vendor", "install", bundle, "--prefix", prefix, "--force")
    assert rc == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: pip refused the locked wheels: "), err
    assert wheel.name in lines[0] and lines[0].endswith("nothing was installed")
    assert sorted(p.name for p in prefix.iterdir()) == ["mine.txt"]


def test_the_environment_files_pip_part_installs_exactly_the_locked_wheels(
    tmp_path: Path, bundle: Path, run
):
    """The environment file's pip: lines, run as conda 26.7 runs them, through the
    ``current`` link and from the version's own folder: no index, every hash checked."""
    text = (bundle / "envs/demo/current" / f"environment-{HOST}.yml").read_text()
    pip_lines = _pip_part(text)
    assert pip_lines[:2] == ["--no-index", "--require-hashes"]
    assert pip_lines[2] == "--find-links file:../../../../pypi/simple/idna"
    current = (bundle / "envs/demo/current").resolve()
    for n, folder in enumerate((bundle / "envs/demo/current", current)):
        prefix = tmp_path / f"env{n}"
        rc, _, err = run("vendor", "install", bundle, "--prefix", prefix)
        assert rc == 0, err
        _uninstall(prefix, PIP)
        _as_conda_runs_pip(prefix, folder, pip_lines)
        assert {k: v for k, v in _pip_list(prefix).items() if k in PIP} == _locked_wheels(bundle)


def test_the_environment_files_pip_part_refuses_an_altered_wheel(tmp_path: Path, bundle: Path, run):
    prefix = tmp_path / "env"
    rc, _, err = run("vendor", "install", bundle, "--prefix", prefix)
    assert rc == 0, err
    _uninstall(prefix, PIP)
    wheel = next((bundle / "pypi" / "simple" / "urllib3").glob("*.whl"))
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 1
    wheel.write_bytes(bytes(data))
    text = (bundle / "envs/demo/current" / f"environment-{HOST}.yml").read_text()
    pip_lines = [
        x.removeprefix("    - ").strip('"') for x in text.split("  - pip:\n")[1].split("\n")
    ]
    with pytest.raises(subprocess.CalledProcessError) as e:
        _as_conda_runs_pip(prefix, bundle / "envs/demo/current", [x for x in pip_lines if x])
    assert "DO NOT MATCH THE HASHES" in e.value.stderr
    assert "urllib3" not in _pip_list(prefix)


def test_the_header_says_how_the_pip_part_finds_the_wheels(bundle: Path):
    text = (bundle / "envs/demo/current" / f"environment-{HOST}.yml").read_text()
    header = [line for line in text.splitlines() if line.startswith("#")]
    pointer = (bundle / "envs/demo/current.txt").read_text().split()[0]
    assert pointer.startswith("versions/")
    assert header[3] == (
        f"#   conda env create -n <name> --offline -f envs/demo/{pointer}/environment-{HOST}.yml"
    )
    assert header[8:] == [
        "# The pip: part then installs exactly the locked wheels from the bundle's pypi/simple/",
        "# (no index; pip checks every sha256). Its paths are relative to this file's folder:",
        "# give it as above, or as envs/demo/current/ where that is a link to it.",
    ]
    assert (bundle / "envs/demo" / pointer / f"environment-{HOST}.yml").is_file()


def _pip_part(env_file_text: str) -> list[str]:
    lines = env_file_text.split("  - pip:\n", 1)[1].splitlines()
    return [line.removeprefix("    - ").strip('"') for line in lines]


def _uninstall(prefix: Path, names: list[str]) -> None:
    subprocess.run(
        [_python(prefix), "-m", "pip", "uninstall", "-y", "--disable-pip-version-check", *names],
        capture_output=True,
        check=True,
    )


def _as_conda_runs_pip(prefix: Path, folder: Path, lines: list[str]) -> None:
    """conda 26.7's pip step (conda/env/installers/pip.py): the lines into a temporary
    requirements file in the environment file's folder, pip run in that folder."""
    requirements = folder / "condaenv.test.requirements.txt"
    requirements.write_text("\n".join(lines))
    try:
        subprocess.run(
            [
                _python(prefix),
                "-m",
                "pip",
                "install",
                "-U",
                "-r",
                requirements.name,
                "--exists-action=b",
            ],
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        requirements.unlink()


def test_the_readme_counts_the_wheels_and_gives_the_install_that_runs_them(bundle: Path):
    readme = (bundle / "README.md").read_text()
    n = len(PIP)
    wheels = [rel for rel in (bundle / "pypi").rglob("*.whl")]
    size = sum(p.stat().st_size for p in (bundle / "pypi").rglob("*") if p.is_file())
    assert f"- `pypi/simple/`: {n} wheels ({size:,} bytes), the `pip:` dependencies" in readme
    assert len(wheels) == n
    assert f"({HOST}: 2 packages + {n} wheels; " in readme
    pointer = (bundle / "envs/demo/current.txt").read_text().split()[0]
    command = (
        f"    conda env create -p <prefix> --offline -f envs/demo/{pointer}/environment-{HOST}.yml"
    )
    assert command in readme.splitlines()
    assert (
        f"demo ({HOST}): the environment file, whose `pip:` part then installs the locked "
        "wheels from `pypi/simple/` (no index, every sha256 checked by pip); a CEP 23 explicit "
        "file cannot hold wheels."
    ) in readme
    assert ".explicit.txt" not in readme


def test_vendor_install_help_text(capsys: pytest.CaptureFixture[str]):
    from conda_vendor_plugin import cli

    with pytest.raises(SystemExit):
        cli.main(["vendor", "install", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert (
        "the lock's wheels are installed after the conda packages by the environment's pip "
        "(--no-index --require-hashes)."
    ) in text


def test_the_next_steps_give_the_install_with_conda_alone_that_runs_the_wheels(
    bundle: Path, tmp_path: Path
):
    """A CEP 23 file cannot hold wheels: for a platform with wheels, the printed "conda
    alone" install is the version's environment file (the real conda run of that form is
    in tests/conda/test_pip_offline.py)."""
    said = (tmp_path / "vendor-output.txt").read_text()
    pointer = (bundle / "envs/demo/current.txt").read_text().split()[0]
    env_file = f"envs/demo/{pointer}/environment-{HOST}.yml"
    assert (
        f"       conda env create -n <name> --offline -f {env_file}  (demo; conda alone, then "
        f"its {len(PIP)} wheels by pip)"
    ) in said.splitlines()
    assert ".explicit.txt" not in said[said.index("Next steps:") :]
    assert (bundle / env_file).is_file()


def test_the_explicit_file_says_which_file_installs_its_wheels(bundle: Path):
    text = (bundle / "envs/demo/current" / f"{HOST}.explicit.txt").read_text()
    n = len(PIP)
    assert (
        f"# Not here: the {n} wheels locked for {HOST} (a CEP 23 file cannot hold wheels); "
        f"environment-{HOST}.yml in this folder installs them too (its pip: part), as do the "
        "lockfile with this plugin and vendor install"
    ) in text.splitlines()
    assert (bundle / "envs/demo/current" / f"environment-{HOST}.yml").is_file()
