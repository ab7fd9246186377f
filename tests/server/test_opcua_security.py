"""OPC UA SignAndEncrypt (Basic256Sha256) between gateway and simulator, trust on both sides.

An unknown server certificate is refused and written to the gateway's pki/rejected/; moving it
to pki/trusted/ is how an engineer trusts it, without a restart. The gateway's own certificate
is made once and kept, so the server side trusts it once."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
import yaml

from fieldlab.connectors.opcua.connector import Pki
from tests.services import Process, eventually, free_port
from tests.sim_gateway import health


@pytest.mark.slow
def test_gateway_and_simulator_trust_each_other(tmp_path: Path):
    gw_pki, sim_pki = tmp_path / "gw" / "pki", tmp_path / "sim-pki"
    (sim_pki / "trusted").mkdir(parents=True)
    pki = Pki(gw_pki)
    asyncio.run(pki.ensure_own())
    own = pki.cert.read_bytes()
    shutil.copy(pki.cert, sim_pki / "trusted" / "gateway.der")  # the server trusts us
    port, http = free_port(), free_port()
    site = tmp_path / "gw" / "site.yaml"
    site.write_text(
        yaml.safe_dump(
            {
                "store": "sqlite:///gw.db",
                "gateway": {"http": {"port": http}},
                "sources": [
                    {
                        "type": "opcua",
                        "name": "secure",
                        "url": f"opc.tcp://127.0.0.1:{port}/fieldlab/",
                        "security": {"policy": "Basic256Sha256", "mode": "SignAndEncrypt"},
                        "pki": "pki",
                        "namespaces": {"sim": "urn:fieldlab-kit:simulator"},
                        "machines": {"cnc-1": {"state": {"node": "ns=sim;s=cnc-1.State"}}},
                    }
                ],
            }
        )
    )
    with (
        Process(
            "sim",
            "--faces",
            "opcua",
            "--opcua-port",
            str(port),
            "--speed",
            "10",
            "--opcua-security",
            "encrypt",
            "--opcua-pki",
            str(sim_pki),
            "--opcua-require-trust",
            "-q",
        ) as sim,
        Process("gateway", "-c", str(site), cwd=site.parent) as gw,
    ):
        sim.wait_for("serving opc.tcp://")
        line = gw.wait_for("server certificate not trusted", 30)
        rejected = list((gw_pki / "rejected").glob("*.der"))
        assert len(rejected) == 1 and str(rejected[0]) in line
        assert health(http)["sources"][0]["state"] == "reconnecting"
        shutil.move(rejected[0], gw_pki / "trusted" / rejected[0].name)  # trust it
        eventually(
            lambda: (
                health(http)["sources"][0]["state"] == "connected"
                and health(http)["sources"][0]["samples"] >= 1
            ),
            "connected and reading once trusted",
            detail=lambda: gw.output,
        )
        gw.stop()
    assert pki.cert.read_bytes() == own  # made once, kept: no re-trust loop


@pytest.mark.slow
def test_a_changed_server_certificate_is_refused(tmp_path: Path):
    gw_pki = tmp_path / "gw" / "pki"
    port, http = free_port(), free_port()
    site = tmp_path / "gw" / "site.yaml"
    site.parent.mkdir(parents=True)
    site.write_text(
        yaml.safe_dump(
            {
                "store": "sqlite:///gw.db",
                "gateway": {"http": {"port": http}},
                "sources": [
                    {
                        "type": "opcua",
                        "name": "secure",
                        "url": f"opc.tcp://127.0.0.1:{port}/fieldlab/",
                        "security": {"policy": "Basic256Sha256", "mode": "Sign"},
                        "pki": "pki",
                        "trust_on_first_use": True,
                        "machines": {"cnc-1": {"state": {"node": "ns=2;s=cnc-1.State"}}},
                    }
                ],
            }
        )
    )
    with (
        Process(
            "sim",
            "--faces",
            "opcua",
            "--opcua-port",
            str(port),
            "--opcua-security",
            "sign",
            "--opcua-pki",
            str(tmp_path / "first"),
            "-q",
        ) as sim,
        Process("gateway", "-c", str(site), cwd=site.parent) as gw,
    ):
        sim.wait_for("serving opc.tcp://")
        gw.wait_for("secure: connected", 30)  # trust on first use
        assert len(list((gw_pki / "trusted").glob("*.der"))) == 1
        sim.stop()
        # the same endpoint comes back with another certificate: refused, not trusted again
        with Process(
            "sim",
            "--faces",
            "opcua",
            "--opcua-port",
            str(port),
            "--opcua-security",
            "sign",
            "--opcua-pki",
            str(tmp_path / "second"),
            "-q",
        ) as other:
            other.wait_for("serving opc.tcp://")
            gw.wait_for("server certificate not trusted", 30)
        assert len(list((gw_pki / "rejected").glob("*.der"))) == 1
        assert len(list((gw_pki / "trusted").glob("*.der"))) == 1
