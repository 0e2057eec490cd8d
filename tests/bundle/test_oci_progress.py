"""``vendor push`` reports progress through the reporter interface (``progress.py``; conda's
reporters inside conda), as downloads do: a step per phase, a bar over the packages'
archive bytes. Counted on a real push to a real registry (Debian's docker-registry)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conda_vendor_plugin.bundle import oci_layout as L
from conda_vendor_plugin.bundle.push import push_bundle
from conda_vendor_plugin.transport.oci import Registry as Client
from conda_vendor_plugin.transport.oci_names import OciReference

from ..support.build import build_channel
from ..support.registry import Registry
from .test_oci import PKGS, _vendor


@pytest.fixture
def channel(tmp_path: Path) -> str:
    return build_channel(tmp_path / "chan", PKGS, subdirs=("linux-64",)).as_uri()


class Recording:
    """A reporter that records every event, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object, ...]] = []

    @contextmanager
    def step(self, message: str) -> Iterator[None]:
        self.events.append(("step", message))
        yield
        self.events.append(("step done", message))

    def bar(self, description: str, total: int) -> Recording:
        self.events.append(("bar", description, total))
        return self

    def update(self, done: int) -> None:
        self.events.append(("update", done))

    def close(self) -> None:
        self.events.append(("close",))

    def info(self, message: str) -> None:
        self.events.append(("info", message))


def _archive_bytes(out: Path) -> int:
    files = json.loads((out / "manifest.json").read_text())["files"]
    return sum(f["size"] for f in files if "purl" in f and "link" not in f)


def test_push_reports_each_phase_and_a_bar_over_the_archive_bytes(
    run, tmp_path: Path, channel: str, registry: Registry
) -> None:
    out = tmp_path / "OUT"
    _vendor(run, tmp_path, channel, ["app", "lib 1.5*", "tool"], out)
    ref = OciReference.parse(registry.url("team/envs"))
    client = Client(registry.netloc, ca_cert=registry.certs.ca)

    first = Recording()
    push_bundle(out, ref, client, jobs=2, reporter=first)
    kinds = [e[0] for e in first.events]
    asking = f"Asking {registry.url('team/envs')} for this bundle state"
    assert first.events[:4] == [
        ("step", asking),
        ("step done", asking),
        ("step", f"Verifying {out}"),
        ("step done", f"Verifying {out}"),
    ]
    total = _archive_bytes(out)
    assert first.events[4] == ("bar", "Pushing packages", total)
    updates = [e[1] for e in first.events if e[0] == "update"]
    assert len(updates) == 4  # one per package, as each is done
    assert updates == sorted(updates) and updates[-1] == total and updates[0] > 0
    assert kinds.count("close") == 1 and kinds.index("close") > kinds.index("update")
    assert first.events[-2:] == [
        ("step", "Pushing the repodata and the bundle's metadata"),
        ("step done", "Pushing the repodata and the bundle's metadata"),
    ]

    again = Recording()
    push_bundle(out, ref, client, jobs=2, reporter=again)
    assert again.events == [
        ("step", asking),
        ("step done", asking),
        ("info", "The registry holds this bundle state whole already: nothing to send."),
    ]


def test_the_command_shows_the_steps_on_stderr_and_nothing_with_json(
    run, tmp_path: Path, channel: str, registry: Registry
) -> None:
    out = tmp_path / "OUT"
    _vendor(run, tmp_path, channel, ["tool"], out)
    args = ("vendor", "push", out, registry.url("team/envs"), "--ca-cert", registry.certs.ca)
    rc, _, err = run(*args, "--json")
    assert rc == 0 and err == ""
    client = Client(registry.netloc, ca_cert=registry.certs.ca)
    empty = L.image_manifest([], L.empty_config(L.BUNDLE_CONFIG_MEDIA_TYPE))
    client.put_manifest("team/envs", "latest", empty)

    rc, stdout, err = run(*args)  # latest moved: the state is pushed again (its tags)
    assert rc == 0 and stdout.startswith(f"Pushed {out}")
    assert err.splitlines() == [
        f"Asking {registry.url('team/envs')} for this bundle state ... done",
        f"Verifying {out} ... done",
        "Pushing the repodata and the bundle's metadata ... done",
    ]
