"""``python -m conda_vendor_plugin`` / ``conda-vendor-plugin``: the commands without conda
(py-rattler backend)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..errors import VendorError
from . import lock, vendor
from .common import add_standalone_arguments, run_command

if TYPE_CHECKING:
    from ..solve.backend import Backend


def build_parser(prog: str = "python -m conda_vendor_plugin") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Lock and vendor conda environments without conda (py-rattler backend).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("lock", help=lock.HELP, description=lock.HELP)
    lock.configure(p)
    add_standalone_arguments(p)
    p = sub.add_parser("vendor", help=vendor.HELP, description=vendor.DESCRIPTION)
    vendor.configure(p, more=(add_standalone_arguments,))
    return parser


def _env_true(name: str) -> bool:
    """A boolean setting from the environment, as conda reads its ``CONDA_*`` variables."""
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _prog() -> str:
    """How this was run: the console script by its name, else ``python -m ...``."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return name if name and name != "__main__.py" else "python -m conda_vendor_plugin"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(_prog()).parse_args(argv)
    from ..progress import TextReporter
    from ..report import emit_json, error_details, finish
    from ..transport.urls import redact_text

    reporter = TextReporter(quiet=args.json)

    def backend() -> Backend:
        from ..solve.rattler import RattlerBackend

        return RattlerBackend(
            cache_dir=args.cache_dir,
            channel_alias=args.channel_alias,
            offline=getattr(args, "offline", False) or _env_true("CONDA_OFFLINE"),
            channel_priority=getattr(args, "channel_priority", None),
        )

    try:
        result = run_command(args, backend, reporter)
    except VendorError as e:
        message = redact_text(str(e))
        if args.json:
            doc = {"success": False, "error": message, "error_type": type(e).__name__}
            emit_json({**doc, "return_code": e.exit_code, **error_details(e)})
        else:
            print(f"error: {message}", file=sys.stderr)
        return e.exit_code
    return finish(args.command, result, reporter, args.json)
