"""Every component forge-vision registers passes forge-core's conformance kit."""

from __future__ import annotations

import pytest

from forge.core._registry import ComponentSpec
from forge.core.testing import check_component, components_of


@pytest.mark.parametrize("spec", components_of("vision"), ids=lambda s: f"{s.kind}:{s.name}")
def test_component_conforms(spec: ComponentSpec) -> None:
    check_component(spec)
