"""An interrupted ``vendor push`` of a blob larger than one chunk is resumed by the next
push from where the registry says the upload stands, not restarted: a real push (its own
process) is Ctrl-C'd after the registry accepted a chunk, and the second run's requests
are counted in the real registry's access log (Debian's docker-registry)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from conda_vendor_plugin.transport.oci_names import CHUNK_SIZE

from ..support.build import Pkg, build_channel
from ..support.interrupt import interrupt_when
from ..support.registry import Registry
from .test_oci import _push, _vendor

REPO = "team/envs/local_chan/noarch/big"


def _big_bundle(run, tmp_path: Path) -> tuple[Path, str, int]:
    """A bundle whose one archive spans three chunks: (bundle, its digest, its size)."""
    big = Pkg("big", "1.0", fmt=".conda", payload_size=2 * CHUNK_SIZE + (4 << 20))
    chan = build_channel(tmp_path / "chan", [big], subdirs=("linux-64",))
    out = tmp_path / "OUT"
    _vendor(run, tmp_path, chan.as_uri(), ["big"], out)
    (item,) = [f for f in json.loads((out / "manifest.json").read_text())["files"] if "purl" in f]
    assert 2 * CHUNK_SIZE < item["size"] <= 3 * CHUNK_SIZE
    return out, f"sha256:{item['sha256']}", item["size"]


def _accepted_chunks(registry: Registry, since: int = 0) -> list[str]:
    patches = registry.requests("PATCH", rf"{REPO}/blobs/uploads/\S+", since)
    return [p for p in patches if p.endswith(" 202")]


def _saved_sessions() -> list[Path]:
    state = Path(os.environ["XDG_CACHE_HOME"]) / "conda-vendor-plugin" / "oci-uploads"
    return sorted(state.glob("*.json")) if state.is_dir() else []


def test_an_interrupted_push_resumes_the_large_blob_where_the_registry_has_it(
    run, tmp_path: Path, registry: Registry
) -> None:
    out, digest, _ = _big_bundle(run, tmp_path)
    argv = ["vendor", "push", out, registry.url("team/envs"), "--ca-cert", registry.certs.ca]
    cut = interrupt_when(argv, lambda: bool(_accepted_chunks(registry)), settle=0)
    assert cut.returncode != 0 and "Traceback" not in cut.stderr
    first = _accepted_chunks(registry)
    assert 1 <= len(first) < 3 and digest not in registry.stored_blobs()
    (saved,) = _saved_sessions()
    assert "s3cret" not in saved.read_text() and json.loads(saved.read_text())["digest"] == digest

    since = registry.log_size()
    doc = _push(run, out, registry)
    # The registry was asked where the upload stands (one GET, 204 with its Range) and
    # got the rest: every one of the three chunks was sent once over both runs, and no
    # new upload of the archive was opened.
    status = registry.requests("GET", rf"{REPO}/blobs/uploads/\S+", since)
    assert status == [status[0]] and status[0].endswith(" 204")
    assert len(first) + len(_accepted_chunks(registry, since)) == 3
    quoted = digest.replace(":", "%3A")
    assert [p for p in registry.requests("POST", since=since) if quoted in p] == []
    assert digest in registry.stored_blobs() and doc["packages_pushed"] == 1
    assert _saved_sessions() == []  # done: forgotten


@pytest.mark.parametrize("saved_as", ["forgotten", "elsewhere"])
def test_an_upload_the_registry_no_longer_knows_or_elsewhere_is_started_afresh(
    run, tmp_path: Path, registry: Registry, saved_as: str
) -> None:
    """A saved upload the registry answers 404 for, or one whose location names another
    host (never asked: credentials stay with their registry), is dropped for a new one."""
    out, digest, _ = _big_bundle(run, tmp_path)
    argv = ["vendor", "push", out, registry.url("team/envs"), "--ca-cert", registry.certs.ca]
    interrupt_when(argv, lambda: bool(_accepted_chunks(registry)), settle=0)
    (saved,) = _saved_sessions()
    doc = json.loads(saved.read_text())
    if saved_as == "forgotten":
        uuid = doc["location"].split("/blobs/uploads/")[1].split("?")[0]
        doc["location"] = doc["location"].replace(uuid, "00000000-0000-0000-0000-000000000000")
    else:  # a listener that counts who connects to it
        elsewhere = socket.create_server(("127.0.0.1", 0))
        elsewhere.settimeout(0.2)
        doc["location"] = doc["location"].replace(
            registry.netloc, f"127.0.0.1:{elsewhere.getsockname()[1]}"
        )
    saved.write_text(json.dumps(doc))

    since = registry.log_size()
    pushed = _push(run, out, registry)
    if saved_as == "elsewhere":
        with pytest.raises(TimeoutError), elsewhere:
            elsewhere.accept()  # nobody came
    asked = registry.requests("GET", rf"{REPO}/blobs/uploads/\S+", since)
    assert [a.rsplit(" ", 1)[1] for a in asked] == (["404"] if saved_as == "forgotten" else [])
    assert len(_accepted_chunks(registry, since)) == 3  # from its first byte
    assert digest in registry.stored_blobs() and pushed["packages_pushed"] == 1
    assert _saved_sessions() == []
