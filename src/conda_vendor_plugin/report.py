"""What the commands report: lines for people, or one JSON document, for both front ends."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .errors import VendorError
from .progress import Reporter, TextReporter
from .transport.urls import redact_text

RUN = "python -m conda_vendor_plugin"  # how the standalone tool is run


def report_lock(result: dict[str, Any], reporter: Reporter) -> None:
    if "up_to_date" in result:
        reporter.info(f"{', '.join(result['lockfiles'])}: up to date")
        if result["missing_platforms"]:
            reporter.info(
                f"note: the environment file also lists {', '.join(result['missing_platforms'])}, "
                f"which the lockfile does not lock (lock with --platform to add them)"
            )
        return
    counts = ", ".join(f"{p}: {n} packages" for p, n in result["platforms"].items())
    reporter.info(f"Locked {counts}")
    for platform, n in result.get("pypi", {}).items():
        reporter.info(f"Locked {platform}: {n} wheels for the pip: section")
    for warning in result.get("warnings", ()):
        reporter.info(f"warning: {warning}")
    for f in result.get("pip_left_out", ()):
        reporter.info(
            f"warning: pip: {f['requirement']} left out for {f['platform']} "
            f"(--ignore-pip-non-wheel): {f['reason']}"
        )
    for path in result["lockfiles"]:
        verb = "Dry run: would write" if result.get("dry_run") else "Wrote"
        reporter.info(f"{verb} {path}")
    for f in result.get("not_locked", ()):
        reporter.info(
            f"note: {f['name']} {f['version']} was installed by {f['manager']}, not conda: "
            f"not locked (install it again after creating the environment)"
        )


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _report_maintenance(result: dict[str, Any], reporter: Reporter) -> bool:
    """``vendor verify``, ``prune`` and ``apply`` results; False for a vendor run."""
    if "problems" in result:
        for kind in ("missing", "extra", "corrupt", "unsafe"):
            for item in result[kind]:
                reporter.info(f"{kind}: {item}")
        reporter.info(
            f"{result['output']}: {result['archives']} archives checked, "
            f"{result.get('environment_versions', 0)} environment versions, "
            f"{result['problems']} problem(s)"
            + (
                f"; current pointers: {result['current_pointers']}"
                if "current_pointers" in result
                else ""
            )
        )
    elif "dropped_versions" in result:
        envs = result.get("dropped_environments") or []
        dropped = ", ".join(result["dropped_versions"]) or "no versions"
        if envs:
            dropped += f" (environments {', '.join(envs)})"
        reporter.info(
            f"{result['output']}: dropped {dropped}; freed {_size(result['freed_bytes'])}"
        )
    elif "archives_added" in result:
        now = ", ".join(f"{n} -> {v}" for n, v in result["environments"].items())
        reporter.info(
            f"Applied {result['delta']} to {result['output']}: {result['archives_added']} "
            f"archives added, {result['archives_kept']} taken from the bundle; {now}"
        )
    elif "blobs_uploaded" in result:
        reporter.info(
            f"Pushed {result['bundle']} to {result['reference']}: {result['packages_pushed']} "
            f"of {result['packages']} packages new; {result['blobs_uploaded']} blobs uploaded "
            f"({_size(result['bytes_uploaded'])}), {result['blobs_present']} already there"
        )
    elif "bytes_fetched" in result:
        reporter.info(
            f"Pulled {result['reference']} into {result['output']} and verified it: "
            f"{result['archives']} archives, {result['files']} files "
            f"({_size(result['bytes_fetched'])} fetched)"
        )
    elif "packed" in result:
        reporter.info(
            f"Packed {result['bundle']} into {result['tar']} ({result['members']} members, "
            f"{_size(result['bytes'])}); sha256 {result['sha256']} in {result['sha256_file']}"
        )
    elif "unpacked" in result:
        reporter.info(
            f"Unpacked {result['tar']} into {result['output']} ({result['members']} members, "
            f"each checked against the manifest)"
        )
    elif "installed" in result:
        reporter.info(
            f"Installed {result['environment']} {result['version']} ({result['platform']}): "
            f"{len(result['installed'])} packages{_wheels(result.get('wheels', ()))}, every "
            f"archive's sha256 checked, into {result['prefix']}"
        )
        if result.get("not_installed"):
            reporter.info(
                "warning: not installed (vendor install does not install them): "
                f"{', '.join(result['not_installed'])}"
            )
    else:
        return False
    return True


def _wheels(wheels: Any) -> str:
    return f" and {len(wheels)} wheels (pip, --require-hashes)" if wheels else ""


def _report_environments(result: dict[str, Any], reporter: Reporter) -> None:
    for name, env in result["environments"].items():
        for f in env.get("not_vendored", ()):
            reporter.info(f"  {name}: not vendored {foreign_line(f)}")


def foreign_line(f: Any) -> str:
    """One not-vendored entry (a dict of :class:`~.records.ForeignPackage`) in words."""
    what = " ".join(x for x in (f["name"], f["version"]) if x)
    if f.get("reason"):
        how = f"({f['manager']}, left out by --ignore-pip-non-wheel)"
        return f"{how}: {what} ({f['platform']}): {f['reason']}"
    return f"({f['manager']}, not a conda package): {what} ({f['platform']})"


def report_vendor(result: dict[str, Any], reporter: Reporter, prog: str = RUN) -> None:
    if _report_maintenance(result, reporter):
        return
    for name, c in result["channels"].items():
        reporter.info(f"  {name}: {c['packages']} packages, {_size(c['bytes'])}")
    _report_environments(result, reporter)
    if result.get("dry_run"):
        for f in result["files"]:
            reporter.info(f"  would fetch {f['url']}")
        reporter.info(
            f"Dry run: {result['packages']} packages ({_size(result['bytes'])}) would be "
            f"vendored into {result['output']}"
        )
        return
    how = ", ".join(f"{n} {k}" for k, n in sorted(result["archives"].items()))
    left_out = (
        f" ({result['omitted']} left out: the previous bundle has them)"
        if result["omitted"]
        else ""
    )
    reporter.info(
        f"Vendored {result['packages']} packages ({_size(result['bytes'])}; {how}){left_out} "
        f"into {result['output']} in {result['seconds']:.1f}s"
    )
    for name, env in result["environments"].items():
        reporter.info(f"{name}: version {env['version']}, lockfile {env['lockfile']}")
    for line in next_steps(result, prog):
        reporter.info(line)


def next_steps(result: dict[str, Any], prog: str) -> list[str]:
    """What to do with a bundle ``vendor`` made: carry it, check it, install it with no
    solve (from the bundle's folder, wherever it was carried)."""
    out = Path(result["output"])
    lines = [
        "Next steps:",
        f"  1. carry {out} (the whole folder) to the machine without network",
        f"  2. there, in that folder, check it: {prog} vendor verify .",
        "  3. there, in that folder, install with no solve:",
    ]
    for name, env in result["environments"].items():
        lock = Path(env["lockfile"]).relative_to(out)
        lines.append(
            f"       conda env create -n <name> --offline -f {lock}  ({name}; with this plugin)"
        )
        wheels = env.get("wheels", {})
        for platform, path, env_file in zip(
            env.get("platforms", {}),
            env.get("explicit_files", ()),
            env.get("version_environment_files", ()),
        ):
            if wheels.get(platform):  # a CEP 23 file cannot hold them: the environment file
                rel = Path(env_file).relative_to(out)
                how = f"{name}; conda alone, then its {wheels[platform]} wheels by pip"
                lines.append(f"       conda env create -n <name> --offline -f {rel}  ({how})")
            else:
                rel = Path(path).relative_to(out)
                lines.append(
                    f"       conda create -n <name> --offline --file {rel}  ({name}; conda alone)"
                )
    return lines


def finish(
    command: str, result: dict[str, Any], reporter: Reporter, as_json: bool, prog: str = RUN
) -> int:
    """Print ``result`` (JSON, or lines for people) and return the exit code: 1 when
    ``vendor verify`` found problems. ``prog``: how the user runs this tool."""
    failed = bool(result.get("problems"))
    if as_json:
        emit_json({"success": not failed, **result})
    elif command == "vendor":
        report_vendor(result, TextReporter(stream=sys.stdout), prog)
    else:
        report_lock(result, reporter)
        if result.get("dry_run"):  # stdout is exactly the lockfile
            sys.stdout.write(result["text"])
    return 1 if failed else 0


def error_details(e: VendorError) -> dict[str, Any]:
    """``e.details`` for a ``--json`` error document, every message in it redacted."""
    return {
        k: [redact_text(str(x)) for x in v] if isinstance(v, list) else v
        for k, v in (e.details or {}).items()
    }


def emit_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")
