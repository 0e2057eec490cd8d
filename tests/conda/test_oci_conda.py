"""``conda vendor push`` and ``conda vendor pull`` inside a real conda, against a real registry
(Debian's docker-registry, see tests/support/registry.py): the same commands as standalone,
reported through conda (one line per error, conda's JSON with ``--json``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..support import registry as reg
from ..support.bundles import current
from ..support.condarun import conda, no_traceback
from ..support.vendoring import snapshot, write_env
from .conftest import HOST


def test_conda_vendor_push_and_pull(
    served, env: dict[str, str], tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    reg.require()
    env_file = write_env(tmp_path / "env.yml", [served.url], ["app"])
    out = tmp_path / "OUT"
    assert conda(env, "vendor", env_file, "-o", out, "--platform", HOST).returncode == 0
    certs = reg.certificates(tmp_path_factory)
    with reg.running(tmp_path / "registry", certs=certs) as registry:
        url = registry.url("team/envs")
        proc = conda(env, "vendor", "push", out, url, "--ca-cert", certs.ca, "--json")
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["packages_pushed"] == doc["packages"] > 0

        again = conda(env, "vendor", "push", out, url, "--ca-cert", certs.ca, "--json")
        assert json.loads(again.stdout)["blobs_uploaded"] == 0

        pulled = tmp_path / "PULLED"
        proc = conda(env, "vendor", "pull", url, "-o", pulled, "--ca-cert", certs.ca)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(f"Pulled oci://{registry.netloc}/team/envs:latest")
        assert snapshot(pulled) == snapshot(out)
        assert (current(pulled) / "environment.lock.yml").is_file()

        unverified = conda(env, "vendor", "push", out, url)  # no --ca-cert: the system store
        assert unverified.returncode == 1
        no_traceback(unverified)
        assert "pass --ca-cert FILE with the registry's CA" in unverified.stderr
