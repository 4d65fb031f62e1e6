"""forge-acme: a third-party forge plugin (a gated MLP and a Huber loss)."""

__version__ = "1.2.0"
