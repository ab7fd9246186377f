"""An OPC UA server laid out as OPC 40001-1 Machinery (a Machines folder; per machine a
MachineryItemState and a MachineryOperationMode with CurrentState): `discover opcua
--write-config` recognises it and writes a config that reads the state through the Machinery
presets by browse path; the gateway follows the two state machines, and still reads them after
the server comes back with every node id renumbered (a PLC download), because paths survive."""

from __future__ import annotations

import asyncio
import threading
import time

import yaml
from asyncua import Server, ua

from fieldlab.store import SqliteStore
from tests.services import Process, eventually, fieldlab, free_port

MACHINERY = "http://opcfoundation.org/UA/Machinery/"
PRESS = "http://example.com/Press/"


class MachineryServer:
    """An asyncua server in a thread of its own; `padding` shifts every numeric node id."""

    def __init__(self, port: int):
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._nodes: dict[str, object] = {}
        self._stop: asyncio.Event | None = None

    async def _serve(self, padding: int, item: str, mode: str, ready: threading.Event) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(f"opc.tcp://127.0.0.1:{self.port}/")
        mi = await server.register_namespace(MACHINERY)
        pi = await server.register_namespace(PRESS)
        objects = server.nodes.objects
        for k in range(padding):  # other things of the PLC program, before the machine
            await objects.add_object(pi, f"Padding{k}")
        machines = await objects.add_folder(mi, "Machines")
        press = await machines.add_object(pi, "Press1")
        for sm, value in (("MachineryItemState", item), ("MachineryOperationMode", mode)):
            obj = await press.add_object(mi, sm)
            var = await obj.add_variable(
                ua.NodeId(f"Press1.{sm}.CurrentState.v{padding}", pi),  # moves with a download
                ua.QualifiedName("CurrentState", 0),  # a standard browse name, as in the spec
                ua.LocalizedText(value, "en"),
            )
            self._nodes[sm] = var
        self._stop = asyncio.Event()
        async with server:
            ready.set()
            await self._stop.wait()

    def start(self, padding: int = 0, item: str = "Executing", mode: str = "Processing") -> None:
        ready = threading.Event()

        def main() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._serve(padding, item, mode, ready))
            self._loop.close()

        self._thread = threading.Thread(target=main, daemon=True)
        self._thread.start()
        assert ready.wait(30), "the Machinery server did not start"

    def set(self, machine: str, value: str) -> None:
        assert self._loop is not None
        node = self._nodes[machine]
        fut = asyncio.run_coroutine_threadsafe(
            node.write_value(ua.LocalizedText(value, "en")),  # type: ignore[attr-defined]
            self._loop,
        )
        fut.result(10)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(30)


def test_a_machinery_server_is_recognised_and_read_by_path_across_a_renumbering(tmp_path):
    port = free_port()
    url = f"opc.tcp://127.0.0.1:{port}/"
    server = MachineryServer(port)
    server.start(padding=0)
    try:
        out = fieldlab("discover", "opcua", url, "--write-config", str(tmp_path / "src.yaml"))
        assert out.returncode == 0, out.stderr
        assert "OPC 40001-1 Machinery: 1 machine(s)" in out.stdout, out.stdout
        source = yaml.safe_load((tmp_path / "src.yaml").read_text())["sources"][0]
        assert source["namespaces"]["Machinery"] == MACHINERY
        state = source["machines"]["press1"]["state"]
        assert state["preset"] == "machinery_item_state" and "node" not in state
        assert state["path"].startswith("Machinery:Machines/")
        http = free_port()
        site = {
            "store": "sqlite:///fieldlab.db",
            "gateway": {"http": {"port": http}},
            "sources": [source],
        }
        (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
        with Process("gateway", "-c", str(tmp_path / "site.yaml"), cwd=tmp_path) as gw:

            def states() -> list[str]:
                try:
                    with SqliteStore(tmp_path / "fieldlab.db", readonly=True) as store:
                        return [str(v) for v in store.read("press1", "state", 0, 10**13).values]
                except Exception:  # noqa: BLE001 - not there yet
                    return []

            eventually(lambda: states() == ["running"], "running from Executing + Processing")
            server.set("MachineryOperationMode", "Setup")
            eventually(lambda: states()[-1:] == ["setup"], "setup from the operation mode")
            # a PLC download: the server comes back with every node id moved by 7
            server.stop()
            time.sleep(1)
            server = MachineryServer(port)
            server.start(padding=7, item="OutOfService", mode="Processing")
            eventually(lambda: states()[-1:] == ["fault"], "fault after the renumbering", 30)
            assert "offline" in states()
            assert gw.stop() == 0, gw.output
    finally:
        server.stop()
