"""``vendor apply DELTA --to BUNDLE``: merge a delta into the bundle it was made against."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import BackendFactory, add_json_argument

if TYPE_CHECKING:
    from ..progress import Reporter

NAME = "apply"
SUMMARY = "Merge a delta into the bundle it was made against."
HELP = (
    "Merge a delta (written by 'vendor --since') into the bundle it was made against; "
    "the bundle is replaced only once the result verifies."
)


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="DELTA", help="The delta to apply.")
    p.add_argument("--to", metavar="BUNDLE", required=True, help="The bundle to update.")
    add_json_argument(p)


def run(args: argparse.Namespace, backend_factory: BackendFactory, reporter: Reporter) -> Any:
    from ..bundle.delta import apply

    return apply(Path(args.target), Path(args.to))
