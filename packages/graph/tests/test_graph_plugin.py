"""forge-graph's registrations: discoverable without torch, and every component conforms."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from forge.core._registry import ComponentSpec, registry
from forge.core.testing import check_component, components_of


def test_registers_the_karate_club_and_the_gcn_normalization() -> None:
    names = {(s.kind, s.name) for s in components_of("graph")}
    assert names == {("transform", "graph.gcn_norm"), ("dataset", "graph.karate_club")}


@pytest.mark.parametrize("spec", components_of("graph"), ids=lambda s: s.name)
def test_component_conforms(spec: ComponentSpec) -> None:
    check_component(spec)


def test_built_dataset_uses_overrides() -> None:
    splits = registry.build("dataset", "graph.karate_club", features="degree")
    graph, _ = splits.train[0]
    assert graph.num_features == 1


def test_listing_imports_no_torch() -> None:
    code = (
        "import sys; from forge.core._registry import registry; "
        "assert any(s.provider == 'graph' for s in registry.list()); "
        "import forge.graph; assert 'torch' not in sys.modules, 'torch imported'"
    )
    env = {**os.environ, "FORGE_LOAD_PLUGINS": "graph", "FORGE_STRICT_PLUGINS": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
