"""``vendor pull oci://HOST/NS[:TAG] -o OUT``: a bundle back from an OCI registry."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import BackendFactory, staging_kept
from .registry import add_registry_arguments, registry_of

if TYPE_CHECKING:
    from ..progress import Reporter

NAME = "pull"
SUMMARY = "Get a bundle back from an OCI registry."
HELP = (
    "Get a bundle from an OCI registry into OUT, through the bundle transaction (verified "
    "before it replaces OUT; what was fetched is kept in .OUT.staging for resuming)."
)
kept = staging_kept  # after Ctrl-C: the staging directory, named


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="oci://HOST/NS[:TAG]", help="What to pull.")
    p.add_argument("-o", "--output", default="vendor", help="The bundle (default: ./vendor).")
    p.add_argument("--force", action="store_true", help="Replace an OUT holding files of others.")
    add_registry_arguments(p)


def run(args: argparse.Namespace, backend_factory: BackendFactory, reporter: Reporter) -> Any:
    from ..bundle.pull import pull_bundle

    ref, registry = registry_of(args, args.reference)
    return pull_bundle(ref, registry, Path(args.output), jobs=args.jobs, force=args.force)
