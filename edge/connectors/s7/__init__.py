"""Siemens S7 over ISO-on-TCP: the whole protocol in this folder, laid out as
`fieldlab.connectors` says.

The connector is `connector.py`; README.md says what it does, `sample.yaml` shows a source."""

TYPE = "s7"
#: the simulator face's default port (an S7 CPU's is 102, which needs root)
FACE_PORT = 1102
