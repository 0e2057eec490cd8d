"""What ``vendor`` reports: the plan's counts (also a dry run's), then, once the bundle
is written, where each environment's files are and what the run fetched."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bundle import history
from .bundle.history import Index
from .bundle.outputs import LOCKFILE, MANIFEST, env_file_name, explicit_file_name
from .bundle.sbom import SBOM
from .records import Lockfile
from .transport.download import DownloadResult

if TYPE_CHECKING:
    from .vendor import VendorPlan


def not_vendored(lock: Lockfile) -> list[dict[str, Any]]:
    """The locked packages a bundle does not carry, as the report and ``bundle.json`` list
    them: other tools' pip/pypi entries that are not wheels (the lock's wheels, from a
    lockfile's ``pypi-packages``, conda-lock pip or pixi pypi entries, are vendored)."""
    return [{k: v for k, v in asdict(f).items() if k != "reason" or v} for f in lock.foreign]


def summarize(p: VendorPlan, out: Path) -> dict[str, Any]:
    """The report's counts; per environment ``not_vendored`` lists locked packages that
    are not conda packages (pip/pypi entries of other tools' lockfiles)."""
    per_channel: dict[str, dict[str, int]] = {}
    for vp in p.fetched:
        c = per_channel.setdefault(vp.local_channel, {"packages": 0, "bytes": 0})
        c["packages"] += 1
        c["bytes"] += vp.package.size or 0
    return {
        "output": str(out),
        "environments": {
            r.name: {
                "platforms": {s.platform: len(s.packages) for s in r.solutions},
                "wheels": {p: len(w) for p, w in r.lock.pypi.items() if w},
                "not_vendored": not_vendored(r.lock),
                "pip_not_vendored": [],  # every pip: requirement is carried or refused
            }
            for r in p.requests
        },
        "channels": per_channel,
        "packages": len(p.fetched),
        "wheels": len(p.wheels),
        "bytes": p.total_bytes,
        "omitted": len(p.omitted),
    }


def settled(
    summary: dict[str, Any],
    out: Path,
    index: Index,
    results: Sequence[DownloadResult],
    started: float,
) -> dict[str, Any]:
    """``summary`` (:func:`summarize`) completed once the bundle at ``out`` is written:
    each environment's version and files, what was fetched, how long it took."""
    for name, info in summary["environments"].items():
        env = index.environments[name]
        folder = out / history.env_dir(name) / history.CURRENT
        info["version"] = env.current
        info["lockfile"] = str(folder / LOCKFILE)
        info["environment_files"] = [str(folder / env_file_name(x)) for x in info["platforms"]]
        version = history.version_dir(name, env.current)
        info["explicit_files"] = [
            str(out / version / explicit_file_name(x)) for x in info["platforms"]
        ]
        info["version_environment_files"] = [
            str(out / version / env_file_name(x)) for x in info["platforms"]
        ]
    summary.update(
        {
            "fetched_bytes": sum(r.bytes_fetched for r in results),
            "archives": dict(Counter(r.how for r in results)),
            "manifest": str(out / MANIFEST),
            "bundle_environments": sorted(index.environments),
            "sbom": str(out / SBOM),
            "seconds": round(time.monotonic() - started, 3),
        }
    )
    return summary
