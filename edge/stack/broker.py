"""An embedded MQTT broker (amqtt) for the laptop demo and workshops: no Mosquitto to install.

About 3k messages/s (REFERENCE.md): plenty for six simulated machines, not a production hot
path; a fieldlab server runs Mosquitto (docker-compose.yml). Binds loopback unless told."""

from __future__ import annotations

import logging
import warnings


class EmbeddedBroker:
    def __init__(self, host: str = "127.0.0.1", port: int = 1883):
        self.host, self.port = host, port
        self._broker = None

    async def start(self) -> None:
        from amqtt.broker import Broker

        amqtt_log = logging.getLogger("amqtt")
        amqtt_log.setLevel(max(amqtt_log.getEffectiveLevel(), logging.ERROR))
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "sys_interval": 0,
            # Only what the demo needs. Without a `plugins` list amqtt loads every plugin it
            # ships, and its packet and event loggers take part in every message (a fifth of
            # the broker's time when a recipe is checked at full speed).
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            broker = self._broker = Broker(config)
        await broker.start()

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"
