"""Every graph config field declares its constraint, and a value breaking one is refused when the config is built.

A new numeric, string or choice field without ``gt=/ge=/lt=/le=/one_of=/non_empty=`` fails
``test_every_field_declares_a_constraint`` until it declares one or is added to ``UNCONSTRAINED``
with the reason.
"""

from __future__ import annotations

from typing import Any

import pytest

from forge.core import load_recipe, registry
from forge.core.config import structure
from forge.core.errors import ConfigError
from forge.core.testing import check_constraints, config_classes

PROVIDER = "graph"
MODULES = ("forge.graph.models.configs", "forge.graph.transforms.configs", "forge.graph.datasets.configs")
NOT_CONFIGS: dict[str, str] = {}
EXPECTED = {"NodeClassifierConfig", "GraphClassifierConfig", "GCNNormConfig", "SBMConfig", "EdgeListConfig"}
"""Classes the scan must find (a guard against it finding nothing)."""
UNCONSTRAINED: dict[str, str] = {}


CLASSES = config_classes(PROVIDER, MODULES, exclude=NOT_CONFIGS)


def test_every_field_declares_a_constraint() -> None:
    assert EXPECTED <= {c.__name__ for c in CLASSES}  # the scan finds the plugin's configs
    check_constraints(CLASSES, UNCONSTRAINED)


def _error(cls: type, data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        structure(data, cls, where="cfg")
    return str(info.value)


def _config_class(name: str) -> type:
    return next(c for c in CLASSES if c.__name__ == name)


@pytest.mark.parametrize(
    ("cls", "data", "message"),
    [
        ("NodeClassifierConfig", {"conv": "gcnn"}, "cfg.conv: expected one of 'gcn', 'gat', 'sage', 'gin', got 'gcnn'"),
        ("NodeClassifierConfig", {"hidden": [16, 0]}, "cfg.hidden: expected each item to be a number >= 1, got 0 at"),
        ("NodeClassifierConfig", {"dropout": 1.0}, "cfg.dropout: expected a number >= 0 and < 1, got 1.0"),
        ("NodeClassifierConfig", {"sage_aggr": "min"}, "cfg.sage_aggr: expected one of 'mean', 'max', 'sum', 'lstm'"),
        ("GraphClassifierConfig", {"hidden": []}, "cfg.hidden: expected non-empty (a number >= 1), got []"),
        ("GraphClassifierConfig", {"pooling": "min"}, "cfg.pooling: expected one of 'sum', 'mean', 'max', 'attention'"),
        ("LinkPredictorConfig", {"backend": "dense"}, "cfg.backend: expected one of 'auto', 'csr', 'scatter', got"),
        ("LinkPredictorConfig", {"in_features": 0}, "cfg.in_features: expected a number >= 1, got 0"),
        ("GCNNormConfig", {"fill_value": 0.0}, "cfg.fill_value: expected a number > 0, got 0.0"),
        ("GCNNormConfig", {"fill_value": float("nan")}, "cfg.fill_value: expected a finite number, got nan"),
        (
            "KarateClubConfig",
            {"features": "random"},
            "cfg.features: expected one of 'identity', 'degree', got 'random'",
        ),
        ("KarateClubConfig", {"seed": -1}, "cfg.seed: expected a number >= 0, got -1"),
        ("SBMConfig", {"num_classes": 1}, "cfg.num_classes: expected a number >= 2, got 1"),
        ("SBMConfig", {"homophily": 1.5}, "cfg.homophily: expected a number >= 0 and <= 1, got 1.5"),
        ("SBMConfig", {"average_degree": 0.0}, "cfg.average_degree: expected a number > 0, got 0.0"),
        ("SBMConfig", {"feature_signal": -1.0}, "cfg.feature_signal: expected a number >= 0, got -1.0"),
        ("SBMConfig", {"fanouts": [10, 0]}, "cfg.fanouts: expected each item to be >= 1 or -1 (all neighbours), got 0"),
        ("SBMConfig", {"fanouts": [-2]}, "cfg.fanouts: expected each item to be a number >= -1, got -2 at index 0"),
        ("CyclesTreesConfig", {"min_nodes": 2}, "cfg.min_nodes: expected a number >= 3, got 2"),
        ("EdgeListConfig", {"edges": "", "labels": "l"}, "cfg.edges: expected non-empty, got ''"),
        ("EdgeListConfig", {"edges": "e", "labels": "l", "weight": ""}, "cfg.weight: expected non-empty, got ''"),
    ],
)
def test_a_value_breaking_a_declared_constraint_is_refused_naming_key_value_and_expectation(
    cls: str, data: dict[str, Any], message: str
) -> None:
    assert message in _error(_config_class(cls), data)


@pytest.mark.parametrize(
    ("cls", "data", "message"),
    [
        (
            "SBMConfig",
            {"num_nodes": 30, "train_per_class": 10},
            "train_per_class, num_classes, num_nodes: expected train_per_class * num_classes < num_nodes, got 10 * 3",
        ),
        (
            "SBMConfig",
            {"num_nodes": 8, "train_per_class": 1, "average_degree": 8.0},
            "average_degree, num_nodes: expected average_degree < num_nodes - 1, got 8.0 and 8",
        ),
        (
            "CyclesTreesConfig",
            {"min_nodes": 10, "max_nodes": 8},
            "min_nodes, max_nodes: expected min_nodes <= max_nodes",
        ),
        (
            "KarateClubConfig",
            {"val_fraction": 0.5, "test_fraction": 0.5},
            "val_fraction, test_fraction: expected a sum",
        ),
        (
            "EdgeListConfig",
            {"edges": "e", "labels": "l", "val_fraction": 0.6, "test_fraction": 0.4},
            "val_fraction, test_fraction: expected a sum < 1 (nodes left for training), got 0.6 + 0.4",
        ),
    ],
)
def test_a_cross_field_rule_names_both_keys_and_values(cls: str, data: dict[str, Any], message: str) -> None:
    text = _error(_config_class(cls), data)
    assert message in text
    assert all(str(v) in text for k, v in data.items() if k not in ("edges", "labels"))


def test_a_config_built_in_python_is_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"^conv: expected one of 'gcn', 'gat', 'sage', 'gin', got 'mlp'$"):
        _config_class("NodeClassifierConfig")(conv="mlp")


def test_a_node_classifier_may_have_no_hidden_layer() -> None:
    # One convolution straight to the classes is a legitimate model; only the readout models need a layer.
    assert structure({"hidden": []}, _config_class("NodeClassifierConfig")).hidden == ()


RECIPES = [s.name for s in registry.list("recipe") if s.provider == PROVIDER]


@pytest.mark.parametrize("name", RECIPES)
def test_every_shipped_recipe_and_the_components_it_nests_stay_valid(name: str) -> None:
    load_recipe(name).check()  # nested transform tables included
