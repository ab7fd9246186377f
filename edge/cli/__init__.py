"""The `fieldlab` command line."""
