"""Virtual packages for a target platform, for the solver used without conda.

They follow the *target*, not the host: locking ``linux-64`` on a Mac offers
``__linux`` and ``__glibc``, never ``__osx``. ``CONDA_OVERRIDE_<NAME>`` environment
variables set a version the same way conda honours them (an empty value removes
the package); ``__cuda`` exists only when ``CONDA_OVERRIDE_CUDA`` gives a version,
as no probe of the host's GPU says anything about another machine.
"""

from __future__ import annotations

import os
import platform as _platform
from collections.abc import Mapping
from dataclasses import dataclass

ARCHSPEC = {
    "64": "x86_64",
    "32": "x86",
    "aarch64": "aarch64",
    "arm64": "arm64",
    "ppc64le": "ppc64le",
    "ppc64": "ppc64",
    "s390x": "s390x",
    "armv6l": "armv6l",
    "armv7l": "armv7l",
    "riscv64": "riscv64",
    "wasm32": "wasm32",
}
DEFAULT_GLIBC = "2.17"
DEFAULT_OSX = {"osx-arm64": "11.0", "osx-64": "10.15"}


@dataclass(frozen=True)
class VirtualPackage:
    name: str
    version: str
    build: str = "0"

    def __str__(self) -> str:
        return f"{self.name}={self.version}={self.build}"


def _host_glibc() -> str | None:
    libc, version = _platform.libc_ver()
    return version if libc == "glibc" and version else None


def virtual_packages(
    platform: str, environ: Mapping[str, str] | None = None
) -> tuple[VirtualPackage, ...]:
    """The virtual packages a solve for ``platform`` may use."""
    env = os.environ if environ is None else environ
    os_name, _, arch = platform.partition("-")
    host_is_target = _host_platform() == platform

    def pick(name: str, default: str | None) -> str | None:
        key = f"CONDA_OVERRIDE_{name.upper()}"
        if key in env:
            return env[key].strip() or None
        return default

    found: list[VirtualPackage] = []
    if arch in ARCHSPEC:
        found.append(VirtualPackage("__archspec", "1", ARCHSPEC[arch]))
    if os_name in ("linux", "osx"):
        found.append(VirtualPackage("__unix", "0"))
    if os_name == "linux":
        kernel = _platform.release().split("-")[0] if host_is_target else "0"
        linux = pick("linux", kernel or "0")
        if linux:
            found.append(VirtualPackage("__linux", linux))
        glibc = pick("glibc", (_host_glibc() if host_is_target else None) or DEFAULT_GLIBC)
        if glibc:
            found.append(VirtualPackage("__glibc", glibc))
    elif os_name == "osx":
        host_osx = _platform.mac_ver()[0] if host_is_target else ""
        osx = pick("osx", host_osx or DEFAULT_OSX.get(platform, "11.0"))
        if osx:
            found.append(VirtualPackage("__osx", osx))
    elif os_name == "win":
        found.append(VirtualPackage("__win", "0"))
    cuda = pick("cuda", None)
    if cuda:
        found.append(VirtualPackage("__cuda", cuda))
    return tuple(sorted(found, key=lambda v: v.name))


def foreign_target_overrides(
    platform: str, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``CONDA_OVERRIDE_*`` values that make conda offer, for a target that is not this
    machine, the same virtual packages as :func:`virtual_packages` (the documented
    defaults); overrides the user set are left alone, and the host target gets none."""
    env = os.environ if environ is None else environ
    if _host_platform() == platform:
        return {}
    offered = {v.name: v.version for v in virtual_packages(platform, env)}
    overrides = {}
    for name in ("__osx", "__glibc", "__linux", "__cuda"):
        key = f"CONDA_OVERRIDE_{name[2:].upper()}"
        if key not in env:
            overrides[key] = offered.get(name, "")  # "" : conda then offers none
    return overrides


def _host_platform() -> str:
    system = {"Linux": "linux", "Darwin": "osx", "Windows": "win"}.get(_platform.system(), "")
    machine = _platform.machine().lower()
    arch = {"x86_64": "64", "amd64": "64", "arm64": "arm64", "aarch64": "aarch64"}.get(
        machine, machine
    )
    if system == "osx" and arch == "aarch64":
        arch = "arm64"
    if system == "linux" and arch == "arm64":
        arch = "aarch64"
    return f"{system}-{arch}"
