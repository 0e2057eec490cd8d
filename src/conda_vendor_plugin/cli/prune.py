"""``vendor prune OUT --keep N | --drop NAME``: drop older versions or environments."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .common import BackendFactory, add_json_argument

if TYPE_CHECKING:
    from ..progress import Reporter

NAME = "prune"
SUMMARY = "Drop older versions or environments from a bundle."
HELP = (
    "Drop older versions of a bundle's environments (--keep N), or whole environments "
    "(--drop NAME), and the archives no kept version uses."
)


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="OUT", help="The bundle to prune.")
    p.add_argument("--keep", type=int, metavar="N", help="Versions kept per environment.")
    p.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="NAME",
        help="Drop this environment (every version) from the bundle. Repeatable.",
    )
    add_json_argument(p)


def run(args: argparse.Namespace, backend_factory: BackendFactory, reporter: Reporter) -> Any:
    from ..bundle.prune import prune_bundle

    if args.keep is None and not args.drop:
        raise UsageError(
            "vendor prune: say how many versions to keep (--keep N) or which "
            "environments to drop (--drop NAME)"
        )
    return prune_bundle(Path(args.target), args.keep, tuple(args.drop))
