"""An edge node made with pysparkplug (a Sparkplug B library none of us wrote, run in its own
environment: it needs paho-mqtt 1.x). It births a device `press1`, counts, changes state, then
dies without a goodbye, so the broker sends its will; it prints what it sent as JSON lines.

    .venv-sparkplug/bin/python tests/pysparkplug_edge_node.py HOST PORT COUNTS
"""

import json
import os
import sys
import time

from pysparkplug import DataType, Device, EdgeNode, Metric, get_current_timestamp


def main() -> None:
    host, port, counts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sent = []

    def metric(name, datatype, value):
        ts = get_current_timestamp()
        sent.append({"ts": ts, "name": name, "value": value})
        return Metric(timestamp=ts, name=name, datatype=datatype, value=value)

    node = EdgeNode("Plant1", "edge-a", metrics=[metric("Uptime", DataType.UINT64, 0)])
    device = Device(
        "press1",
        metrics=[
            metric("Status/State", DataType.STRING, "running"),
            metric("Counters/Total", DataType.UINT64, 0),
        ],
    )
    node.register(device)
    node.connect(host, port=port, blocking=False)
    time.sleep(1.0)  # NBIRTH and DBIRTH out
    for i in range(1, counts + 1):
        node.update_device("press1", [metric("Counters/Total", DataType.UINT64, i)])
        if i == counts // 2:
            node.update_device("press1", [metric("Status/State", DataType.STRING, "idle")])
        time.sleep(0.05)
    time.sleep(0.5)
    print("\n".join(json.dumps(s) for s in sent), flush=True)
    os._exit(0)  # no DISCONNECT: the broker publishes the NDEATH will


if __name__ == "__main__":
    main()
