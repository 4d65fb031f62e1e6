"""forge-nlp's models: conformance, architecture contracts, caches, attention maps, sizes."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from forge.core import ComponentSpec
from forge.core.errors import ConfigError
from forge.core.testing import check_component, components_of
from forge.nlp.models import (
    GPT,
    T5,
    Encoder,
    EncoderClassifier,
    EncoderClassifierConfig,
    EncoderConfig,
    EncoderMLM,
    GPTConfig,
    LMCrossEntropy,
    RNNClassifier,
    RNNClassifierConfig,
    RNNSeq2Seq,
    RNNSeq2SeqConfig,
    T5Config,
    encoder_preset,
    gpt_preset,
    record_attention,
    t5_preset,
)
from forge.nlp.models.catalog import MODEL_NAMES
from forge.nlp.models.layers import DropPath

MINE = {f"nlp.{n}" for n in MODEL_NAMES} | {"nlp.lm_cross_entropy", "nlp.char-lm"}


@pytest.mark.parametrize(
    "spec", [s for s in components_of("nlp") if s.name in MINE], ids=lambda s: f"{s.kind}:{s.name}"
)
def test_component_conforms(spec: ComponentSpec) -> None:
    check_component(spec)


def test_every_agreed_model_is_registered() -> None:
    names = {s.name for s in components_of("nlp") if s.kind == "model"}
    agreed = {"nlp.gpt", "nlp.encoder_mlm", "nlp.encoder_classifier", "nlp.t5", "nlp.rnn_classifier", "nlp.rnn_seq2seq"}
    assert agreed <= names


def _gpt(**kw: object) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=61, max_seq_len=32, d_model=32, n_layers=2, n_heads=4, **kw)).eval()  # type: ignore[arg-type]


@pytest.mark.parametrize("kw", [{}, {"norm_first": False}, {"attention": "linear"}], ids=["preln", "postln", "linear"])
def test_gpt_is_causal(kw: dict[str, object]) -> None:
    model = _gpt(**kw)
    x = torch.randint(0, 61, (2, 12))
    y = x.clone()
    y[:, 7:] = (y[:, 7:] + 1) % 61
    a, b = model(x), model(y)
    torch.testing.assert_close(a[:, :7], b[:, :7])
    assert not torch.allclose(a[:, 7:], b[:, 7:])


@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
def test_gpt_kv_cache_matches_full_forward(static: bool) -> None:
    model = _gpt()
    x = torch.randint(0, 61, (3, 10))
    full = model(x)
    cache = model.new_cache(3, 16, static=static)
    with torch.no_grad():
        parts = [model(x[:, :6], cache=cache, positions=torch.arange(6))]
        for i in range(6, 10):
            parts.append(model(x[:, i : i + 1], cache=cache, positions=torch.tensor([i])))
    torch.testing.assert_close(torch.cat(parts, dim=1), full, atol=1e-5, rtol=1e-5)


def test_gpt_padding_mask_hides_padded_keys() -> None:
    model = _gpt()
    x = torch.randint(0, 61, (1, 8))
    mask = torch.ones(1, 8, dtype=torch.long)
    mask[0, 2] = 0  # a hole: later tokens must not see position 2
    y = x.clone()
    y[0, 2] = (y[0, 2] + 5) % 61
    torch.testing.assert_close(model(x, mask)[:, 3:], model(y, mask)[:, 3:])


@pytest.mark.parametrize("attention", ["softmax", "linear"])
def test_attention_maps_are_causal_distributions_and_reproduce_the_fused_path(attention: str) -> None:
    model = _gpt(attention=attention)
    x = torch.randint(0, 61, (2, 9))
    maps = model.attention_maps(x)
    assert len(maps) == 2 and all(m.shape == (2, 4, 9, 9) for m in maps)
    for m in maps:
        torch.testing.assert_close(m.sum(-1), torch.ones(2, 4, 9))
        assert float(m.triu(diagonal=1).abs().max()) == 0.0
        assert float(m.min()) >= 0.0
    with record_attention():  # explicit softmax path must give the same logits as SDPA
        explicit = model(x)
    torch.testing.assert_close(explicit, model(x), atol=1e-5, rtol=1e-5)


def test_encoder_attention_maps_ignore_padding() -> None:
    torch.manual_seed(0)
    model = EncoderClassifier(EncoderClassifierConfig(vocab_size=50, num_classes=3)).eval()
    x = torch.randint(1, 50, (2, 6))
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2])
    maps = model.attention_maps(x, mask)
    assert len(maps) == 2 and maps[0].shape == (2, 4, 6, 6)
    assert float(maps[0][1, :, :, 4:].abs().max()) == 0.0
    torch.testing.assert_close(maps[1].sum(-1), torch.ones(2, 4, 6))


def test_encoder_classifier_ignores_right_padding() -> None:
    torch.manual_seed(0)
    model = EncoderClassifier(EncoderClassifierConfig(vocab_size=50, num_classes=3)).eval()
    x = torch.randint(1, 50, (1, 5))
    padded = torch.cat([x, torch.zeros(1, 3, dtype=torch.long)], dim=1)
    mask = torch.tensor([[1] * 5 + [0] * 3])
    out = model(x)
    assert out.shape == (1, 3)
    torch.testing.assert_close(model(padded, mask), out, atol=1e-5, rtol=1e-5)


def test_encoder_mlm_ties_decoder_to_embeddings_and_drops_pooler() -> None:
    model = EncoderMLM(EncoderConfig(vocab_size=40))
    assert model.decoder.weight is model.encoder.tok_emb.weight
    assert model.encoder.pooler is None
    assert model(torch.randint(0, 40, (2, 5))).shape == (2, 5, 40)


def test_t5_decoder_is_causal_and_encoder_sees_padding() -> None:
    torch.manual_seed(0)
    model = T5(T5Config(vocab_size=50)).eval()
    src, tgt = torch.randint(2, 50, (2, 7)), torch.randint(2, 50, (2, 5))
    other = tgt.clone()
    other[:, 3:] = (other[:, 3:] + 1) % 50
    torch.testing.assert_close(model(src, tgt)[:, :3], model(src, other)[:, :3])
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3])
    changed = src.clone()
    changed[1, 4:] = 3
    torch.testing.assert_close(model(src, tgt, mask)[1], model(changed, tgt, mask)[1])
    maps = model.attention_maps(src, mask)
    assert len(maps) == 2 and maps[0].shape == (2, 4, 7, 7)
    with record_attention():
        explicit = model(src, tgt, mask)
    torch.testing.assert_close(explicit, model(src, tgt, mask), atol=1e-5, rtol=1e-5)


def test_t5_shift_right_and_missing_decoder_inputs() -> None:
    model = T5(T5Config(vocab_size=50))
    labels = torch.tensor([[5, 6, -100]])
    assert model.shift_right(labels).tolist() == [[0, 5, 6]]
    with pytest.raises(ConfigError, match="decoder_input_ids"):
        model(torch.ones(1, 3, dtype=torch.long))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("attention", ["none", "additive", "dot"])
def test_rnn_classifier_packs_variable_lengths(cell: str, attention: str) -> None:
    torch.manual_seed(0)
    model = RNNClassifier(RNNClassifierConfig(vocab_size=30, num_classes=4, cell=cell, attention=attention)).eval()  # type: ignore[arg-type]
    x = torch.randint(1, 30, (1, 5))
    padded = torch.cat([x, torch.zeros(1, 4, dtype=torch.long)], dim=1)
    out = model(x)
    assert out.shape == (1, 4)
    torch.testing.assert_close(model(padded, torch.tensor([[1] * 5 + [0] * 4])), out, atol=1e-5, rtol=1e-5)
    if attention != "none":
        w = model.attention_weights(padded, torch.tensor([[1] * 5 + [0] * 4]))
        assert float(w[0, 5:].abs().max()) == 0.0
        torch.testing.assert_close(w.sum(-1), torch.ones(1))


def test_rnn_classifier_refuses_empty_rows() -> None:
    model = RNNClassifier(RNNClassifierConfig())
    with pytest.raises(ConfigError, match="at least one token"):
        model(torch.ones(2, 3, dtype=torch.long), torch.tensor([[1, 1, 1], [0, 0, 0]]))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("attention", ["none", "additive", "dot"])
def test_rnn_seq2seq_source_padding_is_ignored(cell: str, attention: str) -> None:
    torch.manual_seed(0)
    model = RNNSeq2Seq(RNNSeq2SeqConfig(vocab_size=30, target_vocab_size=20, cell=cell, attention=attention)).eval()  # type: ignore[arg-type]
    src, tgt = torch.randint(2, 30, (1, 5)), torch.randint(2, 20, (1, 4))
    padded = torch.cat([src, torch.zeros(1, 2, dtype=torch.long)], dim=1)
    out = model(src, tgt)
    assert out.shape == (1, 4, 20)
    torch.testing.assert_close(model(padded, tgt, torch.tensor([[1] * 5 + [0] * 2])), out, atol=1e-5, rtol=1e-5)


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())  # shared (tied) parameters are listed once


def test_published_sizes_have_the_published_parameter_counts() -> None:
    with torch.device("meta"):
        assert _count(GPT(gpt_preset("gpt2-small"))) == 124_439_808
        assert _count(Encoder(encoder_preset("bert-base"))) == 109_482_240
        assert _count(T5(t5_preset("t5-small"))) == 60_506_624


def test_bad_configs_and_inputs_raise_forge_errors() -> None:
    with pytest.raises(ConfigError, match="divisible"):
        GPTConfig(d_model=30, n_heads=4)
    with pytest.raises(ConfigError, match="no gpt preset"):
        gpt_preset("gpt5")
    with pytest.raises(ConfigError, match="integer tensor"):
        _gpt()(torch.zeros(2, 3))
    with pytest.raises(ConfigError, match="exceeds max_seq_len"):
        _gpt()(torch.zeros(1, 33, dtype=torch.long))
    with pytest.raises(ConfigError, match="no KV cache"):
        _gpt(attention="linear").new_cache(1)
    with pytest.raises(ConfigError, match="explicit positions"):
        model = _gpt()
        model(torch.zeros(1, 2, dtype=torch.long), cache=model.new_cache(1, 8, static=True))


def test_lm_cross_entropy_is_the_flattened_token_loss() -> None:
    torch.manual_seed(0)
    logits, target = torch.randn(2, 5, 7), torch.randint(0, 7, (2, 5))
    target[0, 0] = -100
    loss = LMCrossEntropy()(logits, target)
    ref = torch.nn.functional.cross_entropy(logits.reshape(10, 7), target.reshape(10), ignore_index=-100)
    torch.testing.assert_close(loss, ref)
    with pytest.raises(ConfigError, match=r"\(B, T, V\)"):
        LMCrossEntropy()(torch.randn(2, 7), torch.randint(0, 7, (2,)))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(p=st.floats(0.05, 0.9), n=st.integers(1, 6))
def test_drop_path_drops_whole_samples_and_keeps_the_expectation(p: float, n: int) -> None:
    layer = DropPath(p).train()
    x = torch.ones(n, 3, 4)
    y = layer(x)
    kept = y.flatten(1)
    for row in kept:  # every sample is dropped whole or scaled whole
        assert bool((row == 0).all()) or torch.allclose(row, torch.full_like(row, 1 / (1 - p)))
    assert torch.equal(layer.eval()(x), x)


def test_drop_path_is_unbiased_on_average() -> None:
    torch.manual_seed(0)
    y = DropPath(0.3).train()(torch.ones(20000, 1))
    assert abs(float(y.mean()) - 1.0) < 0.03
