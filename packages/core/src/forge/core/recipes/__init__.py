"""Recipe files shipped with forge-core (resources; see :mod:`forge.core.recipe` for the schema)."""
