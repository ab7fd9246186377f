"""Workshop recipes as package data: one folder each, read with importlib.resources."""
