"""``vendor unpack FILE.tar -o DIR``: a packed bundle unpacked, hostile members refused."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import BackendFactory, add_json_argument

if TYPE_CHECKING:
    from ..progress import Reporter

NAME = "unpack"
SUMMARY = "Unpack a tar written by 'vendor pack'."
HELP = (
    "Unpack a tar written by 'vendor pack' into a new folder; members that are not what "
    "'vendor pack' writes are refused, and DIR appears only when every member passed."
)


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("tar", metavar="FILE.tar", help="The tar to unpack.")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="The folder to create.")
    add_json_argument(p)


def run(args: argparse.Namespace, backend_factory: BackendFactory, reporter: Reporter) -> Any:
    from ..bundle.unpack import unpack

    return unpack(Path(args.tar), Path(args.output))
