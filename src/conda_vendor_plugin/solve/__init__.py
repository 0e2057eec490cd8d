"""Solving: the backend protocol, install order, virtual packages, the
standalone py-rattler solver."""
