"""A whole fieldlab on one machine, what `fieldlab demo` and `fieldlab recipe` run: the
simulators, a broker, the gateway and the dashboard (local.py), with the embedded MQTT broker
(broker.py) when no Mosquitto is given."""

from fieldlab.stack.local import LocalStack, Ports, free_port, port_or_free

__all__ = ["LocalStack", "Ports", "free_port", "port_or_free"]
