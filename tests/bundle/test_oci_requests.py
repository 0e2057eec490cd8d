"""How many requests ``vendor push`` makes against a real registry (Debian's
docker-registry over TLS), read from the registry's own access log: a new blob costs one
``POST`` and one ``PUT`` (as ``curl`` uploading it would), a blob the registry holds in
another repository is mounted (one ``POST``, no bytes), and a re-push of a state the
registry holds reads and hashes nothing of the bundle.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conda_vendor_plugin.bundle import oci_layout as L
from conda_vendor_plugin.transport.oci import Registry as Client

from ..support.build import build_channel
from ..support.registry import Registry
from .test_oci import PKGS, _json, _push, _vendor

EMPTY = L.sha256_digest(b"{}")
QUOTED_EMPTY = EMPTY.replace(":", "%3A")


@pytest.fixture
def channel(tmp_path: Path) -> str:
    return build_channel(tmp_path / "chan", PKGS, subdirs=("linux-64",)).as_uri()


def _repos(lines: list[str]) -> list[str]:
    return sorted(line.split(" ")[0].removeprefix("/v2/").split("/blobs/")[0] for line in lines)


def test_a_new_blob_costs_one_post_and_one_put_and_the_empty_config_goes_up_once(
    run, tmp_path: Path, channel: str, registry: Registry
) -> None:
    out = tmp_path / "OUT"
    _vendor(run, tmp_path, channel, ["app", "lib 1.5*", "tool"], out)
    url, ca = registry.url("team/envs"), registry.certs.ca
    doc = _json(run, "push", out, url, "--ca-cert", ca, "-j", 1)  # one at a time: no race

    uploads, mounts = registry.uploads(), registry.mounts()
    puts = registry.requests("PUT", r"\S+/blobs/uploads/\S+")
    assert registry.requests("HEAD", r"\S+/blobs/\S+") == []  # asked by the POST itself
    # A namespace without `latest` (no push completed there): no package tag asked for.
    assert registry.requests("HEAD", "team/envs/manifests/latest")[0].endswith(" 404")
    assert registry.requests("GET") == []
    assert len(uploads) == len(puts) == doc["blobs_uploaded"]
    assert all(line.endswith(" 201") for line in puts)
    # `{}` (every artifact's config) is uploaded once, then mounted into every other
    # repository: 4 packages, 2 repodata artifacts, the bundle's metadata.
    assert len([u for u in uploads if QUOTED_EMPTY in u]) == 1
    assert len(mounts) == doc["blobs_present"] == 6
    assert all(QUOTED_EMPTY in m for m in mounts)
    assert len(set(_repos(uploads + mounts))) == 7


@pytest.fixture
def pushed(run, tmp_path: Path, channel: str, registry: Registry) -> Path:
    """A bundle of 4 packages (2 subdirs), pushed once to ``team/envs``."""
    out = tmp_path / "OUT"
    _vendor(run, tmp_path, channel, ["app", "lib 1.5*", "tool"], out)
    _push(run, out, registry)
    return out


def test_a_re_push_of_a_state_the_registry_holds_touches_no_blob(
    run, pushed: Path, registry: Registry
) -> None:
    out = pushed
    since = registry.log_size()
    archives = [*out.glob("local_*/*/*.conda"), *out.glob("local_*/*/*.tar.bz2")]
    for archive in archives:  # not read: a re-push that opened one would refuse the bundle
        archive.write_bytes(b"")
    assert len(archives) == 4

    again = _push(run, out, registry)
    assert registry.requests("[A-Z]+", r"\S+/blobs/\S*", since) == []
    assert registry.requests("PUT|POST|PATCH|DELETE", since=since) == []
    # One GET (the state's metadata artifact, with this manifest.json), then a HEAD of
    # latest, of each of the 4 package tags and of both repodata tags.
    tag = again["tags"][0]
    assert registry.requests("GET", since=since) == [f"/v2/team/envs/manifests/{tag} 200"]
    heads = registry.requests("HEAD", since=since)
    assert len(heads) == 1 + 4 + 2 and all(h.endswith(" 200") for h in heads)
    assert again["packages_pushed"] == again["blobs_uploaded"] == again["blobs_present"] == 0
    assert again["packages"] == 4  # what the registry holds, counted without reading a byte


def test_a_re_push_puts_back_a_package_the_registry_lost(
    run, pushed: Path, registry: Registry
) -> None:
    out = pushed
    client = Client(registry.netloc, ca_cert=registry.certs.ca)
    repo = "team/envs/local_chan/noarch/tool"
    digest = client.manifest_digest(repo, "0.1-0")
    r = client.request("DELETE", f"/v2/{repo}/manifests/{digest}", f"repository:{repo}:*")
    assert r.status_code == 202

    again = _push(run, out, registry)
    assert again["packages_pushed"] == 1
    assert client.manifest_digest(repo, "0.1-0") == digest


def test_a_re_push_asks_once_per_package_name_for_its_builds_across_versions(
    run, tmp_path: Path, channel: str, registry: Registry
) -> None:
    """A bundle whose two versions lock two builds of ``lib``: a re-push lists ``lib``'s
    tags once instead of asking for each, and still puts back a build the registry lost."""
    out = tmp_path / "OUT"
    _vendor(run, tmp_path, channel, ["app", "lib 1.5*", "tool"], out)
    _vendor(run, tmp_path, channel, ["app", "lib 2.1*", "tool"], out)
    _push(run, out, registry)
    lib = "team/envs/local_chan/linux-64/lib"
    since = registry.log_size()

    again = _push(run, out, registry)
    assert again["packages"] == 5 and again["packages_pushed"] == 0
    listed = registry.requests("GET", rf"{lib}/tags/list\S*", since)
    assert listed == [f"/v2/{lib}/tags/list?n=1000 200"]
    assert registry.requests("HEAD", f"{lib}/manifests/\\S+", since) == []
    # latest, app, _data, tool, both repodata: one HEAD each; lib: its tag list.
    assert len(registry.requests("HEAD", since=since)) == 1 + 3 + 2

    client = Client(registry.netloc, ca_cert=registry.certs.ca)
    digest = client.manifest_digest(lib, "2.1-0")
    r = client.request("DELETE", f"/v2/{lib}/manifests/{digest}", f"repository:{lib}:*")
    assert r.status_code == 202
    assert _push(run, out, registry)["packages_pushed"] == 1
    assert client.manifest_digest(lib, "2.1-0") == digest
