"""Lockfile formats: one module per format, each reading into and writing from one
:class:`~conda_vendor_plugin.records.Lockfile`.

* :mod:`.explicit_v1`: ``explicit-1.0`` YAML (read and written; the default);
* :mod:`.cep23`: CEP 23 ``@EXPLICIT`` text, one file per platform (written).
"""
