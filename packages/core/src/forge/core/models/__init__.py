"""forge-core's own models (``core.mlp``)."""
