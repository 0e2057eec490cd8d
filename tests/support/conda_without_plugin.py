"""``python conda_without_plugin.py ARGS``: conda with conda-vendor-plugin blocked.

Every other plugin (conda's own, conda-lockfiles, solvers) stays loaded, so a run
shows exactly what conda does without this plugin installed.
"""

import sys

from conda.base.context import context

import conda_vendor_plugin.plugin as ours

if __name__ == "__main__":
    manager = context.plugin_manager
    manager.set_blocked(manager.get_name(ours))
    from conda.cli import main

    sys.argv = ["conda", *sys.argv[1:]]
    sys.exit(main())
