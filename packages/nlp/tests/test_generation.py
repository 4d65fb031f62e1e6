"""Generation: greedy and sampling with every cache, stop sequences, streaming, beam search."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from forge.core.errors import ConfigError
from forge.nlp.generation import GenerationConfig, beam_search, generate, next_token, stream
from forge.nlp.models import GPT, T5, GPTConfig, RNNSeq2Seq, RNNSeq2SeqConfig, T5Config


def _gpt(**kw: object) -> GPT:
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=23, max_seq_len=40, d_model=32, n_layers=2, n_heads=4, **kw))  # type: ignore[arg-type]
    with torch.no_grad():  # larger weights than the 0.02 init, so greedy continuations vary
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.5)
    return model.eval()


PROMPT = torch.tensor([[1, 5, 7, 2], [3, 3, 9, 4]])


def _teacher_forced_greedy(model: GPT, prompt: torch.Tensor, n: int) -> torch.Tensor:
    seq = prompt
    for _ in range(n):
        seq = torch.cat([seq, model(seq)[:, -1].argmax(-1, keepdim=True)], dim=1)
    return seq


@pytest.mark.parametrize("cache", ["none", "dynamic", "static"])
def test_greedy_equals_argmax_of_the_full_forward(cache: str) -> None:
    model = _gpt()
    expected = _teacher_forced_greedy(model, PROMPT, 12)
    assert len(set(expected[0, 4:].tolist())) > 2  # a non-degenerate continuation
    out = generate(model, PROMPT, max_new_tokens=12, cache=cache)
    assert torch.equal(out, expected)


def test_linear_attention_generates_without_a_cache() -> None:
    model = _gpt(attention="linear")
    out = generate(model, PROMPT, max_new_tokens=5)
    assert torch.equal(out, _teacher_forced_greedy(model, PROMPT, 5))
    with pytest.raises(ConfigError, match="keeps no KV cache"):
        generate(model, PROMPT, max_new_tokens=5, cache="static")


def test_seeded_sampling_is_reproducible_across_caches() -> None:
    model = _gpt()
    cfg = GenerationConfig(max_new_tokens=15, do_sample=True, temperature=1.3, top_k=8, top_p=0.95, seed=7)
    a = generate(model, PROMPT, cfg)
    assert torch.equal(a, generate(model, PROMPT, cfg, cache="static"))
    assert torch.equal(a, generate(model, PROMPT, cfg, cache="none"))
    assert not torch.equal(a, generate(model, PROMPT, cfg, seed=8))


def test_top_k_one_and_tiny_top_p_are_greedy() -> None:
    model = _gpt()
    greedy = generate(model, PROMPT, max_new_tokens=8)
    assert torch.equal(generate(model, PROMPT, max_new_tokens=8, do_sample=True, top_k=1, seed=0), greedy)
    assert torch.equal(generate(model, PROMPT, max_new_tokens=8, do_sample=True, top_p=1e-6, seed=0), greedy)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**16),
    k=st.integers(1, 12),
    p=st.floats(0.05, 1.0),
    temperature=st.floats(0.2, 3.0),
)
def test_sampled_tokens_lie_in_the_top_k_and_the_nucleus(seed: int, k: int, p: float, temperature: float) -> None:
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(64, 12, generator=gen) * 3
    cfg = GenerationConfig(do_sample=True, top_k=k, top_p=p, temperature=temperature)
    tokens = next_token(logits, cfg, gen)
    scaled = (logits / temperature).topk(k, dim=-1)
    for row, tok in enumerate(tokens.tolist()):
        allowed = scaled.indices[row].tolist()
        assert tok in allowed
        probs = scaled.values[row].softmax(-1)
        rank = allowed.index(tok)
        assert float(probs[:rank].sum()) < p + 1e-6  # tokens before it had not yet reached top_p


def test_stop_sequences_end_rows_and_are_not_output() -> None:
    model = _gpt()
    greedy = generate(model, PROMPT, max_new_tokens=12)
    stop = tuple(greedy[0, 8:10].tolist())  # the 5th and 6th new tokens of row 0
    out = generate(model, PROMPT, max_new_tokens=12, stop_sequences=[stop], pad_token_id=22)
    first = next(i for i in range(4, 15) if tuple(greedy[0, i : i + 2].tolist()) == stop)
    assert out[0, :first].tolist() == greedy[0, :first].tolist()
    assert set(out[0, first:].tolist()) <= {22}
    row1 = greedy[1, 4:].tolist()
    stopped1 = any(tuple(row1[i : i + 2]) == stop for i in range(len(row1) - 1))
    if not stopped1:
        assert out[1].tolist() == greedy[1].tolist()


def test_eos_stops_every_row_early() -> None:
    model = _gpt()
    greedy = generate(model, PROMPT[:1], max_new_tokens=12)
    eos = int(greedy[0, 6])
    out = generate(model, PROMPT[:1], max_new_tokens=12, eos_token_id=eos, pad_token_id=0)
    cut = greedy[0, 4:].tolist().index(eos)
    assert out.shape[1] == 4 + cut + 1 and out[0, 4 + cut] == 0


def test_stream_yields_the_generated_tokens_and_withholds_stops() -> None:
    model = _gpt()
    greedy = generate(model, PROMPT[:1], max_new_tokens=12)[0, 4:].tolist()
    assert list(stream(model, PROMPT[0].tolist(), max_new_tokens=12)) == greedy
    stop = tuple(greedy[5:7])
    first = next(i for i in range(11) if tuple(greedy[i : i + 2]) == stop)
    assert list(stream(model, PROMPT[0], max_new_tokens=12, stop_sequences=[stop])) == greedy[:first]
    # a stop sequence whose first token appears but never completes holds nothing back for good
    never = (greedy[0], 10_000)
    assert list(stream(model, PROMPT[0], max_new_tokens=12, stop_sequences=[never])) == greedy


def test_generation_limits_and_bad_settings() -> None:
    model = _gpt()
    with pytest.raises(ConfigError, match="exceeds the model's max_seq_len"):
        generate(model, PROMPT, max_new_tokens=37)
    out = generate(model, PROMPT, max_new_tokens=40, cache="none")  # sliding window past max_seq_len
    assert out.shape == (2, 44)
    with pytest.raises(ConfigError, match="temperature"):
        GenerationConfig(temperature=0.0)
    with pytest.raises(ConfigError, match="top_p"):
        GenerationConfig(top_p=1.5)
    with pytest.raises(ConfigError, match="stop sequence is empty"):
        GenerationConfig(stop_sequences=[()])
    with pytest.raises(ConfigError, match="non-empty integer tensor"):
        generate(model, torch.zeros(1, 3))
    with pytest.raises(ConfigError, match="compile=True needs cache='static'"):
        generate(model, PROMPT, compile=True)
    with pytest.raises(ConfigError, match="one prompt"):
        list(stream(model, PROMPT))


def _seq2seq(kind: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if kind == "t5":
        model: torch.nn.Module = T5(
            T5Config(vocab_size=5, d_model=16, d_kv=4, n_heads=2, d_ff=16, n_layers=1, dropout=0.0)
        )
    else:
        model = RNNSeq2Seq(
            RNNSeq2SeqConfig(vocab_size=9, target_vocab_size=5, hidden_size=16, embed_dim=8, dropout=0.0)
        )
    return model.eval()


def _logprob(model: torch.nn.Module, memory: object, seq: list[int]) -> float:
    ids = torch.tensor([[0, *seq]])
    logp = model.decode(ids[:, :-1], memory).log_softmax(-1)  # type: ignore[operator]
    return float(logp[0, torch.arange(len(seq)), ids[0, 1:]].sum())


@pytest.mark.parametrize("kind", ["t5", "rnn"])
def test_wide_beam_search_finds_the_most_likely_sequence(kind: str) -> None:
    model = _seq2seq(kind)
    src = torch.tensor([[2, 3, 4, 1]])
    memory = model.encode(src, None)  # type: ignore[operator]
    with torch.no_grad():
        best = max(itertools.product(range(5), repeat=3), key=lambda s: _logprob(model, memory, list(s)))
    out = beam_search(model, src, num_beams=25, max_new_tokens=3, eos_token_id=None)
    assert tuple(out[0].tolist()) == best


@pytest.mark.parametrize("kind", ["t5", "rnn"])
def test_one_beam_is_greedy_and_eos_ends_it(kind: str) -> None:
    model = _seq2seq(kind)
    src = torch.tensor([[2, 3, 4, 1], [4, 4, 2, 1]])
    memory = model.encode(src, None)  # type: ignore[operator]
    seq = torch.zeros(2, 1, dtype=torch.long)
    with torch.no_grad():
        for _ in range(6):
            seq = torch.cat([seq, model.decode(seq, memory)[:, -1].argmax(-1, keepdim=True)], dim=1)  # type: ignore[operator]
    out = beam_search(model, src, num_beams=1, max_new_tokens=6, eos_token_id=None)
    assert torch.equal(out, seq[:, 1:])
    eos = int(seq[0, 2])
    ended = beam_search(model, src[:1], num_beams=1, max_new_tokens=6, eos_token_id=eos)
    cut = seq[0, 1:].tolist().index(eos)
    assert ended[0].tolist() == seq[0, 1 : cut + 2].tolist()  # up to and including the first EOS


def test_beam_search_needs_an_encoder_decoder() -> None:
    with pytest.raises(ConfigError, match="not an encoder-decoder"):
        beam_search(_gpt(), PROMPT)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a GPU")
def test_compiled_static_decode_matches_eager_on_gpu() -> None:
    model = _gpt().cuda()
    prompt = PROMPT.cuda()
    eager = generate(model, prompt, max_new_tokens=10, cache="static")
    assert torch.equal(generate(model, prompt, max_new_tokens=10, cache="static", compile=True), eager)
