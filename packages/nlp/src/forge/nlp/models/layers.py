"""Transformer building blocks shared by the GPT, encoder and T5 models.

Attention goes through :func:`torch.nn.functional.scaled_dot_product_attention` so the fused
(flash / memory-efficient) kernels are used where they apply. Attention probabilities are never
materialized on that path; :func:`record_attention` switches the attention modules to an explicit
softmax that also keeps the probabilities, which is what ``attention_maps`` of every model uses.
"""

from __future__ import annotations

import abc
import contextlib
import math
from collections.abc import Iterator
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from forge.core.errors import ConfigError

__all__ = [
    "DropPath",
    "DynamicKVCache",
    "FeedForward",
    "KVCache",
    "MultiHeadAttention",
    "StaticKVCache",
    "T5LayerNorm",
    "TransformerBlock",
    "activation",
    "record_attention",
]


def activation(name: str) -> nn.Module:
    """The activation module named ``gelu_tanh`` (GPT-2's approximation), ``gelu`` or ``relu``.

    Raises:
        ConfigError: unknown name.
    """
    if name == "gelu_tanh":
        return nn.GELU(approximate="tanh")
    if name == "gelu":
        return nn.GELU()
    if name == "relu":
        return nn.ReLU()
    raise ConfigError(f"unknown activation {name!r}; expected gelu_tanh, gelu or relu")


class DropPath(nn.Module):
    """Stochastic depth: drop a whole residual branch per sample with probability ``p`` (training only).

    Kept samples are scaled by ``1 / (1 - p)`` so the expectation is unchanged.
    """

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        mask = x.new_empty(shape).bernoulli_(keep)
        return x * mask / keep


class T5LayerNorm(nn.Module):
    """T5's LayerNorm: scale by the root mean square, no mean subtraction, no bias (computed in float32)."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        variance = x.float().pow(2).mean(-1, keepdim=True)
        y = x.float() * torch.rsqrt(variance + self.eps)
        return self.weight * y.to(self.weight.dtype)


class KVCache(abc.ABC):
    """Keys and values of earlier positions, per layer, for incremental decoding."""

    @abc.abstractmethod
    def update(self, layer: int, k: Tensor, v: Tensor, positions: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """Store ``k``, ``v`` ``(B, H, T, D)`` of ``positions`` and return all keys, values and the mask.

        Returns:
            Keys, values and a boolean mask ``(1, 1, T, S)`` (True: attend), or None when every query may
            attend every returned key.
        """


class DynamicKVCache(KVCache):
    """A cache that grows by concatenation (any length, reallocates every step)."""

    def __init__(self, n_layers: int) -> None:
        self.keys: list[Tensor | None] = [None] * n_layers
        self.values: list[Tensor | None] = [None] * n_layers

    @property
    def length(self) -> int:
        """Positions stored so far."""
        k = self.keys[0]
        return 0 if k is None else int(k.shape[2])

    def update(self, layer: int, k: Tensor, v: Tensor, positions: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        old_k, old_v = self.keys[layer], self.values[layer]
        if old_k is not None and old_v is not None:
            k = torch.cat([old_k, k], dim=2)
            v = torch.cat([old_v, v], dim=2)
        self.keys[layer], self.values[layer] = k, v
        t, s = positions.shape[0], k.shape[2]
        if t == 1:
            return k, v, None
        key_pos = torch.arange(s, device=k.device)
        return k, v, (key_pos[None, :] <= positions[:, None])[None, None]


class StaticKVCache(KVCache):
    """A preallocated cache of ``max_len`` positions: fixed shapes, so a decode step can be captured
    in a CUDA graph (``torch.compile(mode="reduce-overhead")``).

    Args:
        n_layers: Transformer blocks.
        batch_size: Sequences decoded together.
        n_heads: Attention heads.
        head_dim: Width of a head.
        max_len: Positions the cache holds (prompt plus new tokens).
        device: Where the cache lives.
        dtype: Its dtype (the model's).
    """

    def __init__(
        self,
        n_layers: int,
        batch_size: int,
        n_heads: int,
        head_dim: int,
        max_len: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        shape = (batch_size, n_heads, max_len, head_dim)
        self.keys = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(n_layers)]
        self.values = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(n_layers)]
        self.max_len = max_len
        self._key_pos = torch.arange(max_len, device=device)

    def update(self, layer: int, k: Tensor, v: Tensor, positions: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        keys, values = self.keys[layer], self.values[layer]
        keys.index_copy_(2, positions, k.to(keys.dtype))
        values.index_copy_(2, positions, v.to(values.dtype))
        # Unwritten slots (beyond the current position) are masked out, so their zeros never count.
        return keys, values, (self._key_pos[None, :] <= positions[:, None])[None, None]


_RECORDING: list[list[Tensor] | None] = [None]


@contextlib.contextmanager
def record_attention() -> Iterator[list[Tensor]]:
    """Within the block, every :class:`MultiHeadAttention` computes attention explicitly and appends
    its probabilities ``(B, H, Tq, Tk)`` to the yielded list, in call order."""
    maps: list[Tensor] = []
    previous = _RECORDING[0]
    _RECORDING[0] = maps
    try:
        yield maps
    finally:
        _RECORDING[0] = previous


def _linear_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, causal: bool, record: bool
) -> tuple[Tensor, Tensor | None]:
    """Linear attention with the elu(x) + 1 feature map (Katharopoulos et al., 2020)."""
    q, k = F.elu(q) + 1.0, F.elu(k) + 1.0
    if mask is not None:  # key padding: (B, 1, 1, S) boolean
        k = k * mask[:, :, -1, :, None].to(k.dtype)
    weights: Tensor | None = None
    if causal:
        kv = torch.einsum("bhsd,bhse->bhsde", k, v).cumsum(dim=2)
        num = torch.einsum("bhtd,bhtde->bhte", q, kv)
        den = torch.einsum("bhtd,bhtd->bht", q, k.cumsum(dim=2))
    else:
        num = torch.einsum("bhtd,bhde->bhte", q, torch.einsum("bhsd,bhse->bhde", k, v))
        den = torch.einsum("bhtd,bhd->bht", q, k.sum(dim=2))
    out = num / den.clamp_min(1e-6)[..., None]
    if record:
        scores = q @ k.transpose(-2, -1)
        if causal:
            t = scores.shape[-1]
            scores = scores.masked_fill(~torch.ones(t, t, dtype=torch.bool, device=q.device).tril(), 0.0)
        weights = scores / scores.sum(-1, keepdim=True).clamp_min(1e-6)
    return out, weights


class MultiHeadAttention(nn.Module):
    """Multi-head attention: self-attention (fused ``qkv`` projection) or cross-attention (``q`` and ``kv``).

    Args:
        d_model: Input and output width.
        n_heads: Heads.
        head_dim: Width of a head (default ``d_model // n_heads``).
        bias: Biases on the projections.
        dropout: Dropout on attention probabilities (training only).
        kind: ``"softmax"`` or ``"linear"`` (elu+1 kernel; no KV cache, no additive bias).
        scale: Score scale (default ``head_dim ** -0.5``; T5 uses 1.0).
        cross: Cross-attention (keys and values from ``memory``).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        *,
        head_dim: int | None = None,
        bias: bool = True,
        dropout: float = 0.0,
        kind: Literal["softmax", "linear"] = "softmax",
        scale: float | None = None,
        cross: bool = False,
    ) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = head_dim if head_dim is not None else d_model // n_heads
        inner = self.n_heads * self.head_dim
        self.cross = cross
        if cross:
            self.q = nn.Linear(d_model, inner, bias=bias)
            self.kv = nn.Linear(d_model, 2 * inner, bias=bias)
        else:
            self.qkv = nn.Linear(d_model, 3 * inner, bias=bias)
        self.proj = nn.Linear(inner, d_model, bias=bias)
        self.dropout = dropout
        self.kind = kind
        self.scale = scale if scale is not None else self.head_dim**-0.5

    def _heads(self, x: Tensor) -> Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.n_heads, self.head_dim).transpose(1, 2)

    def forward(
        self,
        x: Tensor,
        *,
        memory: Tensor | None = None,
        mask: Tensor | None = None,
        bias: Tensor | None = None,
        causal: bool = False,
        cache: KVCache | None = None,
        layer: int = 0,
        positions: Tensor | None = None,
    ) -> Tensor:
        """Attend.

        Args:
            x: Queries' input ``(B, T, d_model)``.
            memory: Keys' and values' input for cross-attention ``(B, S, d_model)``.
            mask: Boolean mask broadcastable to ``(B, H, T, S)``, True where attending is allowed.
            bias: Additive float score bias broadcastable to ``(B, H, T, S)`` (T5's relative positions).
            causal: Each query attends only to keys at or before its position (ignored with a cache,
                whose mask already says so).
            cache: Keys and values of earlier positions (self-attention only).
            layer: This block's index in ``cache``.
            positions: Positions of ``x``'s tokens ``(T,)`` (needed with ``cache``).
        """
        b, t, _ = x.shape
        if self.cross:
            if memory is None:
                raise ConfigError("cross-attention needs memory (the encoder output)")
            q = self._heads(self.q(x))
            k, v = (self._heads(m) for m in self.kv(memory).chunk(2, dim=-1))
        else:
            q, k, v = (self._heads(m) for m in self.qkv(x).chunk(3, dim=-1))
        if cache is not None:
            if self.kind == "linear":
                raise ConfigError("linear attention keeps no KV cache; decode it without one")
            if positions is None:
                raise ConfigError("a KV cache needs the positions of the new tokens")
            k, v, cache_mask = cache.update(layer, k, v, positions)
            causal = False
            mask = cache_mask if mask is None else (mask if cache_mask is None else mask & cache_mask)
        record = _RECORDING[0]
        p = self.dropout if self.training else 0.0
        if self.kind == "linear":
            if bias is not None:
                raise ConfigError("linear attention takes no additive position bias")
            out, weights = _linear_attention(q, k, v, mask, causal, record is not None)
            if record is not None and weights is not None:
                record.append(weights.detach())
        elif record is not None:
            scores = (q @ k.transpose(-2, -1)).float() * self.scale
            if bias is not None:
                scores = scores + bias.float()
            full = _full_mask(mask, causal, t, k.shape[2], x.device)
            if full is not None:
                scores = scores.masked_fill(~full, float("-inf"))
            weights = scores.softmax(dim=-1).to(q.dtype)
            record.append(weights.detach())
            out = F.dropout(weights, p) @ v
        else:
            attn_mask: Tensor | None = mask
            if bias is not None:
                attn_mask = bias.to(q.dtype)
                full = _full_mask(mask, causal, t, k.shape[2], x.device)
                if full is not None:
                    attn_mask = attn_mask.masked_fill(~full, float("-inf"))
                causal = False
            elif mask is not None and causal:
                attn_mask = _full_mask(mask, causal, t, k.shape[2], x.device)
                causal = False
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=attn_mask, dropout_p=p, is_causal=causal, scale=self.scale
            )
        out = out.transpose(1, 2).reshape(b, t, self.n_heads * self.head_dim)
        result: Tensor = self.proj(out)
        return result


def _full_mask(mask: Tensor | None, causal: bool, t: int, s: int, device: torch.device) -> Tensor | None:
    """``mask`` combined with a causal mask (queries are the last ``t`` of ``s`` positions)."""
    if not causal:
        return mask
    tri = torch.ones(t, s, dtype=torch.bool, device=device).tril(diagonal=s - t)
    return tri if mask is None else mask & tri


class FeedForward(nn.Module):
    """Position-wise feed-forward: ``fc2(dropout(act(fc1(x))))``, or T5 v1.1's gated GELU
    (``fc2(gelu(fc1(x)) * gate(x))``)."""

    def __init__(
        self,
        d_model: int,
        d_ff: int,
        *,
        act: str = "gelu_tanh",
        bias: bool = True,
        dropout: float = 0.0,
        gated: bool = False,
    ) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_ff, bias=bias)
        self.gate = nn.Linear(d_model, d_ff, bias=bias) if gated else None
        self.act = activation(act)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(d_ff, d_model, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        h = self.act(self.fc1(x))
        if self.gate is not None:
            h = h * self.gate(x)
        out: Tensor = self.fc2(self.drop(h))
        return out


class TransformerBlock(nn.Module):
    """Self-attention then feed-forward, each a residual branch, LayerNorm before (pre-LN) or after
    (post-LN) it, with dropout and stochastic depth on the branches.

    Args:
        d_model: Width.
        n_heads: Attention heads.
        d_ff: Feed-forward width.
        dropout: Residual-branch dropout.
        attn_dropout: Attention-probability dropout.
        drop_path: Stochastic-depth rate of this block.
        norm_eps: LayerNorm epsilon.
        norm_first: Pre-LN (True) or post-LN (False).
        act: Feed-forward activation.
        attention: ``"softmax"`` or ``"linear"``.
        bias: Biases in linear layers and LayerNorms.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        *,
        dropout: float = 0.0,
        attn_dropout: float = 0.0,
        drop_path: float = 0.0,
        norm_eps: float = 1e-5,
        norm_first: bool = True,
        act: str = "gelu_tanh",
        attention: Literal["softmax", "linear"] = "softmax",
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.norm_first = norm_first
        self.norm1 = nn.LayerNorm(d_model, eps=norm_eps, bias=bias)
        self.attn = MultiHeadAttention(d_model, n_heads, bias=bias, dropout=attn_dropout, kind=attention)
        self.norm2 = nn.LayerNorm(d_model, eps=norm_eps, bias=bias)
        self.mlp = FeedForward(d_model, d_ff, act=act, bias=bias)
        self.drop = nn.Dropout(dropout)
        self.drop_path = DropPath(drop_path)

    def forward(
        self,
        x: Tensor,
        *,
        mask: Tensor | None = None,
        causal: bool = False,
        cache: KVCache | None = None,
        layer: int = 0,
        positions: Tensor | None = None,
    ) -> Tensor:
        """Apply the block to ``x`` ``(B, T, d_model)`` (arguments as :meth:`MultiHeadAttention.forward`)."""

        def attend(h: Tensor) -> Tensor:
            out: Tensor = self.attn(h, mask=mask, causal=causal, cache=cache, layer=layer, positions=positions)
            return out

        if self.norm_first:
            x = x + self.drop_path(self.drop(attend(self.norm1(x))))
            res: Tensor = x + self.drop_path(self.drop(self.mlp(self.norm2(x))))
            return res
        x = self.norm1(x + self.drop_path(self.drop(attend(x))))
        out: Tensor = self.norm2(x + self.drop_path(self.drop(self.mlp(x))))
        return out


def padding_mask(attention_mask: Tensor | None) -> Tensor | None:
    """A key-padding mask ``(B, 1, 1, S)`` (True: attend) from a ``(B, S)`` 0/1 or boolean mask."""
    if attention_mask is None:
        return None
    return attention_mask.bool()[:, None, None, :]


def drop_path_rates(rate: float, n: int) -> list[float]:
    """Per-block stochastic-depth rates rising linearly from 0 to ``rate``."""
    return [rate * i / max(n - 1, 1) for i in range(n)]


def check_ids(input_ids: Tensor, vocab_size: int, where: str) -> None:
    """Refuse token ids that are not a 2-D integer tensor.

    Raises:
        ConfigError: wrong dtype or rank (out-of-range ids are rejected by the embedding itself).
    """
    if input_ids.dim() != 2 or input_ids.is_floating_point() or input_ids.dtype == torch.bool:
        raise ConfigError(
            f"{where}: input_ids must be an integer tensor (batch, seq_len), got {input_ids.dtype} "
            f"{tuple(input_ids.shape)}"
        )


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """GPT-2/BERT initialization: normal(0, std) linear and embedding weights, zero biases."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=std)


def scaled_residual_init(blocks: nn.ModuleList, n_layers: int, std: float = 0.02) -> None:
    """GPT-2's scaled init of the residual output projections: std / sqrt(2 * n_layers)."""
    for block in blocks:
        for name, p in block.named_parameters():
            if name.endswith("proj.weight") or name.endswith("fc2.weight"):
                nn.init.normal_(p, mean=0.0, std=std / math.sqrt(2 * n_layers))
