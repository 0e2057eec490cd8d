"""Any document, however malformed, is read or refused with one LockfileError line: never
another exception. Every node of a small valid document of each YAML format is replaced in
turn by values of every YAML type (and deleted)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from ruamel.yaml import YAML

from conda_vendor_plugin import formats
from conda_vendor_plugin.errors import LockfileError
from conda_vendor_plugin.formats import explicit_v1

from ..support.locks import make_lock

CF = "https://conda.anaconda.org/conda-forge"
SHA = "fe51de6107f9edc7aa4f786a70f4a883943bc9d39b3bb7307c04c41410990726"
MD5 = "d7c89558ba9fa0495403155b64376d81"
ZLIB = f"{CF}/linux-64/zlib-1.3.1-hb9d3cd8_2.conda"
WHL = "https://files.pythonhosted.org/packages/six-1.16.0-py2.py3-none-any.whl"

CONDA_LOCK = {
    "version": 1,
    "metadata": {
        "content_hash": {"linux-64": SHA},
        "channels": [{"url": "conda-forge", "used_env_vars": []}],
        "platforms": ["linux-64"],
        "sources": ["environment.yml"],
    },
    "package": [
        {
            "name": "zlib",
            "version": "1.3.1",
            "manager": "conda",
            "platform": "linux-64",
            "dependencies": {"libgcc": ">=13"},
            "url": ZLIB,
            "hash": {"md5": MD5, "sha256": SHA},
            "category": "main",
            "optional": False,
        },
        {
            "name": "six",
            "version": "1.16.0",
            "manager": "pip",
            "platform": "linux-64",
            "dependencies": {},
            "url": WHL,
            "hash": {"sha256": SHA},
        },
    ],
}


def pixi(version: int) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": version,
        "environments": {
            "default": {
                "channels": [{"url": f"{CF}/"}],
                "packages": {"linux-64": [{"conda": ZLIB}, {"pypi": WHL}]},
            }
        },
        "packages": [
            {"conda": ZLIB, "sha256": SHA, "md5": MD5, "depends": ["libgcc >=13"], "size": 1},
            {"pypi": WHL, "name": "six", "version": "1.16.0"},
        ],
    }
    if version == 7:
        doc["platforms"] = [{"name": "linux-64"}]
    return doc


DOCUMENTS = {
    "explicit-1.0": YAML(typ="safe", pure=True).load(explicit_v1.write(make_lock())),
    "conda-lock-v1": CONDA_LOCK,
    "pixi-lock-v6": pixi(6),
    "pixi-lock-v7": pixi(7),
}
BROKEN_URL = "https://user:hunter2@[::1/linux-64/zlib-1.3.1-hb9d3cd8_2.conda"  # bad IPv6 host
VALUES = [None, 0, 7, True, 1.5, "", "x", "../../etc", [], [None], {}, {"a": None}, BROKEN_URL]
DELETE = object()
URL_KEYS = {"url", "resolved", "conda", "pypi", "channels"}


def paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        yield from paths(child, (*prefix, key))


def replaced(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_malformed_variant_is_read_or_refused_with_one_line(name: str) -> None:
    doc = DOCUMENTS[name]
    assert formats.read_text(json.dumps(doc), "lock").format == name
    tried = 0
    for path in paths(doc):
        for value in [*VALUES, *([DELETE] if path else [])]:
            text = json.dumps(replaced(doc, path, value))
            try:
                formats.read_text(text, "lock")
            except LockfileError as e:
                assert str(e).startswith("lock") and "\n" not in str(e), (path, value)
                if URL_KEYS & set(path):  # a URL's credentials never reach a message
                    assert "hunter2" not in str(e), (path, value)
            tried += 1
    assert tried > 200


LINES = [
    "",
    "#",
    "@EXPLICIT",
    "x",
    "#" + MD5,
    f"{ZLIB}#",
    f"{ZLIB}##{MD5}",
    f"{BROKEN_URL}#{MD5}",
    f"http://a\x00b/linux-64/zlib-1.3.1-hb9d3cd8_2.conda#{MD5}",
    f"https://h/linux-64/zlib-1.3.1-hb9d3cd8_2.conda\u2028#{MD5}",
    f"https://h/linux-64/../zlib-1.3.1-hb9d3cd8_2.conda#{MD5}",
    f"https://h/linux-64/zlib-1.3.1-hb9d3cd8_2.conda?x=1#{MD5}",
    "# platform: ",
    "# platform: linux-64 osx-64",
    "# input_hash: ",
]


def test_every_malformed_explicit_line_is_read_or_refused_with_one_line() -> None:
    lines = ["# platform: linux-64", "@EXPLICIT", f"{ZLIB}#{MD5}", f"{ZLIB}#sha256:{SHA}"]
    for i in range(len(lines)):
        for line in LINES:
            text = "\n".join([*lines[:i], line, *lines[i + 1 :]])
            try:
                formats.read_text(text, "lock")
            except LockfileError as e:
                assert str(e).startswith("lock") and "\n" not in str(e), (i, line)
                assert "hunter2" not in str(e)
