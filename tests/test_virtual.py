"""Virtual packages for the standalone solver: they follow the target, not the host."""

from __future__ import annotations

import pytest

from conda_vendor_plugin.solve.virtual import (
    DEFAULT_GLIBC,
    VirtualPackage,
    _host_platform,
    virtual_packages,
)

OTHER_LINUX = "linux-aarch64" if _host_platform() != "linux-aarch64" else "linux-64"


def as_dict(platform: str, **environ: str) -> dict[str, tuple[str, str]]:
    found = virtual_packages(platform, environ)
    assert [v.name for v in found] == sorted(v.name for v in found), "sorted by name"
    return {v.name: (v.version, v.build) for v in found}


@pytest.mark.skipif(_host_platform().startswith("osx-"), reason="a Mac offers its own version")
def test_osx_target() -> None:
    assert as_dict("osx-arm64") == {
        "__archspec": ("1", "arm64"),
        "__osx": ("11.0", "0"),
        "__unix": ("0", "0"),
    }
    assert as_dict("osx-64")["__osx"] == ("10.15", "0")


def test_windows_target() -> None:
    assert as_dict("win-64") == {"__archspec": ("1", "x86_64"), "__win": ("0", "0")}


def test_linux_target_other_than_the_host() -> None:
    found = as_dict(OTHER_LINUX)
    assert found["__linux"] == ("0", "0")
    assert found["__glibc"] == (DEFAULT_GLIBC, "0")
    assert "__unix" in found
    assert not {"__osx", "__win", "__cuda"} & set(found)


def test_no_cuda_without_an_override() -> None:
    assert "__cuda" not in as_dict("linux-64")
    assert "__cuda" not in as_dict("linux-64", CONDA_OVERRIDE_CUDA="")
    assert "__cuda" not in as_dict("linux-64", CONDA_OVERRIDE_CUDA="   ")


@pytest.mark.parametrize("platform", ["linux-64", "win-64", OTHER_LINUX])
def test_cuda_override(platform: str) -> None:
    assert as_dict(platform, CONDA_OVERRIDE_CUDA="12.0")["__cuda"] == ("12.0", "0")


def test_overrides_set_or_remove_versions() -> None:
    found = as_dict(OTHER_LINUX, CONDA_OVERRIDE_GLIBC="2.28", CONDA_OVERRIDE_LINUX="5.10")
    assert found["__glibc"] == ("2.28", "0")
    assert found["__linux"] == ("5.10", "0")
    assert "__glibc" not in as_dict(OTHER_LINUX, CONDA_OVERRIDE_GLIBC="")
    assert as_dict("osx-arm64", CONDA_OVERRIDE_OSX="14.2")["__osx"] == ("14.2", "0")
    assert "__osx" not in as_dict("osx-arm64", CONDA_OVERRIDE_OSX="")


def test_the_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONDA_OVERRIDE_CUDA", "11.8")
    assert VirtualPackage("__cuda", "11.8") in virtual_packages("linux-64")
    monkeypatch.setenv("CONDA_OVERRIDE_CUDA", "")
    assert all(v.name != "__cuda" for v in virtual_packages("linux-64"))


def test_str_is_a_conda_spec() -> None:
    assert str(VirtualPackage("__glibc", "2.17")) == "__glibc=2.17=0"
