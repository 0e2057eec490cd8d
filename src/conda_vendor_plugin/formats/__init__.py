"""Lockfile formats: one module per format, each reading into and writing from one
:class:`~conda_vendor_plugin.records.Lockfile`.

* :mod:`.explicit_v1`: ``explicit-1.0`` YAML (read and written; the default);
* :mod:`.cep23`: CEP 23 ``@EXPLICIT`` text, one file per platform (read and written);
* :mod:`.conda_lock_v1`: conda-lock's ``conda-lock.yml`` version 1 (read);
* :mod:`.pixi_lock`: pixi's ``pixi.lock`` versions 6 and 7 (read).

This module is the registry: :data:`FORMATS` by name and alias, :func:`detect` (by
content, never by file name), :func:`read_text` and :func:`read_files`, which reads the
files of one environment's platforms as one lock. See ``docs/formats.md``.
"""

from __future__ import annotations

import importlib
from typing import Any

from .registry import MODULES

_MODULES = MODULES | {"registry"}


def __getattr__(name: str) -> Any:
    """The registry's names and the format modules, imported when first used (PEP 562):
    ``lock`` writing explicit-1.0 imports neither the registry nor the other formats."""
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name.startswith("__"):  # dunders (copy, pickle, doctest probes): not the registry's
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return getattr(importlib.import_module(f"{__name__}.registry"), name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
