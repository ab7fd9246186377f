"""KPIs over the store: the OEE engine, loading what it needs, and reporting it."""
