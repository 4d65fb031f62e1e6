"""Hugging Face weight interop: tiny random-init transformers models copied into forge give the same
outputs (nothing is downloaded); bad checkpoints give forge errors."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from forge.core.errors import CheckpointError, ConfigError
from forge.nlp.generation import beam_search, generate
from forge.nlp.interop import (
    convert_gpt2_state_dict,
    from_hf,
    gpt_config_from_hf,
    load_converted,
    load_safetensors,
)
from forge.nlp.models import GPT, T5, EncoderClassifier, EncoderMLM
from forge.nlp.models.t5 import relative_position_bucket

tr: Any = pytest.importorskip("transformers", reason="transformers (the test extra) is not installed")


def _close(ours: torch.Tensor, theirs: torch.Tensor) -> None:
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4 * float(theirs.abs().max()))


IDS = torch.tensor([[5, 17, 3, 9, 44, 2, 61, 8], [7, 7, 12, 30, 1, 0, 0, 0]])
MASK = torch.tensor([[1] * 8, [1] * 5 + [0] * 3])


# the size of the BERT and RoBERTa encoders compared
ENCODER = {
    "vocab_size": 70,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "max_position_embeddings": 40,
}


@pytest.fixture
def hf_gpt2() -> Any:
    """A tiny seeded random-init transformers GPT-2."""
    torch.manual_seed(0)
    cfg = tr.GPT2Config(vocab_size=70, n_positions=32, n_embd=32, n_layer=2, n_head=4, bos_token_id=0, eos_token_id=0)
    return tr.GPT2LMHeadModel(cfg).eval()


@pytest.fixture
def gpt2(hf_gpt2: Any) -> GPT:
    """``hf_gpt2`` copied into forge."""
    model = from_hf(hf_gpt2.config.to_dict(), hf_gpt2.state_dict())
    assert isinstance(model, GPT)
    return model


def test_gpt2_logits_match(hf_gpt2: Any, gpt2: GPT) -> None:
    assert gpt2.config.activation == "gelu_tanh"
    with torch.no_grad():
        _close(gpt2(IDS), hf_gpt2(IDS).logits)


def test_gpt2_greedy_generation_matches_transformers(hf_gpt2: Any, gpt2: GPT) -> None:
    prompt = IDS[:, :4]
    theirs = hf_gpt2.generate(
        prompt,
        attention_mask=torch.ones_like(prompt),
        max_new_tokens=12,
        min_new_tokens=12,
        do_sample=False,
        pad_token_id=0,
    )
    for cache in ("dynamic", "static"):
        assert torch.equal(generate(gpt2, prompt, max_new_tokens=12, cache=cache), theirs)


@pytest.mark.parametrize(
    ("head", "ours_type"),
    [
        ("BertForMaskedLM", EncoderMLM),
        ("BertForSequenceClassification", EncoderClassifier),
        ("RobertaForMaskedLM", EncoderMLM),
    ],
    ids=["bert-mlm", "bert-classifier", "roberta-mlm"],
)
def test_encoder_outputs_match(head: str, ours_type: type) -> None:
    torch.manual_seed(0)
    roberta = head.startswith("Roberta")
    cfg = tr.RobertaConfig(**ENCODER) if roberta else tr.BertConfig(**ENCODER, num_labels=3)
    hf = getattr(tr, head)(cfg).eval()
    model = from_hf(cfg.to_dict(), hf.state_dict())
    assert isinstance(model, ours_type)
    # RoBERTa derives positions from the padding token, so its input has none
    ids, mask = (IDS[:1] + 2, None) if roberta else (IDS, MASK)
    with torch.no_grad():
        theirs = hf(input_ids=ids, attention_mask=mask).logits
        ours = model(ids, mask)
    if ours_type is EncoderMLM and mask is not None:
        _close(ours[mask.bool()], theirs[mask.bool()])  # padded positions are not compared
    else:
        _close(ours, theirs)


@pytest.mark.parametrize("ff", ["relu", "gated-gelu"])
def test_t5_outputs_match(ff: str) -> None:
    torch.manual_seed(0)
    cfg = tr.T5Config(
        vocab_size=70,
        d_model=32,
        d_kv=8,
        num_heads=4,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=3,
        relative_attention_num_buckets=8,
        relative_attention_max_distance=16,
        feed_forward_proj=ff,
    )
    hf = tr.T5ForConditionalGeneration(cfg).eval()
    model = from_hf(cfg.to_dict(), hf.state_dict())
    assert isinstance(model, T5)
    dec = torch.tensor([[0, 4, 9, 13, 2], [0, 6, 6, 1, 8]])
    with torch.no_grad():
        _close(model(IDS, dec, MASK), hf(input_ids=IDS, attention_mask=MASK, decoder_input_ids=dec).logits)
        # greedy (one-beam) decoding agrees with transformers' generate
        theirs = hf.generate(
            IDS,
            attention_mask=MASK,
            max_new_tokens=6,
            num_beams=1,
            do_sample=False,
            decoder_start_token_id=0,
            eos_token_id=1,
            pad_token_id=0,
            use_cache=False,
        )
    ours = beam_search(model, IDS, MASK, num_beams=1, max_new_tokens=6)
    for row in range(2):
        expected = theirs[row, 1:].tolist()
        got = ours[row].tolist()
        n = expected.index(1) + 1 if 1 in expected else len(expected)
        assert got[:n] == expected[:n]


def test_relative_position_buckets_match_transformers() -> None:
    rel = torch.arange(-200, 200)[None, :]
    for bidirectional in (True, False):
        theirs = tr.models.t5.modeling_t5.T5Attention._relative_position_bucket(
            rel, bidirectional=bidirectional, num_buckets=32, max_distance=128
        )
        ours = relative_position_bucket(rel, bidirectional=bidirectional, num_buckets=32, max_distance=128)
        assert torch.equal(ours, theirs)


def test_bad_checkpoints_raise_forge_errors(hf_gpt2: Any, tmp_path: Any) -> None:
    sd = hf_gpt2.state_dict()
    broken = {k: v for k, v in sd.items() if not k.endswith("h.1.mlp.c_fc.weight")}
    with pytest.raises(CheckpointError, match=r"h\.1\.mlp\.c_fc\.weight"):
        convert_gpt2_state_dict(broken)
    small = GPT(gpt_config_from_hf({**hf_gpt2.config.to_dict(), "n_positions": 16}))
    with pytest.raises(CheckpointError, match=r"pos_emb\.weight has shape \(32, 32\)"):
        load_converted(small, convert_gpt2_state_dict(sd))
    with pytest.raises(ConfigError, match="not supported"):
        from_hf({"model_type": "llama"}, sd)
    with pytest.raises(ConfigError, match="n_embd"):
        gpt_config_from_hf({"vocab_size": 10})
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="cannot read safetensors"):
        load_safetensors(bad)


def test_safetensors_file_round_trip(hf_gpt2: Any, tmp_path: Any) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in hf_gpt2.state_dict().items() if k != "lm_head.weight"}, str(path))
    model = from_hf(hf_gpt2.config.to_dict(), load_safetensors(path))
    with torch.no_grad():
        _close(model(IDS), hf_gpt2(IDS).logits)
