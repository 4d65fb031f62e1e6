"""forge-nlp's registrations: discoverable without torch, and every component conforms."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from forge.core._registry import ComponentSpec, registry
from forge.core.testing import check_component, components_of


def test_registers_the_tokenizers_datasets_and_metrics() -> None:
    names = {(s.kind, s.name) for s in components_of("nlp")}
    assert {
        ("transform", "nlp.byte_tokenizer"),
        ("transform", "nlp.bpe_tokenizer"),
        ("transform", "nlp.wordpiece_tokenizer"),
        ("transform", "nlp.char_tokenizer"),
        ("dataset", "nlp.stdlib_text"),
        ("dataset", "nlp.text_classification"),
        ("dataset", "nlp.text_blocks"),
        ("dataset", "nlp.text_stream"),
        ("metric", "nlp.bleu"),
        ("metric", "nlp.rouge"),
        ("metric", "nlp.token_accuracy"),
        ("metric", "nlp.token_perplexity"),
        ("recipe", "nlp.text-classification"),
    } <= names


@pytest.mark.parametrize("spec", components_of("nlp"), ids=lambda s: s.name)
def test_component_conforms(spec: ComponentSpec) -> None:
    check_component(spec)


def test_built_tokenizer_uses_overrides() -> None:
    tok = registry.build("transform", "nlp.byte_tokenizer", add_eos=True)
    assert tok.encode("a") == [97, tok.eos_id]


def test_listing_imports_no_torch() -> None:
    code = (
        "import sys; from forge.core._registry import registry; "
        "assert any(s.provider == 'nlp' for s in registry.list()); "
        "import forge.nlp; assert 'torch' not in sys.modules, 'torch imported'"
    )
    env = {**os.environ, "FORGE_LOAD_PLUGINS": "nlp", "FORGE_STRICT_PLUGINS": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_listing_and_describing_the_components_stays_light() -> None:
    from forge.core.testing import check_light_listing

    # what forge plugins, forge list and forge info do, in a fresh interpreter: no torch, no builders
    check_light_listing("nlp")
