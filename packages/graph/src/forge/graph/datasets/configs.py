"""Config classes of the graph datasets (no torch import)."""

from __future__ import annotations

from typing import Any

import attrs

from forge.core.config import field

__all__ = ["KARATE_FEATURES", "CyclesTreesConfig", "EdgeListConfig", "KarateClubConfig", "SBMConfig"]

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


def _positive(instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value!r}")


def _probability(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must lie in [0, 1], got {value!r}")


@attrs.frozen
class SBMConfig:
    """A stochastic block model: nodes in equal communities, the node's community is its label.

    Homophily (the share of a node's expected edges that stay inside its community) is tunable;
    features are noisy community indicators so that the graph, not the features alone, decides.
    """

    num_nodes: int = field(600, help="Number of nodes.", validator=_positive)
    num_classes: int = field(3, help="Number of communities (= classes).", validator=_positive)
    average_degree: float = field(8.0, help="Expected number of neighbours per node.")
    homophily: float = field(
        0.8, help="Expected share of each node's edges inside its community.", validator=_probability
    )
    num_features: int = field(16, help="Node feature width.", validator=_positive)
    feature_signal: float = field(
        0.5, help="Strength of the community signal in the features, relative to unit Gaussian noise."
    )
    train_per_class: int = field(20, help="Labelled training nodes per community.", validator=_positive)
    val_fraction: float = field(0.2, help="Share of the remaining nodes for validation.", validator=_fraction)
    fanouts: tuple[int, ...] = field(
        (),
        help="Empty: full-graph training steps. Else GraphSAGE-style neighbour sampling for training, in-neighbours "
        "kept per layer (e.g. [10, 5]); data.batch_size seed nodes per step. Validation and test stay full-graph.",
    )
    seed: int = field(0, help="Seed of the graph, the features and the split.")

    def __attrs_post_init__(self) -> None:
        if any(f == 0 or f < -1 for f in self.fanouts):
            raise ValueError(f"fanouts must hold values >= 1 (or -1 for all neighbours), got {list(self.fanouts)}")
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {self.num_classes}")
        if self.train_per_class * self.num_classes >= self.num_nodes:
            raise ValueError(
                f"train_per_class * num_classes ({self.train_per_class * self.num_classes}) must be < num_nodes "
                f"({self.num_nodes})"
            )
        if not 0.0 < self.average_degree < self.num_nodes - 1:
            raise ValueError(f"average_degree must lie in (0, num_nodes - 1), got {self.average_degree}")


@attrs.frozen
class CyclesTreesConfig:
    """Graph classification: is a small graph a single cycle (class 1) or a tree (class 0)?

    Both classes have the same node counts and nearly the same number of edges; node features are
    constant, so only the structure tells them apart (a one-layer mean aggregation cannot).
    """

    num_graphs: int = field(600, help="Graphs in total (half of each class).", validator=_positive)
    min_nodes: int = field(6, help="Fewest nodes of a graph.", validator=_positive)
    max_nodes: int = field(16, help="Most nodes of a graph.", validator=_positive)
    val_fraction: float = field(0.15, help="Share of graphs for validation.", validator=_fraction)
    test_fraction: float = field(0.15, help="Share of graphs for testing.", validator=_fraction)
    seed: int = field(0, help="Seed of the generator and the split.")

    def __attrs_post_init__(self) -> None:
        if not 3 <= self.min_nodes <= self.max_nodes:
            raise ValueError(f"need 3 <= min_nodes <= max_nodes, got {self.min_nodes}, {self.max_nodes}")
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError("val_fraction + test_fraction must be < 1")


@attrs.frozen
class EdgeListConfig:
    """A graph read from a CSV edge list, with node labels from a second CSV, split into node masks."""

    edges: str = field(help="CSV file of edges with a header row.")
    labels: str = field(help="CSV file with a node and a label column (every node needs a label).")
    source: str = field("source", help="Edge source column.")
    target: str = field("target", help="Edge target column.")
    weight: str | None = field(None, help="Edge weight column, or None.")
    node: str = field("node", help="Node column of the label file.")
    label: str = field("label", help="Label column of the label file (integers).")
    undirected: bool = field(True, help="Add the reverse of every edge.")
    features: str = field("identity", help="Node features: 'identity' (one-hot) or 'degree'.", validator=_features)
    val_fraction: float = field(0.2, help="Share of each class for validation.", validator=_fraction)
    test_fraction: float = field(0.3, help="Share of each class for testing.", validator=_fraction)
    seed: int = field(0, help="Seed of the stratified split.")
