"""Recipe files shipped with forge-core (resources; see :mod:`forge.core._recipe` for the schema)."""
