"""Config classes of the graph datasets (no torch import)."""

from __future__ import annotations

from typing import Any

import attrs

from forge.core.config import field

__all__ = ["KARATE_FEATURES", "CyclesTreesConfig", "EdgeListConfig", "KarateClubConfig", "SBMConfig"]

KARATE_FEATURES = ("identity", "degree")
"""Node feature choices of the karate club graph."""


def _check_fractions(val: float, test: float) -> None:
    if val + test >= 1.0:
        raise ValueError(
            f"val_fraction, test_fraction: expected a sum < 1 (nodes left for training), got {val} + {test}"
        )


def _check_fanouts(instance: object, attribute: attrs.Attribute[Any], value: tuple[int, ...]) -> None:
    # -1 ("every neighbour") sits below a bound of 1, so the declared ge=-1 cannot refuse 0 alone.
    for i, fanout in enumerate(value):
        if fanout == 0:
            raise ValueError(
                f"{attribute.name}: expected each item to be >= 1 or -1 (all neighbours), got 0 at index {i} of "
                f"{list(value)!r}"
            )


@attrs.frozen
class KarateClubConfig:
    """Zachary's karate club: 34 members, 78 friendships, labelled by the faction each joined."""

    features: str = field(
        "identity",
        help="Node features: 'identity' (one-hot node id, 34 columns) or 'degree' (one column).",
        one_of=KARATE_FEATURES,
    )
    weighted: bool = field(False, help="Use the interaction counts NetworkX records as edge weights.")
    val_fraction: float = field(0.2, help="Share of each faction's nodes used for validation.", ge=0, lt=1)
    test_fraction: float = field(0.3, help="Share of each faction's nodes used for testing.", ge=0, lt=1)
    seed: int = field(0, help="Seed of the stratified node split.", ge=0)

    def __attrs_post_init__(self) -> None:
        _check_fractions(self.val_fraction, self.test_fraction)


@attrs.frozen
class SBMConfig:
    """A stochastic block model: nodes in equal communities, the node's community is its label.

    Homophily (the share of a node's expected edges that stay inside its community) is tunable;
    features are noisy community indicators so that the graph, not the features alone, decides.
    """

    num_nodes: int = field(600, help="Number of nodes.", ge=1)
    num_classes: int = field(3, help="Number of communities (= classes).", ge=2)
    average_degree: float = field(8.0, help="Expected number of neighbours per node (below num_nodes - 1).", gt=0)
    homophily: float = field(0.8, help="Expected share of each node's edges inside its community.", ge=0, le=1)
    num_features: int = field(16, help="Node feature width.", ge=1)
    feature_signal: float = field(
        0.5,
        help="Strength of the community signal in the features, relative to unit Gaussian noise (0: none).",
        ge=0,
    )
    train_per_class: int = field(20, help="Labelled training nodes per community.", ge=1)
    val_fraction: float = field(0.2, help="Share of the remaining nodes for validation.", ge=0, lt=1)
    fanouts: tuple[int, ...] = field(
        (),
        help="Empty: full-graph training steps. Else GraphSAGE-style neighbour sampling for training, in-neighbours "
        "kept per layer (e.g. [10, 5]), -1 keeps all; data.batch_size seed nodes per step. Validation and test "
        "stay full-graph.",
        validator=_check_fanouts,
        ge=-1,
    )
    seed: int = field(0, help="Seed of the graph, the features and the split.", ge=0)

    def __attrs_post_init__(self) -> None:
        if self.train_per_class * self.num_classes >= self.num_nodes:
            raise ValueError(
                f"train_per_class, num_classes, num_nodes: expected train_per_class * num_classes < num_nodes, got "
                f"{self.train_per_class} * {self.num_classes} = {self.train_per_class * self.num_classes} and "
                f"{self.num_nodes}"
            )
        if self.average_degree >= self.num_nodes - 1:
            raise ValueError(
                f"average_degree, num_nodes: expected average_degree < num_nodes - 1, got {self.average_degree} and "
                f"{self.num_nodes}"
            )


@attrs.frozen
class CyclesTreesConfig:
    """Graph classification: is a small graph a single cycle (class 1) or a tree (class 0)?

    Both classes have the same node counts and nearly the same number of edges; node features are
    constant, so only the structure tells them apart (a one-layer mean aggregation cannot).
    """

    num_graphs: int = field(600, help="Graphs in total (half of each class).", ge=1)
    min_nodes: int = field(6, help="Fewest nodes of a graph (a cycle needs 3).", ge=3)
    max_nodes: int = field(16, help="Most nodes of a graph.", ge=3)
    val_fraction: float = field(0.15, help="Share of graphs for validation.", ge=0, lt=1)
    test_fraction: float = field(0.15, help="Share of graphs for testing.", ge=0, lt=1)
    seed: int = field(0, help="Seed of the generator and the split.", ge=0)

    def __attrs_post_init__(self) -> None:
        if self.min_nodes > self.max_nodes:
            raise ValueError(
                f"min_nodes, max_nodes: expected min_nodes <= max_nodes, got {self.min_nodes} and {self.max_nodes}"
            )
        _check_fractions(self.val_fraction, self.test_fraction)


@attrs.frozen
class EdgeListConfig:
    """A graph read from a CSV edge list, with node labels from a second CSV, split into node masks."""

    edges: str = field(help="CSV file of edges with a header row.", non_empty=True)
    labels: str = field(help="CSV file with a node and a label column (every node needs a label).", non_empty=True)
    source: str = field("source", help="Edge source column.", non_empty=True)
    target: str = field("target", help="Edge target column.", non_empty=True)
    weight: str | None = field(None, help="Edge weight column, or None.", non_empty=True)
    node: str = field("node", help="Node column of the label file.", non_empty=True)
    label: str = field("label", help="Label column of the label file (integers).", non_empty=True)
    undirected: bool = field(True, help="Add the reverse of every edge.")
    features: str = field("identity", help="Node features: 'identity' (one-hot) or 'degree'.", one_of=KARATE_FEATURES)
    val_fraction: float = field(0.2, help="Share of each class for validation.", ge=0, lt=1)
    test_fraction: float = field(0.3, help="Share of each class for testing.", ge=0, lt=1)
    seed: int = field(0, help="Seed of the stratified split.", ge=0)

    def __attrs_post_init__(self) -> None:
        _check_fractions(self.val_fraction, self.test_fraction)
