"""The proof that ``vendor push`` writes the layout rattler reads: py-rattler solves from and
installs straight out of the registry (``oci://HOST/NAMESPACE/local_<channel>``).

rattler's OCI middleware drops the port and always speaks https (``https://{host}/v2/...``),
so the registry listens on port 443 of a loopback address of its own (127.x.y.z, which only
root may bind: the test skips elsewhere); rattler trusts the test's CA through
``SSL_CERT_FILE`` and runs in a subprocess so that it reads that variable when its client is
made. The default gateway client refuses the ``oci`` scheme, so the Gateway is built on
``rattler.Client.default_client()`` (whose middleware stack has the OCI one).
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ..support import registry as reg
from ..support.build import Pkg, build_channel
from ..support.vendoring import write_env

pytest.importorskip("rattler")

SCRIPT = """
import asyncio, json, os, sys
import rattler
from rattler import Client, Gateway, solve

async def main(channel, prefix):
    gateway = Gateway(client=Client.default_client())
    records = await solve([channel], ["app"], platforms=["linux-64", "noarch"], gateway=gateway)
    await rattler.install(records, target_prefix=prefix, client=Client.default_client())
    print(json.dumps(sorted(f"{r.name.normalized}={r.version}={r.build}" for r in records)))

asyncio.run(main(sys.argv[1], sys.argv[2]))
sys.stdout.flush()
os._exit(0)  # py-rattler's runtime threads can abort interpreter finalization (SIGABRT)
"""


def _loopback_443() -> str:
    """A 127.x.y.z address whose port 443 this process may bind, else skip."""
    host = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"
    try:
        with socket.socket() as s:
            s.bind((host, 443))
    except OSError as e:
        pytest.skip(f"cannot listen on {host}:443 ({e.strerror}); rattler's OCI client needs 443")
    return host


def test_py_rattler_solves_and_installs_from_the_pushed_channel(tmp_path: Path, run) -> None:
    reg.require()
    host = _loopback_443()
    pkgs = [
        Pkg("app", "1.0", depends=["lib >=1", "_data"]),
        Pkg("lib", "1.5+x", subdir="linux-64"),
        Pkg("_data", "2024.1"),
        Pkg("tool", "0.1", fmt=".conda"),
    ]
    chan = build_channel(tmp_path / "chan", pkgs, subdirs=("linux-64",)).as_uri()
    env = write_env(tmp_path / "env.yml", [chan], ["app", "tool"], name="analysis")
    out = tmp_path / "OUT"
    assert run("vendor", env, "--platform", "linux-64", "-o", out)[0] == 0
    certs = reg.make_certificates(tmp_path / "tls", host)
    with reg.running(tmp_path / "registry", host=host, port=443, certs=certs) as registry:
        url = f"oci://{host}/team/envs"  # no port: 443 is https's own
        rc, _, err = run("vendor", "push", out, url, "--ca-cert", certs.ca)
        assert rc == 0, err
        before = len(registry.requests("GET"))

        prefix = tmp_path / "prefix"
        environ = {
            **os.environ,
            "SSL_CERT_FILE": str(certs.ca),
            "RATTLER_CACHE_DIR": str(tmp_path / "rattler-cache"),
        }
        proc = subprocess.run(
            [sys.executable, "-c", SCRIPT, f"{url}/local_chan", str(prefix)],
            env=environ,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        fetched = registry.requests("GET")[before:]

    assert json.loads(proc.stdout) == ["_data=2024.1=0", "app=1.0=0", "lib=1.5+x=0"]
    # Installed from the registry: each archive's blob fetched, each repodata.json read.
    for repo in ("local_chan/noarch/zzz_data", "local_chan/linux-64/lib", "local_chan/noarch/app"):
        assert any(line.startswith(f"/v2/team/envs/{repo}/blobs/sha256:") for line in fetched)
    assert any("/local_chan/linux-64/repodata.json/manifests/latest" in line for line in fetched)
    local = json.loads((out / "local_chan" / "linux-64" / "repodata.json").read_text())
    meta = json.loads((prefix / "conda-meta" / "lib-1.5+x-0.json").read_text())
    assert meta["sha256"] == local["packages"]["lib-1.5+x-0.tar.bz2"]["sha256"]
