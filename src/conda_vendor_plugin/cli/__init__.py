"""Command-line front end shared by conda and ``python -m conda_vendor_plugin``: one module
per command (:mod:`.lock`, :mod:`.vendor` and vendor's sub-commands), each configuring a real
argparse parser and running its pipeline; :mod:`.main` is the standalone entry point.

Argument parsing and reporting only: the pipelines are :mod:`..lock` and :mod:`..vendor`,
and which backend solves is decided by :mod:`..conda_cli` or :func:`main`.
"""

from __future__ import annotations

from .common import DEFAULT_ENV_FILE, run_command
from .lock import LOCK_FORMATS
from .main import build_parser, main

__all__ = ["DEFAULT_ENV_FILE", "LOCK_FORMATS", "build_parser", "main", "run_command"]
