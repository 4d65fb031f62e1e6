"""forge-graph's registrations: discoverable without torch, and every component conforms."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from forge.core import ComponentSpec, registry
from forge.core.testing import check_component, components_of

EXPECTED = {
    ("model", "graph.gcn"),
    ("model", "graph.gat"),
    ("model", "graph.sage"),
    ("model", "graph.gin"),
    ("model", "graph.graph_classifier"),
    ("model", "graph.link_predictor"),
    ("dataset", "graph.karate_club"),
    ("dataset", "graph.sbm"),
    ("dataset", "graph.cycles_trees"),
    ("dataset", "graph.edge_list"),
    ("transform", "graph.gcn_norm"),
    ("recipe", "graph.karate"),
    ("recipe", "graph.sbm"),
    ("recipe", "graph.graph-classification"),
}


def test_registers_models_datasets_transforms_and_recipes() -> None:
    assert {(s.kind, s.name) for s in components_of("graph")} == EXPECTED


@pytest.mark.parametrize("spec", components_of("graph"), ids=lambda s: s.name)
def test_component_conforms(spec: ComponentSpec) -> None:
    check_component(spec)


def test_built_dataset_uses_overrides() -> None:
    splits = registry.build("dataset", "graph.karate_club", features="degree")
    graph, _ = splits.train[0]
    assert graph.num_features == 1


def test_model_variants_differ_in_layer_type() -> None:
    from forge.graph.nn import GATConv, SAGEConv

    gat = registry.build("model", "graph.gat", in_features=5, num_classes=3)
    assert isinstance(gat.convs[0], GATConv) and gat.convs[0].heads == 8
    sage = registry.build("model", "graph.sage", in_features=5, sage_aggr="max")
    assert isinstance(sage.convs[0], SAGEConv) and sage.convs[0].aggr == "max"


def test_listing_imports_no_torch() -> None:
    code = (
        "import sys; from forge.core import registry; "
        "assert any(s.provider == 'graph' for s in registry.list()); "
        "import forge.graph, forge.graph.models.configs, forge.graph.datasets.configs; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    env = {**os.environ, "FORGE_LOAD_PLUGINS": "graph", "FORGE_STRICT_PLUGINS": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_listing_and_describing_the_components_stays_light() -> None:
    from forge.core.testing import check_light_listing

    # what forge plugins, forge list and forge info do, in a fresh interpreter: no torch, no builders
    check_light_listing("graph")
