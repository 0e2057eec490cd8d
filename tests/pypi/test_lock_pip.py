"""``lock`` with a ``pip:`` section, end to end: a conda channel with ``python`` and a PEP 503
index of real PyPI wheels (../shared/testdata/pypi), both served on 127.0.0.1; the wheels
are resolved by pip itself for each target platform, from linux."""

from __future__ import annotations

from pathlib import Path

import pytest

from conda_vendor_plugin.formats import explicit_v1
from conda_vendor_plugin.pypi.records import Wheel

from ..support.pypi import sha256_file
from .conftest import env_file

pytest.importorskip("rattler")
pytest.importorskip("pip")


def files(wheels: tuple[Wheel, ...]) -> list[str]:
    return sorted(w.filename for w in wheels)


CLOSURE_312 = {
    "linux-64": [
        "certifi-2026.10.19.post1-py3-none-any.whl",
        "charset_normalizer-3.5.3-cp312-cp312-manylinux1_x86_64.manylinux_2_28_x86_64"
        ".manylinux_2_5_x86_64.whl",
        "idna-3.20-py3-none-any.whl",
        "msgpack-1.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "requests-2.32.3-py3-none-any.whl",
        "urllib3-2.8.0-py3-none-any.whl",
    ],
    "osx-arm64": [
        "certifi-2026.10.19.post1-py3-none-any.whl",
        "charset_normalizer-3.5.3-cp312-cp312-macosx_10_13_universal2.whl",
        "idna-3.20-py3-none-any.whl",
        "msgpack-1.1.0-cp312-cp312-macosx_11_0_arm64.whl",
        "requests-2.32.3-py3-none-any.whl",
        "urllib3-2.8.0-py3-none-any.whl",
    ],
    "win-64": [
        "certifi-2026.10.19.post1-py3-none-any.whl",
        "charset_normalizer-3.5.3-cp312-cp312-win_amd64.whl",
        "idna-3.20-py3-none-any.whl",
        "msgpack-1.1.0-cp312-cp312-win_amd64.whl",
        "requests-2.32.3-py3-none-any.whl",
        "urllib3-2.8.0-py3-none-any.whl",
    ],
}


def test_lock_resolves_the_target_platforms_wheels_for_the_solved_python(
    tmp_path: Path, served, run, shared_testdata: Path
):
    channel, index, _root = served
    env = env_file(
        tmp_path / "env.yml",
        channel,
        ["python 3.12.*"],
        [f"--index-url {index}", "requests", "msgpack"],
    )
    rc, out, err = run("lock", "-f", env, "--cache-dir", tmp_path / "cache")
    assert rc == 0, err
    lock = explicit_v1.load(tmp_path / "env.lock.yml")
    assert {p: files(w) for p, w in lock.pypi.items()} == CLOSURE_312
    for wheels in lock.pypi.values():
        for w in wheels:
            assert w.sha256 == sha256_file(shared_testdata / "pypi" / "wheels" / w.filename)
            assert w.url == f"{index.removesuffix('simple/')}files/{w.filename}"
    requests = next(w for w in lock.pypi["linux-64"] if w.name == "requests")
    assert (requests.version, requests.requires_python) == ("2.32.3", ">=3.8")
    assert "Locked linux-64: 6 wheels for the pip: section" in err + out


def test_an_older_python_gets_its_own_abi_wheels(tmp_path: Path, served, run):
    channel, index, _ = served
    pip = [f"--index-url {index}", "msgpack"]
    env = env_file(tmp_path / "env.yml", channel, ["python 3.10.*"], pip)
    rc, _, err = run("lock", "-f", env, "--cache-dir", tmp_path / "cache")
    assert rc == 0, err
    lock = explicit_v1.load(tmp_path / "env.lock.yml")
    assert {p: files(w) for p, w in lock.pypi.items()} == {
        "linux-64": ["msgpack-1.1.0-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"],
        "osx-arm64": ["msgpack-1.1.0-cp310-cp310-macosx_11_0_arm64.whl"],
        "win-64": ["msgpack-1.1.0-cp310-cp310-win_amd64.whl"],
    }


def test_what_the_conda_solve_provides_is_not_resolved_again(tmp_path: Path, served, run):
    channel, index, _ = served
    pip = [f"--index-url {index}", "requests"]
    env = env_file(tmp_path / "env.yml", channel, ["python 3.12.*", "urllib3"], pip, ["linux-64"])
    rc, _, err = run("lock", "-f", env, "--cache-dir", tmp_path / "cache")
    assert rc == 0, err
    lock = explicit_v1.load(tmp_path / "env.lock.yml")
    assert "urllib3" in {p.name for p in lock.packages["linux-64"]}
    assert sorted(w.name for w in lock.pypi["linux-64"]) == [
        "certifi",
        "charset-normalizer",
        "idna",
        "requests",
    ]


def test_a_conda_package_pip_would_replace_is_refused(tmp_path: Path, served, run):
    channel, index, _ = served
    pip = [f"--index-url {index}", "requests"]
    env = env_file(tmp_path / "env.yml", channel, ["python 3.12.*", "idna"], pip, ["linux-64"])
    rc, _, err = run("lock", "-f", env, "--cache-dir", tmp_path / "cache")
    assert rc == 1
    assert err.strip().splitlines()[-1] == (
        f"error: {env}: pip: linux-64 (CPython 3.12): the pip requirements need idna 3.20, "
        "but the conda solve provides 1.0; pin a compatible version in dependencies or in "
        "the pip: section"
    )
    assert not (tmp_path / "env.lock.yml").exists()


def test_an_sdist_only_project_is_refused_naming_it_and_the_platform(tmp_path: Path, served, run):
    channel, index, _ = served
    pip = [f"--index-url {index}", "msgpack", "pathtools"]
    env = env_file(tmp_path / "env.yml", channel, ["python 3.12.*"], pip)
    rc, _out, err = run("lock", "-f", env, "--cache-dir", tmp_path / "cache")
    assert rc == 1
    assert err.strip().splitlines()[-1] == (
        f"error: {env}: pip: pathtools has no wheel for linux-64 (CPython 3.12) on the index "
        "(a project with only source distributions cannot be vendored; build a wheel and "
        "publish it to an index or a --find-links location, or leave it out with "
        "--ignore-pip-non-wheel)"
    )
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "env.yml", "served"]


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("-e .", "is an editable requirement"),
        ("git+https://github.com/psf/requests@v2.32.3", "is a VCS requirement"),
        ("./src/mypkg", "is a local path"),
        ("mypkg @ file:///srv/mypkg", "is a local path"),
        ("-r requirements.txt", "is a pip option this tool does not pass on"),
    ],
)
def test_requirements_that_cannot_be_vendored_are_refused(
    tmp_path: Path, served, run, entry: str, why: str
):
    channel, index, _root = served
    env = env_file(
        tmp_path / "env.yml", channel, ["python 3.12.*"], [f"--index-url {index}", entry]
    )
    rc, _, err = run("lock", "-f", env, "--cache-dir", tmp_path / "cache")
    assert rc == 1
    assert err.strip().splitlines() == [
        f"error: {env}: pip: {entry!r} {why}; only requirements resolved to wheels from an "
        "index can be vendored"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env.yml", "served"]


def test_credentials_in_the_index_url_never_reach_the_lockfile_or_output(
    tmp_path: Path, served, run
):
    channel, index, _ = served
    secret_index = index.replace("http://", "http://alice:s3cret@")
    env = env_file(
        tmp_path / "env.yml", channel, ["python 3.12.*"], [f"--index-url {secret_index}", "msgpack"]
    )
    rc, out, err = run("lock", "-f", env, "--cache-dir", tmp_path / "cache")
    assert rc == 0, err
    text = (tmp_path / "env.lock.yml").read_text()
    assert "msgpack-1.1.0-cp312-cp312-win_amd64.whl" in text
    assert "s3cret" not in text + out + err and "alice" not in text + out + err


def test_pips_own_configuration_gives_the_index(
    tmp_path: Path, served, run, monkeypatch: pytest.MonkeyPatch
):
    channel, index, _ = served
    monkeypatch.setenv("PIP_INDEX_URL", index)
    env = env_file(tmp_path / "env.yml", channel, ["python 3.12.*"], ["msgpack"], ["win-64"])
    rc, _, err = run("lock", "-f", env, "--cache-dir", tmp_path / "cache")
    assert rc == 0, err
    lock = explicit_v1.load(tmp_path / "env.lock.yml")
    assert files(lock.pypi["win-64"]) == ["msgpack-1.1.0-cp312-cp312-win_amd64.whl"]


def test_check_covers_the_pip_section(tmp_path: Path, served, run):
    channel, index, _ = served
    env = env_file(
        tmp_path / "env.yml",
        channel,
        ["python 3.12.*"],
        [f"--index-url {index}", "msgpack"],
        ["linux-64"],
    )
    assert run("lock", "-f", env, "--cache-dir", tmp_path / "cache")[0] == 0
    assert run("lock", "-f", env, "--check")[0] == 0
    env_file(
        tmp_path / "env.yml",
        channel,
        ["python 3.12.*"],
        [f"--index-url {index}", "requests"],
        ["linux-64"],
    )
    rc, _, err = run("lock", "-f", env, "--check")
    assert rc == 1 and "out of date" in err


def test_cep23_output_says_once_that_it_cannot_hold_wheels(tmp_path: Path, served, run):
    channel, index, _ = served
    env = env_file(
        tmp_path / "env.yml",
        channel,
        ["python 3.12.*"],
        [f"--index-url {index}", "msgpack"],
        ["linux-64", "win-64"],
    )
    out_path = tmp_path / "env.{platform}.txt"
    rc, out, err = run(
        "lock", "-f", env, "--format", "explicit", "-o", out_path, "--cache-dir", tmp_path / "cache"
    )
    assert rc == 0, err
    line = (
        "CEP 23 explicit files cannot hold wheels: the pip: packages locked for this "
        "environment are not in them (lock with --format explicit-1.0 to keep them)"
    )
    assert (out + err).count(line) == 1
    assert f"warning: {line}" in out + err
    for platform in ("linux-64", "win-64"):
        header = (tmp_path / f"env.{platform}.txt").read_text().split("\n@EXPLICIT\n")[0] + "\n"
        assert f"# Not here: {line}\n" in header


def test_an_older_target_glibc_refuses_a_wheel_that_needs_a_newer_one(
    tmp_path: Path, served, run, monkeypatch: pytest.MonkeyPatch
):
    """msgpack's linux wheel is manylinux_2_17: a target with glibc 2.12 cannot run it."""
    channel, index, _ = served
    monkeypatch.setenv("CONDA_OVERRIDE_GLIBC", "2.12")
    pip = [f"--index-url {index}", "msgpack"]
    env = env_file(tmp_path / "env.yml", channel, ["python 3.12.*"], pip, ["linux-64"])
    rc, _, err = run("lock", "-f", env, "--cache-dir", tmp_path / "cache")
    assert rc == 1
    assert "pip: msgpack has no wheel for linux-64 (CPython 3.12) on the index" in err


def test_environment_markers_are_the_targets_not_this_machines(tmp_path: Path, served, run):
    """``msgpack; sys_platform == "win32"`` is locked for win-64 only, ``idna;
    platform_machine == "arm64"`` for osx-arm64 only, though the lock runs on linux."""
    channel, index, _root = served
    env = env_file(
        tmp_path / "env.yml",
        channel,
        ["python 3.12.*"],
        [
            f"--index-url {index}",
            "msgpack; sys_platform == 'win32'",
            "idna; platform_machine == 'arm64' and platform_system == 'Darwin'",
            "certifi; python_full_version >= '3.12.7'",
        ],
    )
    rc, _, err = run("lock", "-f", env, "--cache-dir", tmp_path / "cache")
    assert rc == 0, err
    lock = explicit_v1.load(tmp_path / "env.lock.yml")
    names = {p: sorted(w.name.lower() for w in ws) for p, ws in lock.pypi.items()}
    assert names == {
        "linux-64": ["certifi"],
        "osx-arm64": ["certifi", "idna"],
        "win-64": ["certifi", "msgpack"],
    }


def test_ignore_pip_non_wheel_leaves_out_what_cannot_be_carried_and_says_so(
    tmp_path: Path, served, run
):
    """With --ignore-pip-non-wheel: the sdist-only project and the VCS requirement are
    left out on every platform, with a warning each, and recorded in the lockfile's
    pypi-skipped (credentials of the VCS URL stripped); the rest is locked as usual."""
    channel, index, _ = served
    vcs = "git+https://alice:s3cret@example.com/psf/requests@v2.32.3"
    pip = [f"--index-url {index}", "msgpack", "pathtools", vcs]
    env = env_file(tmp_path / "env.yml", channel, ["python 3.12.*"], pip, ["linux-64", "win-64"])
    rc, out, err = run(
        "lock", "-f", env, "--cache-dir", tmp_path / "cache", "--ignore-pip-non-wheel"
    )
    assert rc == 0, err
    lock = explicit_v1.load(tmp_path / "env.lock.yml")
    assert {p: files(w) for p, w in lock.pypi.items()} == {
        "linux-64": ["msgpack-1.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"],
        "win-64": ["msgpack-1.1.0-cp312-cp312-win_amd64.whl"],
    }
    left = sorted((f.platform, f.name, f.reason) for f in lock.foreign)
    assert left == [
        (p, name, why)
        for p in ("linux-64", "win-64")
        for name, why in sorted(
            [
                (
                    "git+https://example.com/psf/requests@v2.32.3",
                    "is a VCS requirement, not a wheel from an index",
                ),
                ("pathtools", f"needs pathtools, which has no wheel for {p} (CPython 3.12)"),
            ]
        )
    ]
    text = (tmp_path / "env.lock.yml").read_text()
    assert "s3cret" not in text + out + err and "pypi-skipped:" in text
    warnings = [line for line in err.splitlines() if line.startswith("warning: pip:")]
    assert (
        "warning: pip: pathtools left out for win-64 (--ignore-pip-non-wheel): needs "
        "pathtools, which has no wheel for win-64 (CPython 3.12)"
    ) in warnings
    assert len(warnings) == 4
    # the lockfile reads back the same; a reader of explicit-1.0 that knows nothing of
    # pypi-skipped still reads the conda part (it is one more top-level key)
    assert explicit_v1.load(tmp_path / "env.lock.yml").foreign == lock.foreign


def test_ignore_pip_non_wheel_does_not_pass_an_unknown_pip_option(tmp_path: Path, served, run):
    channel, index, _ = served
    pip = [f"--index-url {index}", "msgpack", "-r requirements.txt"]
    env = env_file(tmp_path / "env.yml", channel, ["python 3.12.*"], pip)
    rc, _, err = run("lock", "-f", env, "--ignore-pip-non-wheel")
    assert rc == 1
    assert "'-r requirements.txt' is a pip option this tool does not pass on" in err
