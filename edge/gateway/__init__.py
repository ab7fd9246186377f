"""The gateway: connectors → mapping → pipeline → sinks, with liveness, health and metrics."""
