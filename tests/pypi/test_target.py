"""The wheel tags of a target platform: the target's, never this machine's."""

from __future__ import annotations

import pytest

from conda_vendor_plugin.errors import PypiError
from conda_vendor_plugin.pypi.target import platform_tags, target_for

from ..support.locks import pkg


def test_linux_gets_manylinux_tags_down_from_the_target_glibc() -> None:
    tags = platform_tags("linux-64", {})
    assert tags[0] == "manylinux_2_17_x86_64" and tags[-2:] == (
        "manylinux_2_5_x86_64",
        "manylinux1_x86_64",
    )
    assert {"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"} <= set(tags)
    newer = platform_tags("linux-64", {"CONDA_OVERRIDE_GLIBC": "2.28"})
    assert newer[0] == "manylinux_2_28_x86_64" and "manylinux_2_17_x86_64" in newer


def test_legacy_manylinux_aliases_exist_only_where_they_were_defined() -> None:
    tags = platform_tags("linux-aarch64", {})
    assert "manylinux2014_aarch64" in tags and "manylinux1_aarch64" not in tags


def test_macos_and_windows_tags_follow_the_conda_platform() -> None:
    assert platform_tags("osx-arm64", {}) == ("macosx_11_0_arm64",)
    assert platform_tags("osx-64", {}) == ("macosx_10_15_x86_64",)
    assert platform_tags("osx-64", {"CONDA_OVERRIDE_OSX": "12.3"}) == ("macosx_12_3_x86_64",)
    assert platform_tags("win-64", {}) == ("win_amd64",)


def test_a_platform_without_wheel_tags_is_refused_by_name() -> None:
    with pytest.raises(PypiError, match="cannot be locked for emscripten-wasm32"):
        platform_tags("emscripten-wasm32", {})


def test_the_python_version_and_abi_are_the_solved_pythons() -> None:
    packages = [pkg("python", "3.13.1", "h_cp313t", "linux-64"), pkg("zlib")]
    target = target_for("linux-64", packages, "env.yml")
    assert (target.python_version, target.abi) == ("3.13", "cp313t")
    with pytest.raises(PypiError, match="the solve for win-64 has none; add python"):
        target_for("win-64", [pkg("zlib")], "env.yml")
