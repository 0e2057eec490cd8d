"""``vendor verify OUT``: re-check a bundle."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import BackendFactory, add_json_argument

if TYPE_CHECKING:
    from ..progress import Reporter

NAME = "verify"
SUMMARY = "Re-check a bundle (or its tar) against its manifest and repodata."
HELP = (
    "Re-check a bundle (e.g. after carrying it across an air gap): every archive against its "
    "local repodata entry, every other file against manifest.json; report missing, extra, "
    "corrupt and unsafe entries. Reads nothing outside OUT. Exit 0 when all is well, 1 when "
    "anything is wrong. OUT may be a tar written by 'vendor pack' (read in one pass, "
    "nothing unpacked)."
)


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="OUT", help="The bundle (or its tar) to check.")
    add_json_argument(p)


def run(args: argparse.Namespace, backend_factory: BackendFactory, reporter: Reporter) -> Any:
    target = Path(args.target)
    if target.is_file():
        from ..bundle.unpack import verify_tar

        return verify_tar(target)
    from ..bundle.verify import verify_output

    return verify_output(target)
