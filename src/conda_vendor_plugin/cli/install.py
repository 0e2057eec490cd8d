"""``vendor install BUNDLE [ENV] -p PREFIX``: an environment of a bundle (or of its tar)
installed without conda and without network, every archive's and wheel's sha256 checked."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .common import BackendFactory, add_json_argument

if TYPE_CHECKING:
    from ..progress import Reporter

NAME = "install"
SUMMARY = "Install an environment of a bundle (no conda, no network)."
HELP = (
    "Install an environment of a bundle (a directory or a tar written by 'vendor pack') into "
    "a new PREFIX, without conda and without network; every archive's sha256 is checked, "
    "and the lock's wheels are installed after the conda packages by the environment's pip "
    "(--no-index --require-hashes)."
)


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("bundle", metavar="BUNDLE", help="The bundle, or its tar.")
    p.add_argument(
        "environment",
        metavar="ENV",
        nargs="?",
        help="The environment to install (needed when the bundle has several).",
    )
    p.add_argument("-p", "--prefix", metavar="PREFIX", help="The environment to create.")
    p.add_argument(
        "--version",
        dest="version_id",
        metavar="ID",
        help="The version to install (default: the environment's current).",
    )
    p.add_argument("--force", action="store_true", help="Replace an existing PREFIX.")
    add_json_argument(p)


def run(args: argparse.Namespace, backend_factory: BackendFactory, reporter: Reporter) -> Any:
    from ..bundle.install import InstallRequest, install_environment

    if not args.prefix:
        raise UsageError("vendor install: name the environment to create (--prefix PREFIX)")
    return install_environment(
        InstallRequest(
            bundle=Path(args.bundle),
            prefix=Path(args.prefix),
            environment=args.environment,
            version=args.version_id,
            force=args.force,
        )
    )
