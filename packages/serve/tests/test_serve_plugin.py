"""forge-serve's registrations: discoverable without torch, and every component conforms."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from forge.core._registry import ComponentSpec, registry
from forge.core.testing import check_component, components_of


def test_registers_the_json_tensor_codec() -> None:
    names = {(s.kind, s.name) for s in components_of("serve")}
    assert names == {("transform", "serve.json_tensor")}


@pytest.mark.parametrize("spec", components_of("serve"), ids=lambda s: s.name)
def test_component_conforms(spec: ComponentSpec) -> None:
    check_component(spec)


def test_built_codec_uses_overrides() -> None:
    codec = registry.build("transform", "serve.json_tensor", dtype="int64", shape=[-1])
    assert codec({"data": [1, 2]}).tolist() == [1, 2]


def test_listing_imports_no_torch() -> None:
    code = (
        "import sys; from forge.core._registry import registry; "
        "assert any(s.provider == 'serve' for s in registry.list()); "
        "import forge.serve; assert 'torch' not in sys.modules, 'torch imported'"
    )
    env = {**os.environ, "FORGE_LOAD_PLUGINS": "serve", "FORGE_STRICT_PLUGINS": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_listing_and_describing_the_components_stays_light() -> None:
    from forge.core.testing import check_light_listing

    # what forge plugins, forge list and forge info do, in a fresh interpreter: no torch, no builders
    check_light_listing("serve")
