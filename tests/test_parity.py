"""Same request, same answer: standalone (py-rattler) and inside conda lock byte-identical
lockfiles, on channels built so that each difference the modes once had would show:
channel priority, virtual packages of a foreign target, conda's match spec forms and
``channel::pkg`` under a custom channel alias.

Each lock runs as a real subprocess (``python -m conda_vendor_plugin lock`` and
``python -m conda env lock``) with its own home, configuration and caches; the channels
are served over loopback HTTP. Skipped where conda or py-rattler is not importable.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conda_vendor_plugin.formats import explicit_v1

from .support.build import Pkg, build_channel
from .support.condarun import conda_environ
from .support.locking import run_module, write_env
from .support.server import ChannelServer

pytest.importorskip("conda")
pytest.importorskip("rattler")


@pytest.fixture
def lock_both(tmp_path: Path):
    """``lock(env, platform, *extra, condarc=..., standalone=(), **environ)`` in both
    modes (``standalone``: options only the standalone command has): returns
    ``{mode: (exit status, lockfile text or the error output)}``."""

    def lock(
        env: Path,
        platform: str,
        *extra: str,
        condarc: str = "",
        standalone: tuple[str, ...] = (),
        **environ: str,
    ):
        results = {}
        for mode in ("standalone", "conda"):
            root = tmp_path / f"{mode}-{len(list(tmp_path.iterdir()))}"
            variables = {**conda_environ(root, "classic", condarc or "channels: []\n"), **environ}
            out = root / "out.lock.yml"
            args = ("-f", env, "--platform", platform, "-o", out, *extra)
            if mode == "standalone":
                args += standalone
                proc = run_module("conda_vendor_plugin", "lock", *args, env=variables)
            else:
                proc = run_module("conda", "env", "lock", *args, env=variables)
            text = out.read_text() if proc.returncode == 0 else proc.stdout + proc.stderr
            results[mode] = (proc.returncode, text)
        return results

    return lock


def _same(results: dict) -> str:
    (rc1, a), (rc2, b) = results["standalone"], results["conda"]
    assert rc1 == rc2, results
    if rc1 == 0:
        assert a == b  # byte-identical lockfiles
    return a


def _versions(text: str, platform: str) -> dict[str, str]:
    lock = explicit_v1.read(text)
    return {p.name: p.version for p in lock.packages[platform]}


# ------------------------------------------------------------------ channel priority


@pytest.fixture
def two_channels(http_server: ChannelServer, tmp_path: Path) -> list[str]:
    """``hi`` (listed first) has pkg 1.0; ``lo`` has pkg 2.0."""
    build_channel(tmp_path / "served" / "hi", [Pkg("pkg", "1.0")])
    build_channel(tmp_path / "served" / "lo", [Pkg("pkg", "2.0")])
    return [f"{http_server.url}/hi", f"{http_server.url}/lo"]


@pytest.mark.parametrize(
    ("deps", "priority", "expected"),
    [
        (["pkg"], "strict", "1.0"),
        (["pkg"], "flexible", "1.0"),
        (["pkg"], "disabled", "2.0"),
        (["pkg >=2"], "strict", None),  # lo is never looked at: unsatisfiable
        (["pkg >=2"], "flexible", "2.0"),
        (["pkg >=2"], None, "2.0"),  # the default in both modes: flexible, as conda's
    ],
)
def test_channel_priority(
    two_channels: list[str], tmp_path: Path, lock_both, deps, priority, expected
) -> None:
    env = write_env(tmp_path / "env.yml", two_channels, deps)
    extra = ("--channel-priority", priority) if priority else ()
    text = _same(lock_both(env, "linux-64", *extra))
    if expected is None:
        return
    assert _versions(text, "linux-64") == {"pkg": expected}
    assert f"channel-priority: {priority or 'flexible'}\n" in text


def test_strict_channel_priority_from_condarc_and_the_environment(
    two_channels: list[str], tmp_path: Path, lock_both
) -> None:
    env = write_env(tmp_path / "env.yml", two_channels, ["pkg >=2"])
    results = lock_both(
        env,
        "linux-64",
        condarc="channels: []\nchannel_priority: strict\n",
        CONDA_CHANNEL_PRIORITY="strict",  # standalone reads conda's variable
    )
    assert results["standalone"][0] == results["conda"][0] == 1


# ------------------------------------------------------------------ virtual packages


@pytest.fixture
def platform_channel(http_server: ChannelServer, tmp_path: Path) -> str:
    build_channel(
        tmp_path / "served" / "vp",
        [
            Pkg("macapp", subdir="osx-arm64", depends=["__osx >=11"]),
            Pkg("newglibc", subdir="linux-aarch64", depends=["__glibc >=2.28"]),
        ],
    )
    return f"{http_server.url}/vp"


def test_a_foreign_osx_target_has_the_documented_osx_version(
    platform_channel: str, tmp_path: Path, lock_both
) -> None:
    env = write_env(tmp_path / "env.yml", [platform_channel], ["macapp"])
    assert _versions(_same(lock_both(env, "osx-arm64")), "osx-arm64") == {"macapp": "1.0"}
    failed = lock_both(env, "osx-arm64", CONDA_OVERRIDE_OSX="10.9")  # honoured in both
    assert failed["standalone"][0] == failed["conda"][0] == 1


def test_a_foreign_linux_target_does_not_get_this_hosts_glibc(
    platform_channel: str, tmp_path: Path, lock_both
) -> None:
    env = write_env(tmp_path / "env.yml", [platform_channel], ["newglibc"])
    default = lock_both(env, "linux-aarch64")  # 2.17 by default, whatever this host has
    assert default["standalone"][0] == default["conda"][0] == 1
    newer = lock_both(env, "linux-aarch64", CONDA_OVERRIDE_GLIBC="2.28")
    assert _versions(_same(newer), "linux-aarch64") == {"newglibc": "1.0"}


# ------------------------------------------------------------------ match specs


@pytest.fixture
def spec_channel(http_server: ChannelServer, tmp_path: Path) -> str:
    build_channel(
        tmp_path / "served" / "specs",
        [
            Pkg("zlib", "1.2.8"),
            Pkg("zlib", "1.2.11"),
            Pkg("zlib", "1.3"),
            Pkg("dependency", "1.0", "0"),
            Pkg("dependency", "1.0", "1", build_number=1),
            Pkg("dependency", "2.0", "0"),
        ],
    )
    return f"{http_server.url}/specs"


# The forms conda documents for match specs: version alone, "=" and "==", version and
# build separated by a space or "=", wildcards, ranges, "|", bracket keys.
SPECS = [
    ("zlib 1.2.11", {"zlib": "1.2.11"}),
    ("zlib=1.2", {"zlib": "1.2.11"}),
    ("zlib==1.2.8", {"zlib": "1.2.8"}),
    ("zlib 1.2.*", {"zlib": "1.2.11"}),
    ("zlib >=1.2.9,<1.3", {"zlib": "1.2.11"}),
    ("zlib 1.2.8|1.3", {"zlib": "1.3"}),
    ("zlib[version='<1.3']", {"zlib": "1.2.11"}),
    ("dependency==1.0=0", {"dependency": "1.0"}),
    ("dependency=1.0=1", {"dependency": "1.0"}),
    ("dependency 1.0 0", {"dependency": "1.0"}),
    ("dependency[build=1]", {"dependency": "1.0"}),
    ("dependency * 0", {"dependency": "2.0"}),
]


@pytest.mark.parametrize(("spec", "expected"), SPECS, ids=[s for s, _ in SPECS])
def test_match_spec_forms(spec_channel: str, tmp_path: Path, lock_both, spec, expected) -> None:
    env = write_env(tmp_path / "env.yml", [spec_channel], [spec])
    assert _versions(_same(lock_both(env, "linux-64")), "linux-64") == expected


def test_channel_qualified_spec_under_a_custom_channel_alias(
    http_server: ChannelServer, tmp_path: Path, lock_both
) -> None:
    build_channel(tmp_path / "served" / "forge", [Pkg("pkg", "2.0")])
    build_channel(tmp_path / "served" / "other", [Pkg("pkg", "3.0")])
    env = write_env(tmp_path / "env.yml", ["other", "forge"], ["forge::pkg"])
    alias = http_server.url  # conda takes it from .condarc, standalone from --channel-alias
    results = lock_both(
        env,
        "linux-64",
        condarc=f"channels: []\nchannel_alias: {alias}\n",
        standalone=("--channel-alias", alias),
    )
    text = _same(results)
    assert _versions(text, "linux-64") == {"pkg": "2.0"}
