"""OPC UA: the whole protocol in this folder, laid out as `fieldlab.connectors` says.

The connector is `connector.py`; README.md says what it does, `sample.yaml` shows a source."""

TYPE = "opcua"
#: the simulator face's default port (an OPC UA server's is 4840)
FACE_PORT = 4840
