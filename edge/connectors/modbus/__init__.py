"""Modbus TCP: the whole protocol in this folder, laid out as `fieldlab.connectors` says.

The connector is `connector.py`; README.md says what it does, `sample.yaml` shows a source."""

TYPE = "modbus"
#: the simulator face's default port (a device's is 502, which needs root)
FACE_PORT = 5020
