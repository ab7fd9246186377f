"""fieldlab-kit edge gateway, domain core, store and the ``fieldlab`` command line."""

__version__ = "0.1.0"
