"""forge-diffusion's registrations: discoverable without torch, and every component conforms."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from forge.core._registry import ComponentSpec, registry
from forge.core.testing import check_component, components_of


def test_registers_the_noise_schedule() -> None:
    names = {(s.kind, s.name) for s in components_of("diffusion")}
    assert names == {("transform", "diffusion.noise_schedule")}


@pytest.mark.parametrize("spec", components_of("diffusion"), ids=lambda s: s.name)
def test_component_conforms(spec: ComponentSpec) -> None:
    check_component(spec)


def test_built_schedule_uses_overrides() -> None:
    schedule = registry.build("transform", "diffusion.noise_schedule", beta_schedule="cosine", num_timesteps=10)
    assert schedule.betas.shape == (10,) and schedule.config.beta_schedule == "cosine"


def test_listing_imports_no_torch() -> None:
    code = (
        "import sys; from forge.core._registry import registry; "
        "assert any(s.provider == 'diffusion' for s in registry.list()); "
        "import forge.diffusion; assert 'torch' not in sys.modules, 'torch imported'"
    )
    env = {**os.environ, "FORGE_LOAD_PLUGINS": "diffusion", "FORGE_STRICT_PLUGINS": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
