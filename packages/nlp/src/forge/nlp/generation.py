"""Text generation: greedy, temperature, top-k and top-p sampling for decoder-only models, beam search
for encoder-decoders, and a streaming iterator.

A decoder-only model is any module whose ``forward(input_ids)`` returns logits ``(B, T, V)``; models
with ``new_cache`` (:class:`forge.nlp.models.GPT`) decode incrementally with a KV cache: a growing
one, or a static preallocated one whose decode step can be captured as a CUDA graph
(``compile=True``: ``torch.compile(mode="reduce-overhead")``). An encoder-decoder has ``encode`` and
``decode`` (:class:`forge.nlp.models.T5`, :class:`forge.nlp.models.RNNSeq2Seq`).

Example:
    >>> from forge.nlp.models import GPT, GPTConfig
    >>> model = GPT(GPTConfig()).eval()
    >>> out = generate(model, torch.tensor([[1, 2, 3]]), max_new_tokens=5)
    >>> out.shape
    torch.Size([1, 8])

``python -m forge.nlp.generation RUN_DIR --prompt "def "`` samples from a byte-level run
(``forge train nlp/char-lm``).
"""

from __future__ import annotations

import argparse
import os
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

import attrs
import torch
from torch import Tensor, nn

from forge.core.config import field
from forge.core.errors import ConfigError

__all__ = [
    "GenerationConfig",
    "beam_search",
    "generate",
    "main",
    "next_token",
    "sample_from_run",
    "stream",
]

CacheMode = Literal["auto", "dynamic", "static", "none"]


def _to_stops(value: Any) -> tuple[tuple[int, ...], ...]:
    try:
        stops = tuple(tuple(int(t) for t in s) for s in value)
    except TypeError as exc:
        raise ConfigError(f"generation: stop_sequences must be sequences of token ids, got {value!r}") from exc
    if any(len(s) == 0 for s in stops):
        raise ConfigError("generation: a stop sequence is empty")
    return stops


@attrs.frozen
class GenerationConfig:
    """How to generate."""

    max_new_tokens: int = field(64, help="Tokens to generate at most.", ge=1)
    do_sample: bool = field(False, help="Sample (temperature, top_k, top_p) instead of greedy argmax.")
    temperature: float = field(1.0, help="Divide the logits by this before sampling.", gt=0)
    top_k: int | None = field(None, help="Sample among the k most likely tokens only.", ge=1)
    top_p: float | None = field(
        None, help="Sample within the smallest set of tokens of this total probability.", gt=0, le=1
    )
    stop_sequences: tuple[tuple[int, ...], ...] = field(
        (), help="Token-id sequences that end a sequence; they are not part of the output.", converter=_to_stops
    )
    eos_token_id: int | None = field(None, help="End-of-sequence id (a stop sequence of one token).", ge=0)
    pad_token_id: int = field(0, help="Fills the rows that stopped early.", ge=0)
    seed: int | None = field(
        None, help="Seed of the sampling generator (None: torch's global RNG).", ge=0, le=2**32 - 1
    )
    cache: CacheMode = field(
        "auto",
        help="KV cache: 'dynamic', 'static' (preallocated), 'none' (recompute), 'auto' (dynamic if possible).",
        one_of=("auto", "dynamic", "static", "none"),
    )
    compile: bool = field(False, help="Compile the static-cache decode step (CUDA graphs: mode 'reduce-overhead').")

    @property
    def stops(self) -> tuple[tuple[int, ...], ...]:
        """Every stop sequence, the EOS token included."""
        eos = ((self.eos_token_id,),) if self.eos_token_id is not None else ()
        return self.stop_sequences + eos


def _config(config: GenerationConfig | None, overrides: dict[str, Any]) -> GenerationConfig:
    base = config or GenerationConfig()
    try:
        return attrs.evolve(base, **overrides)
    except TypeError as exc:
        raise ConfigError(f"generation: {exc}") from exc


def next_token(logits: Tensor, config: GenerationConfig, generator: torch.Generator | None = None) -> Tensor:
    """Choose the next token of every row from its logits ``(B, V)``: argmax, or a sample after
    temperature, top-k and top-p filtering.

    Returns:
        Token ids ``(B,)``.
    """
    if not config.do_sample:
        return logits.argmax(dim=-1)
    scores = logits.float() / config.temperature
    if config.top_k is not None and config.top_k < scores.shape[-1]:
        kth = scores.topk(config.top_k, dim=-1).values[:, -1:]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if config.top_p is not None and config.top_p < 1.0:
        sorted_scores, order = scores.sort(dim=-1, descending=True)
        probs = sorted_scores.softmax(dim=-1)
        # drop a token when the tokens before it already reach top_p (the most likely is always kept)
        drop = probs.cumsum(dim=-1) - probs >= config.top_p
        scores = scores.scatter(-1, order, sorted_scores.masked_fill(drop, float("-inf")))
    probs = scores.softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


class _StaticDecoder:
    """A static KV cache and its (optionally compiled) one-token decode step, reused across calls."""

    def __init__(self, model: nn.Module, batch_size: int, max_len: int, compile: bool) -> None:
        self.model = model
        self.cache = model.new_cache(batch_size, max_len, static=True)  # type: ignore[operator]  # GPT-like protocol
        self.max_len = max_len
        self.step: Callable[[Tensor, Tensor], Tensor] = self._step
        if compile:
            for t in [*self.cache.keys, *self.cache.values]:
                torch._dynamo.mark_static_address(t)  # the cache is updated in place inside the graph
            self.step = torch.compile(self._step, mode="reduce-overhead", fullgraph=True)

    def _step(self, tokens: Tensor, positions: Tensor) -> Tensor:
        logits: Tensor = self.model(tokens, cache=self.cache, positions=positions)[:, -1]
        return logits

    def reset(self) -> None:
        # Stale entries are masked by position, but zero them so nothing of an earlier call can leak.
        for t in [*self.cache.keys, *self.cache.values]:
            t.zero_()


_DECODERS: weakref.WeakKeyDictionary[nn.Module, dict[tuple[Any, ...], _StaticDecoder]] = weakref.WeakKeyDictionary()


def _static_decoder(model: nn.Module, batch_size: int, max_len: int, compile: bool) -> _StaticDecoder:
    p = next(model.parameters())
    key = (batch_size, max_len, compile, p.device, p.dtype)
    decoders = _DECODERS.setdefault(model, {})
    if key not in decoders:
        decoders[key] = _StaticDecoder(model, batch_size, max_len, compile)
    decoder = decoders[key]
    decoder.reset()
    return decoder


def _max_len(model: nn.Module) -> int | None:
    cfg = getattr(model, "config", None)
    value = getattr(cfg, "max_seq_len", None)
    return int(value) if isinstance(value, int) else None


def _token_steps(model: nn.Module, input_ids: Tensor, config: GenerationConfig) -> Iterator[Tensor]:
    """Yield the next token ``(B,)`` of every row, ``max_new_tokens`` times."""
    if input_ids.dim() != 2 or input_ids.is_floating_point() or input_ids.shape[1] == 0:
        raise ConfigError(
            f"generation: input_ids must be a non-empty integer tensor (batch, prompt_len), got "
            f"{input_ids.dtype} {tuple(input_ids.shape)}"
        )
    generator: torch.Generator | None = None
    if config.seed is not None:
        generator = torch.Generator(device=input_ids.device)
        generator.manual_seed(config.seed)
    b, t = input_ids.shape
    limit = _max_len(model)
    has_cache = hasattr(model, "new_cache") and getattr(getattr(model, "config", None), "attention", "") != "linear"
    mode = config.cache
    if mode == "auto":
        mode = "dynamic" if has_cache else "none"
    if mode in ("dynamic", "static") and not has_cache:
        raise ConfigError(f"generation: {type(model).__name__} keeps no KV cache; use cache='none'")
    if config.compile and mode != "static":
        raise ConfigError("generation: compile=True needs cache='static'")
    total = t + config.max_new_tokens
    if mode != "none" and limit is not None and total > limit:
        raise ConfigError(
            f"generation: prompt ({t}) + max_new_tokens ({config.max_new_tokens}) = {total} exceeds the model's "
            f"max_seq_len {limit}; shorten them or use cache='none' (a sliding window)"
        )
    with torch.inference_mode():
        if mode == "none":
            seq = input_ids
            for _ in range(config.max_new_tokens):
                window = seq if limit is None else seq[:, -limit:]
                tok = next_token(model(window)[:, -1], config, generator)
                seq = torch.cat([seq, tok[:, None]], dim=1)
                yield tok
        elif mode == "dynamic":
            cache = model.new_cache(b)  # type: ignore[operator]  # GPT-like protocol, checked above
            logits = model(input_ids, cache=cache)[:, -1]
            for i in range(config.max_new_tokens):
                tok = next_token(logits, config, generator)
                yield tok
                if i + 1 < config.max_new_tokens:
                    logits = model(tok[:, None], cache=cache)[:, -1]
        else:
            decoder = _static_decoder(model, b, total, config.compile)
            logits = model(input_ids, cache=decoder.cache, positions=torch.arange(t, device=input_ids.device))[:, -1]
            position = torch.empty(1, dtype=torch.long, device=input_ids.device)
            mark_step = getattr(torch.compiler, "cudagraph_mark_step_begin", None)
            for i in range(config.max_new_tokens):
                tok = next_token(logits, config, generator)
                yield tok
                if i + 1 < config.max_new_tokens:
                    position.fill_(t + i)
                    if config.compile and mark_step is not None:
                        mark_step()
                    logits = decoder.step(tok[:, None], position).clone()


def _ends_with(seq: Sequence[int], stop: tuple[int, ...]) -> bool:
    return len(seq) >= len(stop) and tuple(seq[-len(stop) :]) == stop


def generate(model: nn.Module, input_ids: Tensor, config: GenerationConfig | None = None, **overrides: Any) -> Tensor:
    """Continue every prompt of a batch (greedy by default; sampling with ``do_sample=True``).

    Args:
        model: A decoder-only LM (``model(input_ids)`` gives logits ``(B, T, V)``), in eval mode.
        input_ids: Prompts ``(B, T)``, all of the same length.
        config: Generation settings; ``overrides`` replace its fields (``max_new_tokens=20``).

    Returns:
        ``(B, T + n)``: the prompts followed by up to ``max_new_tokens`` new tokens. A row that hit a
        stop sequence (or ``eos_token_id``) ends before it; the stop tokens and everything after are
        ``pad_token_id``. ``n`` is shorter than ``max_new_tokens`` when every row stopped.

    Raises:
        ConfigError: bad settings, bad ``input_ids``, or a prompt too long for the model.
    """
    cfg = _config(config, overrides)
    stops = cfg.stops
    new: list[Tensor] = []
    rows: list[list[int]] = [[] for _ in range(input_ids.shape[0])]
    cut = [-1] * input_ids.shape[0]  # where each row's stop sequence begins (-1: still running)
    for tok in _token_steps(model, input_ids, cfg):
        new.append(tok)
        if not stops:
            continue
        for r, value in enumerate(tok.tolist()):
            if cut[r] >= 0:
                continue
            rows[r].append(value)
            for stop in stops:
                if _ends_with(rows[r], stop):
                    cut[r] = len(rows[r]) - len(stop)
                    break
        if all(c >= 0 for c in cut):
            break
    if not new:
        return input_ids
    out = torch.stack(new, dim=1)
    if stops:
        steps = torch.arange(out.shape[1], device=out.device)[None, :]
        limits = torch.tensor([c if c >= 0 else out.shape[1] for c in cut], device=out.device)[:, None]
        out = out.masked_fill(steps >= limits, cfg.pad_token_id)
    return torch.cat([input_ids, out.to(input_ids.dtype)], dim=1)


def stream(
    model: nn.Module, prompt_ids: Sequence[int] | Tensor, config: GenerationConfig | None = None, **overrides: Any
) -> Iterator[int]:
    """Yield the token ids of one continuation as they are produced.

    Tokens that could begin a stop sequence are held back until it is clear they do not; a matched
    stop sequence is not yielded and ends the stream.

    Args:
        model: A decoder-only LM in eval mode.
        prompt_ids: The prompt's ids (a list, or a ``(T,)`` / ``(1, T)`` tensor).
        config: Generation settings; ``overrides`` replace its fields.

    Raises:
        ConfigError: bad settings or prompt.

    Example:
        >>> for token in stream(model, [104, 105], max_new_tokens=3): ...  # doctest: +SKIP
    """
    cfg = _config(config, overrides)
    device = next(model.parameters()).device
    ids = prompt_ids if isinstance(prompt_ids, Tensor) else torch.tensor(list(prompt_ids), dtype=torch.long)
    if ids.dim() == 1:
        ids = ids[None]
    if ids.dim() != 2 or ids.shape[0] != 1:
        raise ConfigError(f"stream: expected one prompt, got ids of shape {tuple(ids.shape)}")
    stops = cfg.stops
    held: list[int] = []
    for tok in _token_steps(model, ids.to(device), cfg):
        held.append(int(tok.item()))
        if any(_ends_with(held, stop) for stop in stops):
            stop = next(s for s in stops if _ends_with(held, s))
            yield from held[: len(held) - len(stop)]
            return
        # keep back the longest suffix of held that is a proper prefix of a stop sequence
        keep = 0
        for stop in stops:
            for k in range(min(len(stop) - 1, len(held)), keep, -1):
                if tuple(held[-k:]) == stop[:k]:
                    keep = k
                    break
        emit = held[: len(held) - keep]
        held = held[len(held) - keep :]
        yield from emit
    yield from held


def _expand(memory: Any, index: Tensor) -> Any:
    if isinstance(memory, Tensor):
        return memory.index_select(0, index)
    if isinstance(memory, tuple):
        return tuple(_expand(m, index) for m in memory)
    return memory  # None and other non-tensor values are the same for every row


def beam_search(
    model: nn.Module,
    input_ids: Tensor,
    attention_mask: Tensor | None = None,
    *,
    num_beams: int = 4,
    max_new_tokens: int = 32,
    eos_token_id: int | Literal["auto"] | None = "auto",
    pad_token_id: int | None = None,
    decoder_start_token_id: int | None = None,
    length_penalty: float = 1.0,
) -> Tensor:
    """Beam search for an encoder-decoder (a model with ``encode(ids, mask)`` and ``decode(ids, memory)``).

    Each step keeps the ``num_beams`` best partial sequences by total log-probability; a beam that
    emits ``eos_token_id`` is finished with score ``logprob / length ** length_penalty``. A batch row
    stops once it has ``num_beams`` finished hypotheses (early stopping).
    The decoder is re-run over each beam's whole prefix every step (no decoder KV cache), which is
    fine for the short outputs of seq2seq tasks but quadratic in the output length.

    Args:
        model: The encoder-decoder, in eval mode.
        input_ids: Source ids ``(B, S)``.
        attention_mask: Source mask ``(B, S)`` (1 real, 0 padding).
        num_beams: Beams per row.
        max_new_tokens: Decoder tokens at most (EOS included).
        eos_token_id: End of sequence; ``"auto"``: ``model.config.eos_token_id`` when it has one; None:
            no end token (every result is ``max_new_tokens`` long).
        pad_token_id: Pads shorter results (default ``model.config.pad_token_id`` or 0).
        decoder_start_token_id: First decoder input (default: ``pad_token_id``, as T5).
        length_penalty: Exponent of the length normalization of finished hypotheses.

    Returns:
        The best continuation of every row ``(B, L)`` (start token left out, EOS kept), right-padded.

    Raises:
        ConfigError: the model is not an encoder-decoder, or bad arguments.
    """
    if not (hasattr(model, "encode") and hasattr(model, "decode")):
        raise ConfigError(f"beam_search: {type(model).__name__} has no encode/decode (not an encoder-decoder)")
    if num_beams < 1 or max_new_tokens < 1:
        raise ConfigError(f"beam_search: num_beams and max_new_tokens must be >= 1, got {num_beams}, {max_new_tokens}")
    cfg = getattr(model, "config", None)
    eos: int | None = getattr(cfg, "eos_token_id", None) if eos_token_id == "auto" else eos_token_id
    pad = pad_token_id if pad_token_id is not None else int(getattr(cfg, "pad_token_id", 0))
    start = decoder_start_token_id if decoder_start_token_id is not None else pad
    b, k = input_ids.shape[0], num_beams
    device = input_ids.device
    with torch.inference_mode():
        memory = _expand(
            model.encode(input_ids, attention_mask),  # type: ignore[operator]  # checked above
            torch.arange(b, device=device).repeat_interleave(k),
        )
        seqs = torch.full((b * k, 1), start, dtype=torch.long, device=device)
        scores = torch.full((b, k), float("-inf"), device=device)
        scores[:, 0] = 0.0  # every beam starts equal: only the first one expands at step 0
        finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(b)]
        done = [False] * b
        for _ in range(max_new_tokens):
            logp = model.decode(seqs, memory)[:, -1].float().log_softmax(dim=-1)  # type: ignore[operator]  # checked
            v = logp.shape[-1]
            cand = (scores.reshape(b * k, 1) + logp).reshape(b, k * v)
            top_scores, top_idx = cand.topk(min(2 * k, k * v), dim=1)
            next_beams: list[int] = []
            next_tokens: list[int] = []
            next_scores: list[float] = []
            for row in range(b):
                chosen = 0
                for s, idx in zip(top_scores[row].tolist(), top_idx[row].tolist(), strict=True):
                    if chosen == k:
                        break
                    beam, tok = divmod(idx, v)
                    if not done[row] and eos is not None and tok == eos and s > float("-inf"):
                        gen = seqs[row * k + beam, 1:].tolist() + [tok]
                        finished[row].append((s / len(gen) ** length_penalty, gen))
                        continue
                    next_beams.append(row * k + beam)
                    next_tokens.append(tok)
                    next_scores.append(s if not done[row] else float("-inf"))
                    chosen += 1
                while chosen < k:  # fewer live candidates than beams (tiny vocabularies)
                    next_beams.append(row * k)
                    next_tokens.append(pad)
                    next_scores.append(float("-inf"))
                    chosen += 1
                if len(finished[row]) >= k:
                    done[row] = True
            index = torch.tensor(next_beams, device=device)
            seqs = torch.cat([seqs.index_select(0, index), torch.tensor(next_tokens, device=device)[:, None]], dim=1)
            scores = torch.tensor(next_scores, device=device).reshape(b, k)
            if all(done):
                break
        for row in range(b):
            if not done[row]:
                for beam in range(k):
                    s = float(scores[row, beam])
                    if s > float("-inf"):
                        gen = seqs[row * k + beam, 1:].tolist()
                        finished[row].append((s / len(gen) ** length_penalty, gen))
    best = [max(f, key=lambda x: x[0])[1] if f else [] for f in finished]
    width = max(1, max(len(x) for x in best))
    out = torch.full((b, width), pad, dtype=torch.long, device=device)
    for row, gen in enumerate(best):
        if gen:
            out[row, : len(gen)] = torch.tensor(gen, device=device)
    return out


def sample_from_run(
    run_dir: str | os.PathLike[str],
    prompt: str,
    config: GenerationConfig | None = None,
    *,
    which: Literal["best", "last"] = "best",
    **overrides: Any,
) -> str:
    """Sample a continuation of ``prompt`` from a byte-level LM run (``forge train nlp/char-lm``).

    Args:
        run_dir: The run directory.
        prompt: Text to continue (encoded to UTF-8 bytes, the ids the run was trained on).
        config: Generation settings (default: sampling, temperature 0.8, top-k 40, seed 0,
            200 new tokens); ``overrides`` replace its fields.
        which: Load the "best" or "last" checkpoint.

    Returns:
        The prompt followed by the generated text (invalid UTF-8 shown as U+FFFD).

    Raises:
        CheckpointError: the run has no loadable checkpoint.
        ConfigError: bad settings, or the model's vocabulary is not byte-level.
    """
    from forge.core import load_model

    model = load_model(run_dir, which)
    vocab = getattr(getattr(model, "config", None), "vocab_size", None)
    if not isinstance(vocab, int) or vocab < 256:
        raise ConfigError(f"sample_from_run: {run_dir}: the model's vocab_size {vocab} is not byte-level (>= 256)")
    base = config or GenerationConfig(max_new_tokens=200, do_sample=True, temperature=0.8, top_k=40, seed=0)
    cfg = _config(base, overrides)
    data = prompt.encode("utf-8")
    if not data:
        raise ConfigError("sample_from_run: the prompt is empty; give at least one character")
    limit = _max_len(model)
    if limit is not None and len(data) + cfg.max_new_tokens > limit and cfg.cache == "auto":
        cfg = attrs.evolve(cfg, cache="none")  # slide a window over the model's context instead of failing
    ids = torch.tensor([list(data)], dtype=torch.long)
    out = generate(model, ids, cfg)[0, len(data) :].tolist()
    new = bytes(t for t in out if t < 256)
    return prompt + new.decode("utf-8", errors="replace")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m forge.nlp.generation RUN_DIR --prompt TEXT``: print a sample of a byte-level LM run."""
    parser = argparse.ArgumentParser(prog="python -m forge.nlp.generation", description=main.__doc__)
    parser.add_argument("run_dir", help="run directory of a byte-level LM (forge train nlp/char-lm)")
    parser.add_argument("--prompt", default="def ", help="text to continue")
    parser.add_argument("--max-new-tokens", type=int, default=200)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-k", type=int, default=40)
    parser.add_argument("--top-p", type=float, default=None)
    parser.add_argument("--greedy", action="store_true", help="argmax instead of sampling")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    cfg = GenerationConfig(
        max_new_tokens=args.max_new_tokens,
        do_sample=not args.greedy,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
    )
    print(sample_from_run(args.run_dir, args.prompt, cfg))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
