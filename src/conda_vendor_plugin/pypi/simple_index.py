"""The PEP 503 simple index a bundle carries its wheels in: ``pypi/simple/``.

One index for every source index of every environment: a bundle is one offline source,
and pip takes one ``--index-url`` (``file://<bundle>/pypi/simple``) with ``--no-index``
of the network. Each wheel lives beside its project's page,
``pypi/simple/<normalized name>/<wheel file>``, once however many environments and
platforms lock it; each page links its wheels with ``#sha256=`` (pip checks it) and
``data-requires-python`` when the lock knows it. The pages are a function of the wheels:
``vendor verify`` writes them again and compares.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from urllib.parse import quote

from .records import Wheel, normalize

ROOT = "pypi/simple"
PAGE = "index.html"


def wheel_path(w: Wheel) -> str:
    """Where ``w`` lives in a bundle (``w`` passed :func:`~.records.wheel_problem`)."""
    return f"{ROOT}/{normalize(w.name)}/{w.filename}"


def _page(title: str, links: Iterable[str]) -> str:
    head = (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta name="pypi:repository-version" content="1.0">\n'
        f"<title>{escape(title)}</title>\n</head>\n<body>\n<h1>{escape(title)}</h1>\n"
    )
    return head + "".join(f"{link}<br>\n" for link in links) + "</body>\n</html>\n"


def _link(w: Wheel) -> str:
    href = f"{quote(w.filename)}#sha256={w.sha256}"
    requires = w.requires_python
    attr = f' data-requires-python="{escape(requires)}"' if requires else ""
    return f'<a href="{escape(href)}"{attr}>{escape(w.filename)}</a>'


def pages(wheels: Iterable[Wheel]) -> dict[str, str]:
    """Bundle path -> text of every page of the index holding ``wheels`` (the root page
    listing the projects, one page per project listing its wheels), in path order."""
    projects: dict[str, dict[str, Wheel]] = {}
    for w in wheels:
        projects.setdefault(normalize(w.name), {})[w.filename] = w
    listed = (f'<a href="{p}/">{p}</a>' for p in sorted(projects))
    found = {f"{ROOT}/{PAGE}": _page("Simple index", listed)}
    for project, files in sorted(projects.items()):
        links = (_link(files[fn]) for fn in sorted(files))
        found[f"{ROOT}/{project}/{PAGE}"] = _page(f"Links for {project}", links)
    return found if projects else {}
