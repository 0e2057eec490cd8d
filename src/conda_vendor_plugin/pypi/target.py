"""The interpreter and platform a ``pip:`` resolution is for: the *target*'s, never the
machine's running the tool.

The Python version and ABI are those of the ``python`` package the conda solve picked for
the platform; the platform tags follow the conda platform: ``manylinux`` tags up to the
target glibc (``CONDA_OVERRIDE_GLIBC``, else 2.17, the baseline conda assumes for a
platform other than its own), ``macosx`` tags from the target's macOS version (pip
expands them to older ones and to ``universal2``), ``win_*`` tags on Windows.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import PypiError
from ..records import LockedPackage
from ..solve.virtual import DEFAULT_GLIBC, DEFAULT_OSX

_LINUX_ARCH = {
    "64": "x86_64",
    "aarch64": "aarch64",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "32": "i686",
    "armv7l": "armv7l",
}
_MAC_ARCH = {"64": "x86_64", "arm64": "arm64"}
_WIN = {"64": "win_amd64", "32": "win32", "arm64": "win_arm64"}
_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
# PEP 508 marker values per conda OS: os_name, sys_platform, platform_system
_MARKER_OS = {
    "linux": ("posix", "linux", "Linux"),
    "osx": ("posix", "darwin", "Darwin"),
    "win": ("nt", "win32", "Windows"),
}
_MACHINE = {"linux": _LINUX_ARCH, "osx": _MAC_ARCH, "win": {"64": "AMD64", "arm64": "ARM64"}}


@dataclass(frozen=True)
class Target:
    """pip's ``--platform`` tags, ``--python-version`` and ``--abi`` for one platform."""

    platform: str
    python_version: str  # "3.12"
    abi: str  # "cp312"
    tags: tuple[str, ...]
    python_full_version: str = ""  # "3.12.7": the conda package's version

    def markers(self) -> dict[str, str]:
        """The PEP 508 marker environment of the target (``sys_platform``,
        ``platform_machine``, ``python_full_version``, ...), for requirements such as
        ``pywin32; sys_platform == "win32"``. The kernel's release and version are not
        known for a target: empty."""
        os_part, _, arch = self.platform.partition("-")
        os_name, sys_platform, system = _MARKER_OS.get(os_part, ("posix", os_part, ""))
        full = self.python_full_version or f"{self.python_version}.0"
        return {
            "implementation_name": "cpython",
            "implementation_version": full,
            "os_name": os_name,
            "platform_machine": _MACHINE.get(os_part, {}).get(arch, arch),
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": system,
            "platform_version": "",
            "python_full_version": full,
            "python_version": self.python_version,
            "sys_platform": sys_platform,
        }

    def pip_arguments(self) -> list[str]:
        args = [f"--platform={tag}" for tag in self.tags]
        return [
            *args,
            f"--python-version={self.python_version}",
            "--implementation=cp",
            f"--abi={self.abi}",
            "--abi=abi3",
            "--abi=none",
            "--only-binary=:all:",
        ]


def manylinux_tags(arch: str, glibc: str) -> tuple[str, ...]:
    """``manylinux_2_N_<arch>`` for N from the target glibc's down to 5, with the legacy
    aliases (``manylinux2014`` ...) where they exist for ``arch``."""
    m = re.match(r"^2\.(\d+)", glibc)
    top = int(m.group(1)) if m else 17
    tags: list[str] = []
    for minor in range(top, 4, -1):
        tags.append(f"manylinux_2_{minor}_{arch}")
        legacy = _LEGACY_MANYLINUX.get(minor)
        if legacy and (minor == 17 or arch in ("x86_64", "i686")):
            tags.append(f"{legacy}_{arch}")
    return tuple(tags)


def platform_tags(platform: str, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The wheel platform tags a conda ``platform`` runs."""
    env = os.environ if environ is None else environ
    os_name, _, arch = platform.partition("-")
    if os_name == "linux" and arch in _LINUX_ARCH:
        glibc = env.get("CONDA_OVERRIDE_GLIBC", "").strip() or DEFAULT_GLIBC
        return manylinux_tags(_LINUX_ARCH[arch], glibc)
    if os_name == "osx" and arch in _MAC_ARCH:
        osx = env.get("CONDA_OVERRIDE_OSX", "").strip() or DEFAULT_OSX.get(platform, "11.0")
        major, _, minor = osx.partition(".")
        return (f"macosx_{major}_{(minor or '0').split('.')[0]}_{_MAC_ARCH[arch]}",)
    if os_name == "win" and arch in _WIN:
        return (_WIN[arch],)
    raise PypiError(f"pip: cannot be locked for {platform}: no wheel tags are known for it")


def target_for(platform: str, packages: Iterable[LockedPackage], source: str) -> Target:
    """The :class:`Target` of ``platform`` from its conda solution (which must hold python)."""
    python = next((p for p in packages if p.name == "python"), None)
    if python is None:
        raise PypiError(
            f"{source}: the pip: section needs python among the dependencies, but the "
            f"solve for {platform} has none; add python to dependencies"
        )
    m = re.match(r"^(\d+)\.(\d+)", python.version)
    if not m:
        raise PypiError(f"{source}: {platform}: python {python.version!r} has no X.Y version")
    threaded = "t" if re.search(r"(^|_)cp\d+t(_|$)", python.build) else ""
    return Target(
        platform=platform,
        python_version=f"{m.group(1)}.{m.group(2)}",
        abi=f"cp{m.group(1)}{m.group(2)}{threaded}",
        tags=platform_tags(platform),
        python_full_version=re.sub(r"^(\d+(?:\.\d+)*).*$", r"\1", python.version),
    )
