"""``lock`` (``conda env lock``): solve an environment file, write its lockfile."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import TYPE_CHECKING, Any

from .common import (
    DEFAULT_ENV_FILE,
    BackendFactory,
    add_conda_arguments,
    add_solve_arguments,
    channel_override,
    installed_prefix,
)

if TYPE_CHECKING:
    from ..progress import Reporter

HELP = "Solve an environment file and write an explicit lockfile (explicit-1.0)."
# lock.FORMATS, spelled out so that building the parser imports no format module
LOCK_FORMATS = ("explicit-1.0", "explicit")


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``lock`` (the same in conda and standalone)."""
    p.add_argument(
        "-f",
        "--file",
        default=DEFAULT_ENV_FILE,
        help=f"Environment file to lock (default: {DEFAULT_ENV_FILE}).",
    )
    add_solve_arguments(p)
    p.add_argument(
        "--format",
        choices=LOCK_FORMATS,
        default="explicit-1.0",
        help="explicit-1.0: one YAML lockfile for all platforms (default); "
        "explicit: CEP 23 @EXPLICIT text, one file per platform.",
    )
    p.add_argument(
        "-o",
        "--output",
        help="Where to write. explicit-1.0: the lockfile (default: <file stem>.lock.yml "
        "beside the environment file). explicit: a path that may contain {platform} "
        "(default: <file stem>.{platform}.explicit.txt).",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="Do not solve: exit 0 if the lockfile's input hash matches the environment "
        "file, 1 if it is out of date.",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="Print the lockfile on stdout (progress on stderr); write nothing.",
    )
    add_conda_arguments(p)
    p.set_defaults(cvp_run=run, cvp_command="lock")


def run(args: argparse.Namespace, backend_factory: BackendFactory, reporter: Reporter) -> Any:
    from ..lock import LockRequest, run_lock

    request = LockRequest(
        env_file=args.file,
        platforms=tuple(args.platforms),
        format=args.format,
        output=args.output,
        check=args.check,
        channels=channel_override(args),
        dry_run=args.dry_run,
        prefix=installed_prefix(args),
        skip_non_wheel=args.skip_non_wheel,
    )
    if not args.dry_run:
        return run_lock(request, backend_factory, reporter)
    with contextlib.redirect_stdout(sys.stderr):  # conda's spinners too: stdout is the lock
        return run_lock(request, backend_factory, reporter)
