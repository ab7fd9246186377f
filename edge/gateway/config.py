"""The gateway's part of the site file: `sources:`, `sinks:` and `gateway:`.

Source and sink configs are unions over the modules found in `fieldlab.connectors` and
`fieldlab.sinks`, keyed by `type`, so a new protocol or sink needs no change here. Secrets are
named by environment variable (`*_env` keys), never written in the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from fieldlab.config.loader import ConfigError, parse_site_config, read_config_text
from fieldlab.config.site import SiteConfig
from fieldlab.connectors import connector_modules
from fieldlab.sinks import sink_modules
from fieldlab.sinks.influxdb import InfluxConfig
from fieldlab.sinks.sqlite import Config as SqliteSinkConfig
from fieldlab.sinks.uns import UnsConfig


class HttpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(8787, ge=0, le=65535, description="0 turns /health and /metrics off")


class GatewaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    http: HttpConfig = Field(default_factory=HttpConfig)
    queue_batches: int = Field(1000, ge=1, description="bounded queue between connectors and sinks")
    max_samples_per_commit: int = Field(20_000, ge=1)
    alert_retry_s: float = Field(
        1.0, gt=0, description="first wait before an alert channel is tried again (doubles)"
    )
    data_dir: str = Field(".", description="queues and certificates, relative to the config file")
    workers: int | Literal["auto"] = Field(
        1,
        description="ingest processes for the MQTT sources: 1 reads them in the gateway's own "
        "process; N (or auto: one per core) read through $share/… subscriptions in N worker "
        "processes that hand their batches to the gateway's one writer; docs/SCALING.md",
    )

    @field_validator("workers", mode="before")
    @classmethod
    def _workers(cls, v: Any) -> Any:
        if v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 64):
            return v
        raise ValueError(f"{v!r}: expected a number of processes from 1 to 64, or auto")

    def worker_count(self) -> int:
        if self.workers == "auto":
            return max(1, os.cpu_count() or 1)
        return self.workers


def _union(modules: dict[str, Any]) -> Any:
    """The configs of a registry's modules, told apart by `type:`."""
    models = tuple(m.Config for m in modules.values())
    if len(models) == 1:
        return models[0]
    return Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007


def gateway_model() -> type[SiteConfig]:
    """The site file as the gateway reads it (also `fieldlab config schema`): SiteConfig with
    its gateway keys typed. One model, so the file is parsed once; the source union is made at
    run time from the connector and sink modules, hence a model made here rather than a class."""
    sources: Any = list[_union(connector_modules())]  # type: ignore[misc]  # made at run time
    sinks: Any = list[_union(sink_modules())]  # type: ignore[misc]
    model: type[SiteConfig] = create_model(
        "FieldlabSite",
        __base__=SiteConfig,
        sources=(sources, Field(default_factory=list, description="gateway connectors")),
        sinks=(sinks, Field(default_factory=list, description="gateway sinks")),
        gateway=(GatewaySettings, Field(default_factory=GatewaySettings)),
    )
    return model


class GatewayConfig(BaseModel):
    sources: list[Any]
    sinks: list[Any]
    gateway: GatewaySettings


def parse_gateway_config(text: str, name: str = "site.yaml") -> tuple[SiteConfig, GatewayConfig]:
    tags = frozenset(connector_modules()) | frozenset(sink_modules())
    site: Any = parse_site_config(text, name, model=gateway_model(), tags=tags)
    names = [s.name for s in site.sources]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"{name}: sources: name {dup[0]!r} is used twice; give each a name")
    _check_store_is_written(site, site.sinks, name)
    _check_uns_is_not_read_back(site, name)
    return site, GatewayConfig(sources=site.sources, sinks=site.sinks, gateway=site.gateway)


def _check_store_is_written(site: SiteConfig, sinks: list[Any], name: str) -> None:
    """The dashboard and the gateway's gap closing read `store:`; a sink must write there,
    or the gateway would fill a store nobody reads."""
    influx = [s for s in sinks if isinstance(s, InfluxConfig)]
    sqlite = [s for s in sinks if isinstance(s, SqliteSinkConfig)]
    if site.store.startswith("sqlite:"):
        if (influx or sqlite) and not any(s.path is None for s in sqlite):
            raise ConfigError(
                f"{name}: store: {site.store} is read by the dashboard, but no sink writes "
                "there; with only InfluxDB sinks set store: to that InfluxDB "
                "(influxdb://HOST:PORT/DB or influxdb2://HOST:PORT/BUCKET?org=ORG), or add "
                "`- type: sqlite` to sinks:"
            )
    elif not influx:
        raise ConfigError(
            f"{name}: store: {site.store} is read by the dashboard, but no sink writes "
            "there; add an influxdb sink to sinks:"
        )


def _check_uns_is_not_read_back(site: Any, name: str) -> None:
    """An MQTT source on the UNS's broker whose topics match the UNS tree would read the
    gateway's own output back in, again and again: refuse the file, saying which keys."""
    from urllib.parse import urlparse

    from paho.mqtt.client import topic_matches_sub

    for i, sink in enumerate(site.sinks):
        if not isinstance(sink, UnsConfig):
            continue
        uns = urlparse(sink.url)
        probe = f"{sink.enterprise}/{site.site}/area/line/machine/signal"
        for j, src in enumerate(site.sources):
            url, topics = getattr(src, "url", None), getattr(src, "topics", None)
            if not url or not topics:
                continue
            u = urlparse(url)
            if (u.hostname, u.port or 1883) != (uns.hostname, uns.port or 1883):
                continue
            for t in topics:
                pattern = t.filter() if callable(getattr(t, "filter", None)) else str(t)
                if topic_matches_sub(pattern, probe):
                    raise ConfigError(
                        f"{name}: sources[{j}].topics: {pattern} on {u.hostname}:{u.port or 1883} "
                        f"matches the tree sinks[{i}] publishes ({sink.enterprise}/{site.site}/…): "
                        "the gateway would read its own output back; give the UNS another "
                        "enterprise: or broker, or the source narrower topics"
                    )


def load_gateway_config(path: str | Path) -> tuple[SiteConfig, GatewayConfig]:
    path = Path(path)
    return parse_gateway_config(read_config_text(path), str(path))


def missing_secrets(cfg: GatewayConfig) -> list[str]:
    """`*_env` keys whose environment variable is not set, as ``path: VAR``."""
    out = []
    for kind, items in (("sources", cfg.sources), ("sinks", cfg.sinks)):
        for i, item in enumerate(items):
            for path, value in _env_keys(item.model_dump(), f"{kind}[{i}]"):
                if value and value not in os.environ:
                    out.append(f"{path}: environment variable {value} is not set")
    return out


def _env_keys(obj: Any, path: str) -> list[tuple[str, str]]:
    found = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(k, str) and k.endswith("_env") and isinstance(v, str):
                found.append((f"{path}.{k}", v))
            else:
                found += _env_keys(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found += _env_keys(v, f"{path}[{i}]")
    return found
