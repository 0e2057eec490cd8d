"""``vendor push BUNDLE oci://HOST/NS``: a bundle in an OCI registry."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .common import BackendFactory
from .registry import add_registry_arguments, registry_of

if TYPE_CHECKING:
    from ..progress import Reporter

NAME = "push"
SUMMARY = "Put a bundle in an OCI registry."
HELP = (
    "Put a bundle in an OCI registry (conda-oci-mirror's layout); blobs the registry "
    "already holds are not sent again."
)


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("bundle", metavar="BUNDLE", help="The bundle to push.")
    p.add_argument("reference", metavar="oci://HOST[:PORT]/NAMESPACE", help="Where to.")
    add_registry_arguments(p)


def run(args: argparse.Namespace, backend_factory: BackendFactory, reporter: Reporter) -> Any:
    from ..bundle.push import push_bundle

    ref, registry = registry_of(args, args.reference)
    if ref.tag:
        raise UsageError("vendor push: no :TAG; the bundle state names its own tag")
    return push_bundle(Path(args.bundle), ref, registry, jobs=args.jobs, reporter=reporter)
