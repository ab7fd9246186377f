"""Sinks: where the gateway writes samples, several at once (fan-out)."""
