"""Small in-memory locks for the format tests: one helper builds a package, one a lock."""

from __future__ import annotations

from typing import Any

from conda_vendor_plugin.records import LockedPackage, Lockfile

HASH = "8ff213d119d51c69557d03e2419c407a25102d6990f83ce8dab53f78534884a5"
CHANNEL = "https://repo.example.com/chan"


def pkg(
    name: str,
    version: str = "1.0",
    build: str = "0",
    subdir: str = "linux-64",
    *,
    fn: str | None = None,
    channel: str = CHANNEL,
    sha256: str | None = "a" * 64,
    md5: str | None = "b" * 32,
    size: int | None = 1234,
    depends: tuple[str, ...] = (),
) -> LockedPackage:
    fn = fn or f"{name}-{version}-{build}.conda"
    return LockedPackage(
        name=name,
        version=version,
        build=build,
        subdir=subdir,
        channel=channel,
        fn=fn,
        url=f"{channel}/{subdir}/{fn}",
        sha256=sha256,
        md5=md5,
        size=size,
        depends=depends,
    )


def make_lock(**changes: Any) -> Lockfile:
    fields: dict[str, Any] = dict(
        input_hash=HASH,
        channels=("conda-forge", CHANNEL),
        packages={
            "linux-64": (
                pkg("zlib", "1.2.11", "h7b6447c_3"),
                pkg("python", "3.11.5", "h955ad1f_0", sha256="0b" + "1" * 62),
                pkg("tzdata", "2024a", "h0c530f3_0", "noarch", fn="tzdata-2024a-h0c530f3_0.conda"),
            ),
            "osx-arm64": (pkg("zlib", "1.2.11", "h1a28f6b_3", "osx-arm64", md5=None, size=None),),
            "win-64": (),
        },
        name="demo",
    )
    fields.update(changes)
    return Lockfile(**fields)
