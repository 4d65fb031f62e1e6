"""forge-acme's own tests: forge's conformance kit on every component the plugin registers."""

from __future__ import annotations

import pytest

from forge.core import ComponentSpec, registry
from forge.core.testing import check_component, check_constraints, check_light_listing, components_of, config_classes


@pytest.mark.parametrize("spec", components_of("acme"), ids=lambda s: s.name)
def test_component_conforms(spec: ComponentSpec) -> None:
    check_component(spec)


def test_every_config_field_declares_a_constraint() -> None:
    check_constraints(config_classes("acme", ["forge_acme.configs"]))


def test_listing_stays_light() -> None:
    check_light_listing("acme", forbidden=("torch", "click"))


def test_huber_delta() -> None:
    import torch

    loss = registry.build("loss", "acme.huber", delta=0.5)
    assert float(loss(torch.tensor([2.0]), torch.tensor([0.0]))) == pytest.approx(0.5 * (2.0 - 0.25))
