"""Config classes of the graph datasets (no torch import)."""

from __future__ import annotations

from typing import Any

import attrs

from forge.core.config import field

__all__ = ["KARATE_FEATURES", "KarateClubConfig"]

KARATE_FEATURES = ("identity", "degree")
"""Node feature choices of the karate club graph."""


def _fraction(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{attribute.name} must lie in [0, 1), got {value!r}")


def _features(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in KARATE_FEATURES:
        raise ValueError(f"{attribute.name} must be one of {', '.join(KARATE_FEATURES)}, got {value!r}")


@attrs.frozen
class KarateClubConfig:
    """Zachary's karate club: 34 members, 78 friendships, labelled by the faction each joined."""

    features: str = field(
        "identity",
        help="Node features: 'identity' (one-hot node id, 34 columns) or 'degree' (one column).",
        validator=_features,
    )
    weighted: bool = field(False, help="Use the interaction counts NetworkX records as edge weights.")
    val_fraction: float = field(0.2, help="Share of each faction's nodes used for validation.", validator=_fraction)
    test_fraction: float = field(0.3, help="Share of each faction's nodes used for testing.", validator=_fraction)
    seed: int = field(0, help="Seed of the stratified node split.")

    def __attrs_post_init__(self) -> None:
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError(
                f"val_fraction + test_fraction must be < 1, got {self.val_fraction} + {self.test_fraction}"
            )
