"""Lock conda environments and vendor them into offline local channels.

The core (spec, lockfile, ordering, downloads, channels) imports without conda;
conda is only imported lazily by :mod:`conda_vendor_plugin.conda_backend`.
"""

__version__ = "0.1.0"
