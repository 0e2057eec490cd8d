"""Reading a bundle the way a user does: through ``bundle.json`` and the pointer files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def only_env(doc: dict[str, Any]) -> str:
    """The name of the one environment a bundle, manifest or vendor report describes."""
    (name,) = doc["environments"]
    return name


def current(out: Path, name: str | None = None) -> Path:
    """``envs/<name>/versions/<current>`` of bundle ``out`` (its only environment when
    ``name`` is None), found by the pointer file as on media without links."""
    index = json.loads((out / "bundle.json").read_text())
    name = name or only_env(index)
    pointer = (out / "envs" / name / "current.txt").read_text().strip()
    return out / "envs" / name / pointer


def current_rel(out: Path, name: str | None = None) -> str:
    """The same, relative to the bundle's root (what a user types from there)."""
    return current(out, name).relative_to(out).as_posix()


def env_report(doc: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """One environment's part of a vendor report or manifest."""
    return doc["environments"][name or only_env(doc)]


def typed(out: Path, file: str, name: str | None = None) -> str:
    """``envs/<name>/current/<file>``: the path a user types from the bundle's root
    (through the ``current`` link), as the files' headers and the report say."""
    index = json.loads((out / "bundle.json").read_text())
    return f"envs/{name or only_env(index)}/current/{file}"


def locked_from_entry(upstream: str, subdir: str, fn: str, entry: dict[str, Any]):
    """The LockedPackage a lock of ``upstream`` gives for one of its repodata entries."""
    from conda_vendor_plugin.records import LockedPackage

    return LockedPackage(
        name=entry["name"],
        version=entry["version"],
        build=entry["build"],
        subdir=subdir,
        channel=upstream,
        fn=fn,
        url=f"{upstream}/{subdir}/{fn}",
        sha256=entry["sha256"],
        md5=entry["md5"],
        size=entry["size"],
    )


def vendor_bundle(
    served: Path,
    out: Path,
    channel: str,
    runs: list[tuple[str, list[str]]],
    extra: tuple[str, ...] = (),
) -> Path:
    """Vendor each ``(name, deps)`` environment in turn (linux-64; a name again makes a
    new version) from the channel folder ``served/channel`` into bundle ``out``, over
    one loopback server that is stopped afterwards (so anything installed from ``out``
    cannot have been fetched)."""
    import contextlib
    import io

    from conda_vendor_plugin import cli

    from .server import ChannelServer
    from .vendoring import write_env

    with ChannelServer(served) as srv:
        for name, deps in runs:
            env = write_env(out.parent / f"{name}.yml", [f"{srv.url}/{channel}"], deps, name=name)
            argv = ["vendor", str(env), "--platform", "linux-64", "-o", str(out), "--json", *extra]
            with contextlib.redirect_stdout(io.StringIO()) as report:
                rc = cli.main(argv)
            assert rc == 0, report.getvalue()
    return out
