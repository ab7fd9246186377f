"""MQTT, topics with JSON or plain payloads: the whole protocol in this folder, laid out as
`fieldlab.connectors` says.

The connector is `connector.py`; README.md says what it does, `sample.yaml` shows a source."""

TYPE = "mqtt"
