"""forge-diffusion's registrations: discoverable without torch, and every component conforms."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from forge.core import ComponentSpec, registry
from forge.core.testing import check_component, components_of
from forge.diffusion.recipes import RECIPES, recipe_text


def test_registers_models_losses_datasets_recipes_and_the_schedule() -> None:
    names = {(s.kind, s.name) for s in components_of("diffusion")}
    assert names == {
        ("model", "diffusion.unet"),
        ("model", "diffusion.mlp"),
        ("model", "diffusion.latent_unet"),
        ("model", "diffusion.vae"),
        ("loss", "diffusion.denoising_mse"),
        ("loss", "diffusion.vae_loss"),
        ("dataset", "diffusion.toy2d"),
        ("dataset", "diffusion.digits"),
        ("recipe", "diffusion.toy2d"),
        ("recipe", "diffusion.digits"),
        ("transform", "diffusion.noise_schedule"),
    }


@pytest.mark.parametrize("spec", components_of("diffusion"), ids=lambda s: s.name)
def test_component_conforms(spec: ComponentSpec) -> None:
    check_component(spec)


def test_built_schedule_uses_overrides() -> None:
    schedule = registry.build("transform", "diffusion.noise_schedule", beta_schedule="cosine", num_timesteps=10)
    assert schedule.betas.shape == (10,) and schedule.config.beta_schedule == "cosine"


def test_recipes_are_shipped_as_package_resources() -> None:
    for name in RECIPES:
        assert f'name = "diffusion.{name}"' in recipe_text(name)
    with pytest.raises(KeyError, match="shipped"):
        recipe_text("imagenet")


def test_listing_imports_no_torch_and_the_sample_command_is_added() -> None:
    code = (
        "import sys; from forge.core import registry; "
        "assert any(s.provider == 'diffusion' for s in registry.list()); "
        "import forge.diffusion, forge.diffusion.plugin, forge.diffusion.sampling.command; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    env = {**os.environ, "FORGE_LOAD_PLUGINS": "diffusion", "FORGE_STRICT_PLUGINS": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    cli = "import sys; from forge.core.cli import main; sys.argv = ['forge', '--help']; main()"
    out = subprocess.run([sys.executable, "-c", cli], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and "sample" in out.stdout, out.stdout + out.stderr


def test_listing_and_describing_the_components_stays_light() -> None:
    from forge.core.testing import check_light_listing

    # what forge plugins, forge list and forge info do, in a fresh interpreter: no torch, no builders
    check_light_listing("diffusion")
