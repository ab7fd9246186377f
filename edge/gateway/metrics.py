"""/metrics through prometheus_client: every metric with its declared type and help text.

prometheus_client writes the exposition format (escaping, `_total` suffixes, types) as
Prometheus reads it, so we do not; the values are read from the gateway's own bookkeeping at
scrape time by one collector, never copied into client-side counters on the hot path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from fieldlab.gateway.run import Gateway

#: Sink statistics that only grow; the others are levels.
SINK_COUNTERS = {
    "written": "samples written to the sink's store",
    "sent_points": "points the server confirmed",
    "writes": "writes the server confirmed (several queued batches go as one)",
    "dropped_points": "points the overflow policy dropped",
    "errors": "failed writes",
    "rejected_points": "points the server refused (4xx), kept out of the queue",
    "published": "messages the UNS broker acknowledged",
}
SINK_GAUGES = {
    "queued_batches": "batches waiting in the durable queue",
    "queued_points": "points waiting in the durable queue",
    "queued_bytes": "bytes waiting in the durable queue",
    "oldest_age_s": "age of the oldest queued batch, seconds",
    "up": "1 while the last write succeeded",
}


class GatewayCollector(Collector):
    def __init__(self, gateway: Callable[[], Gateway]):
        self._gateway = gateway

    def collect(self) -> Iterator[Metric]:
        gw = self._gateway()
        labels = ["source", "type"]
        source_counters = {
            "samples": ("fieldlab_source_samples", "samples read from a source"),
            "rejected": ("fieldlab_source_rejected", "inputs rejected (domain.md §10)"),
            "rejected_repeats": (
                "fieldlab_source_rejected_repeats",
                "rejections counted, not (yet) kept as records of their own (domain.md §10)",
            ),
            "errors": ("fieldlab_source_errors", "errors talking to the source"),
            "reconnects": ("fieldlab_source_reconnects", "connections lost and made again"),
        }
        for attr, (name, help_text) in source_counters.items():
            c = CounterMetricFamily(name, help_text, labels=labels)
            for h in gw.health:
                c.add_metric([h.name, h.type], getattr(h, attr))
            yield c
        protocol = CounterMetricFamily(
            "fieldlab_source_events",
            "what a protocol counts of its own (Sparkplug: seq_gaps, data_before_birth, ...)",
            labels=[*labels, "event"],
        )
        for h in gw.health:
            for event, n in sorted(h.events.items()):
                protocol.add_metric([h.name, h.type, event], n)
        yield protocol
        connected = GaugeMetricFamily(
            "fieldlab_source_connected", "1 while the source is connected", labels=labels
        )
        offline = GaugeMetricFamily(
            "fieldlab_source_machines_offline", "machines written offline", labels=labels
        )
        for h in gw.health:
            connected.add_metric([h.name, h.type], float(h.state == "connected"))
            offline.add_metric([h.name, h.type], len(h.machines_offline))
        yield connected
        yield offline
        # domain.md §9: the gateway's clock steps, the sources' clocks
        steps = CounterMetricFamily(
            "fieldlab_clock_steps", "steps of the gateway's clock", labels=["direction"]
        )
        steps.add_metric(["forward"], gw.clock.forward)
        steps.add_metric(["backward"], gw.clock.backward)
        yield steps
        behind = CounterMetricFamily(
            "fieldlab_source_clock_behind",
            "live values not after their series' newest, written 1 ms after it",
            labels=labels,
        )
        skewed = GaugeMetricFamily(
            "fieldlab_source_clock_skewed",
            "1 while the source's clock is off by more than max_clock_skew_s",
            labels=labels,
        )
        offset = GaugeMetricFamily(
            "fieldlab_source_clock_offset_seconds",
            "the source's clock less the gateway's, at the last contact",
            labels=labels,
        )
        for h in gw.health:
            clock = gw.contact.clocks.get(h.name)
            behind.add_metric([h.name, h.type], 0 if clock is None else clock.behind)
            skewed.add_metric([h.name, h.type], float(clock is not None and clock.skewed))
            if clock is not None and clock.offset_ms is not None:
                offset.add_metric([h.name, h.type], clock.offset_ms / 1000)
        yield behind
        yield skewed
        yield offset
        stats = gw.sink_stats()
        for key in sorted({k for _, st in stats for k in st}):
            name = f"fieldlab_sink_{key}"
            if key in SINK_COUNTERS:
                family: CounterMetricFamily | GaugeMetricFamily = CounterMetricFamily(
                    name, SINK_COUNTERS[key], labels=["sink"]
                )
            else:
                family = GaugeMetricFamily(name, SINK_GAUGES.get(key, key), labels=["sink"])
            for sink, st in stats:
                if key in st:
                    family.add_metric([sink], float(st[key]))
            yield family
        p = gw.pipeline
        yield GaugeMetricFamily(
            "fieldlab_pipeline_queued_batches",
            "batches between connectors and sinks",
            value=p.queue.qsize() if p else 0,
        )
        yield CounterMetricFamily(
            "fieldlab_pipeline_samples", "samples committed", value=p.stats.samples if p else 0
        )
        if gw.alerts is not None:
            events = CounterMetricFamily(
                "fieldlab_alert_events", "alert events by kind", labels=["event"]
            )
            for event, n in gw.alerts.counts.items():
                events.add_metric([event], n)
            yield events
            yield GaugeMetricFamily(
                "fieldlab_alerts_open", "alerts fired and not cleared", value=len(gw.alerts.open)
            )
            channel_counters = {
                "sent": "messages a channel delivered",
                "failed": "attempts to deliver that failed (each is retried)",
                "given_up": "messages given up after every retry",
                "dropped": "messages dropped from a full channel queue",
            }
            by_channel = gw.alerts.notifier.stats()
            for key, help_text in channel_counters.items():
                c = CounterMetricFamily(f"fieldlab_alert_{key}", help_text, labels=["channel"])
                for channel, st in by_channel.items():
                    c.add_metric([channel], st[key])
                yield c
        if gw.workers is not None:
            workers = gw.workers.report()
            yield GaugeMetricFamily(
                "fieldlab_workers", "worker processes reading the MQTT sources", value=len(workers)
            )
            for key, help_text in (
                ("samples", "samples a worker read (its source's count adds them up)"),
                ("restarts", "times a worker process stopped and was started again"),
            ):
                c = CounterMetricFamily(f"fieldlab_worker_{key}", help_text, labels=["worker"])
                for w in workers:
                    c.add_metric([str(w["index"])], w[key])
                yield c
        yield CounterMetricFamily(
            "fieldlab_pipeline_rejected",
            "rejected inputs committed",
            value=p.stats.rejected if p else 0,
        )


def metrics_text(gateway: Gateway) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GatewayCollector(lambda: gateway))
    return generate_latest(registry).decode()
