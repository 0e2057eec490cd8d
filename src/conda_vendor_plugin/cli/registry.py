"""What ``vendor push`` and ``vendor pull`` share: the registry options and their checks."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError
from .common import add_json_argument

if TYPE_CHECKING:
    from ..transport.oci import Registry
    from ..transport.oci_names import OciReference


def add_registry_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ca-cert",
        type=Path,
        metavar="FILE",
        help="Verify the registry's TLS certificate with this CA (PEM) instead of the "
        "system store.",
    )
    p.add_argument(
        "--insecure",
        action="store_true",
        help="Plain http, for a loopback or lab registry only.",
    )
    p.add_argument("-j", "--jobs", type=int, default=8, help="Parallel transfers (default: 8).")
    add_json_argument(p)


def registry_of(args: argparse.Namespace, reference: str) -> tuple[OciReference, Registry]:
    """The reference and its registry, after the checks every registry command makes."""
    from ..transport.oci import Registry
    from ..transport.oci_names import OciReference

    if args.insecure and args.ca_cert:
        raise UsageError(
            f"vendor {args.cvp_command.split()[-1]}: --insecure (plain http) and --ca-cert "
            f"exclude each other"
        )
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    ref = OciReference.parse(reference)
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    state = Path(cache) / "conda-vendor-plugin" / "oci-uploads"  # for the next run to resume
    return ref, Registry(
        ref.netloc, insecure=args.insecure, ca_cert=args.ca_cert, upload_state=state
    )
