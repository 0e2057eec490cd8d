"""``vendor pack BUNDLE -o FILE.tar``: a bundle as one reproducible tar."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import BackendFactory, add_json_argument

if TYPE_CHECKING:
    from ..progress import Reporter

NAME = "pack"
SUMMARY = "Write a bundle as one reproducible tar."
HELP = (
    "Write a bundle as one reproducible tar (manifest first, sorted, fixed owners and modes), "
    "every file checked against the manifest, with FILE.tar.sha256 beside it; 'vendor "
    "verify', 'vendor install' and 'vendor unpack' read it."
)


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("bundle", metavar="BUNDLE", help="The bundle to pack.")
    p.add_argument("-o", "--output", required=True, metavar="FILE.tar", help="The tar to write.")
    add_json_argument(p)


def run(args: argparse.Namespace, backend_factory: BackendFactory, reporter: Reporter) -> Any:
    from ..bundle.pack import pack

    return pack(Path(args.bundle), Path(args.output))
