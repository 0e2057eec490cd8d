"""``python -m conda_vendor_plugin``: the commands without conda (py-rattler backend)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
