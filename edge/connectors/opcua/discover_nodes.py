"""Browse an OPC UA server: node ids, types and values, and a config snippet to start from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from asyncua import Client, ua


@dataclass
class Found:
    depth: int
    nodeid: str
    browse_name: str
    node_class: str
    data_type: str = ""
    value: Any = None
    parent: str = ""


async def browse(
    url: str, root: str = "i=85", depth: int = 4, limit: int = 2000, timeout: float = 10
) -> tuple[list[Found], list[str]]:
    """Variables and objects below ``root`` (Objects), and the namespace array."""
    out: list[Found] = []
    async with Client(url, timeout=timeout) as client:
        namespaces = await client.get_namespace_array()
        queue = [(client.get_node(root), 0)]
        while queue and len(out) < limit:
            node, level = queue.pop(0)
            node_id = node.nodeid.to_string()
            for ref in await node.get_children_descriptions():
                if ref.NodeClass not in (ua.NodeClass.Object, ua.NodeClass.Variable):
                    continue
                nid = ref.NodeId.to_string()
                if nid.startswith("i=") and root == "i=85" and nid == "i=2253":
                    continue  # the Server object: standard, not the machine
                item = Found(
                    level, nid, ref.BrowseName.to_string(), ref.NodeClass.name, parent=node_id
                )
                if ref.NodeClass == ua.NodeClass.Variable:
                    child = client.get_node(ref.NodeId)
                    try:
                        dv = await child.read_data_value(raise_on_bad_status=False)
                        item.value = dv.Value.Value if dv.Value else None
                        item.data_type = dv.Value.VariantType.name if dv.Value else ""
                    except Exception as exc:  # noqa: BLE001 - show what could not be read
                        item.value = f"<{type(exc).__name__}>"
                out.append(item)
                if level + 1 < depth:
                    queue.append((client.get_node(ref.NodeId), level + 1))
    return out, namespaces


def signal_name(browse_name: str) -> str:
    name = browse_name.split(":", 1)[-1]
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    return re.sub(r"[^a-z0-9_]+", "_", name).strip("_") or "value"


def config_snippet(url: str, machine: str, found: list[Found], namespaces: list[str]) -> dict:
    """A `sources:` entry with every numeric or text variable mapped to a signal named after
    it (nsu= node ids, so namespace indexes may drift). Edit it: rename to state,
    count_total… and add maps."""
    signals = {}
    for f in found:
        if (
            f.node_class != "Variable"
            or f.data_type in ("", "Null", "ExtensionObject")
            or isinstance(f.value, list)
        ):
            continue
        nid = f.nodeid
        m = re.match(r"ns=(\d+);(.*)$", nid)
        if m and int(m[1]) < len(namespaces):
            nid = f"nsu={namespaces[int(m[1])]};{m[2]}"
        name = signal_name(f.browse_name)
        while name in signals:
            name += "_2"
        signals[name] = {"node": nid}
    return {"type": "opcua", "name": "discovered", "url": url, "machines": {machine: signals}}


MACHINERY = "http://opcfoundation.org/UA/Machinery/"


def machinery_snippet(url: str, found: list[Found], namespaces: list[str]) -> dict | None:
    """A server that follows OPC 40001-1 (a `Machines` folder in the Machinery namespace whose
    machines have a MachineryItemState): one machine per entry, its state from the two state
    machines through the Machinery presets, addressed by browse path (which survives a PLC
    download that renumbers node ids). None for any other server."""
    if MACHINERY not in namespaces:
        return None
    mi = namespaces.index(MACHINERY)
    folder = next((f for f in found if f.browse_name == f"{mi}:Machines"), None)
    if folder is None:
        return None
    aliases = {MACHINERY: "Machinery"}
    machines: dict[str, dict] = {}
    for m in (f for f in found if f.parent == folder.nodeid and f.node_class == "Object"):
        children = {f.browse_name for f in found if f.parent == m.nodeid}
        if f"{mi}:MachineryItemState" not in children:
            continue
        idx, _, name = m.browse_name.partition(":")
        uri = namespaces[int(idx)]
        alias = aliases.setdefault(uri, f"ns{len(aliases)}")
        base = f"Machinery:Machines/{alias}:{name}"
        signals = {
            "state": {
                "path": f"{base}/Machinery:MachineryItemState/CurrentState",
                "preset": "machinery_item_state",
            }
        }
        if f"{mi}:MachineryOperationMode" in children:
            signals["operation_mode"] = {
                "path": f"{base}/Machinery:MachineryOperationMode/CurrentState",
                "preset": "machinery_operation_mode",
            }
        machines[signal_name(name).replace("_", "-")] = signals
    if not machines:
        return None
    return {
        "type": "opcua",
        "name": "machinery",
        "url": url,
        "namespaces": {alias: uri for uri, alias in aliases.items()},
        "machines": machines,
    }
