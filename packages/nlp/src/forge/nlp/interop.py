"""Load Hugging Face GPT-2, BERT/RoBERTa and T5 weights into forge's models (no ``transformers`` import).

A Hugging Face checkpoint is a config (``config.json``, a mapping) and a state dict (``model.safetensors``).
The ``*_config_from_hf`` functions turn the first into the matching forge config; the ``convert_*``
functions rename (and for GPT-2 transpose: its ``Conv1D`` stores ``(in, out)``) the second into a forge
state dict; :func:`from_hf` does both and returns the loaded model::

    import json
    from safetensors.torch import load_file
    config = json.load(open("gpt2/config.json"))
    model = from_hf(config, load_file("gpt2/model.safetensors"))   # a forge GPT, in eval mode

Nothing is downloaded: the files must already be on disk.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import attrs
import torch
from torch import Tensor, nn

from forge.core.errors import CheckpointError, ConfigError
from forge.nlp.models.configs import EncoderClassifierConfig, EncoderConfig, GPTConfig, T5Config
from forge.nlp.models.encoder import EncoderClassifier, EncoderMLM
from forge.nlp.models.gpt import GPT
from forge.nlp.models.t5 import T5

__all__ = [
    "bert_config_from_hf",
    "convert_bert_state_dict",
    "convert_gpt2_state_dict",
    "convert_t5_state_dict",
    "from_hf",
    "gpt_config_from_hf",
    "load_converted",
    "load_safetensors",
    "t5_config_from_hf",
]

StateDict = Mapping[str, Tensor]

_ACTIVATIONS = {"gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu": "gelu", "relu": "relu"}


def _get(cfg: Mapping[str, Any], *keys: str, default: Any = None, where: str) -> Any:
    for key in keys:
        if key in cfg and cfg[key] is not None:
            return cfg[key]
    if default is not None:
        return default
    raise ConfigError(f"{where}: the Hugging Face config has none of {', '.join(keys)}")


def _activation(name: str, where: str) -> str:
    if name not in _ACTIVATIONS:
        raise ConfigError(f"{where}: activation {name!r} has no forge equivalent (known: {', '.join(_ACTIVATIONS)})")
    return _ACTIVATIONS[name]


def gpt_config_from_hf(cfg: Mapping[str, Any]) -> GPTConfig:
    """A :class:`GPTConfig` matching a Hugging Face GPT-2 config (``config.json`` as a mapping).

    Raises:
        ConfigError: a required key is missing or an activation has no forge equivalent.
    """
    where = "gpt2 config"
    d = int(_get(cfg, "n_embd", "hidden_size", where=where))
    return GPTConfig(
        vocab_size=int(_get(cfg, "vocab_size", where=where)),
        max_seq_len=int(_get(cfg, "n_positions", "max_position_embeddings", where=where)),
        d_model=d,
        n_layers=int(_get(cfg, "n_layer", "num_hidden_layers", where=where)),
        n_heads=int(_get(cfg, "n_head", "num_attention_heads", where=where)),
        d_ff=int(cfg.get("n_inner") or 4 * d),
        dropout=float(cfg.get("resid_pdrop", 0.1)),
        attn_dropout=float(cfg.get("attn_pdrop", 0.1)),
        norm_eps=float(cfg.get("layer_norm_epsilon", 1e-5)),
        activation=_activation(str(cfg.get("activation_function", "gelu_new")), where),  # type: ignore[arg-type]  # checked by _activation
        tie_embeddings=bool(cfg.get("tie_word_embeddings", True)),
    )


def bert_config_from_hf(cfg: Mapping[str, Any], *, num_classes: int | None = None) -> EncoderConfig:
    """An :class:`EncoderConfig` (with ``num_classes``: :class:`EncoderClassifierConfig`) matching a Hugging
    Face BERT or RoBERTa config.

    Raises:
        ConfigError: a required key is missing or an activation has no forge equivalent.
    """
    where = f"{cfg.get('model_type', 'bert')} config"
    roberta = cfg.get("model_type") in ("roberta", "xlm-roberta", "camembert")
    pad = int(cfg.get("pad_token_id") or 0)
    fields: dict[str, Any] = {
        "vocab_size": int(_get(cfg, "vocab_size", where=where)),
        "max_positions": int(_get(cfg, "max_position_embeddings", where=where)),
        "type_vocab_size": int(cfg.get("type_vocab_size", 2)),
        "d_model": int(_get(cfg, "hidden_size", where=where)),
        "n_layers": int(_get(cfg, "num_hidden_layers", where=where)),
        "n_heads": int(_get(cfg, "num_attention_heads", where=where)),
        "d_ff": int(_get(cfg, "intermediate_size", where=where)),
        "dropout": float(cfg.get("hidden_dropout_prob", 0.1)),
        "attn_dropout": float(cfg.get("attention_probs_dropout_prob", 0.1)),
        "norm_eps": float(cfg.get("layer_norm_eps", 1e-12)),
        "activation": _activation(str(cfg.get("hidden_act", "gelu")), where),
        "pad_token_id": pad,
        "position_offset": pad + 1 if roberta else 0,
    }
    if num_classes is not None:
        dropout = cfg.get("classifier_dropout")
        return EncoderClassifierConfig(
            num_classes=num_classes, classifier_dropout=None if dropout is None else float(dropout), **fields
        )
    return EncoderConfig(**fields)


def t5_config_from_hf(cfg: Mapping[str, Any]) -> T5Config:
    """A :class:`T5Config` matching a Hugging Face T5 config (v1.0 ``relu`` or v1.1 ``gated-gelu``).

    Raises:
        ConfigError: a required key is missing or the feed-forward kind is unsupported.
    """
    where = "t5 config"
    ff = str(cfg.get("feed_forward_proj", "relu"))
    if ff not in ("relu", "gated-gelu"):
        raise ConfigError(f"{where}: feed_forward_proj {ff!r} is not supported (relu or gated-gelu)")
    n_layers = int(_get(cfg, "num_layers", where=where))
    return T5Config(
        vocab_size=int(_get(cfg, "vocab_size", where=where)),
        d_model=int(_get(cfg, "d_model", where=where)),
        d_kv=int(_get(cfg, "d_kv", where=where)),
        n_heads=int(_get(cfg, "num_heads", where=where)),
        d_ff=int(_get(cfg, "d_ff", where=where)),
        n_layers=n_layers,
        n_decoder_layers=int(cfg.get("num_decoder_layers") or n_layers),
        relative_attention_num_buckets=int(cfg.get("relative_attention_num_buckets", 32)),
        relative_attention_max_distance=int(cfg.get("relative_attention_max_distance", 128)),
        dropout=float(cfg.get("dropout_rate", 0.1)),
        norm_eps=float(cfg.get("layer_norm_epsilon", 1e-6)),
        feed_forward=ff,  # type: ignore[arg-type]  # checked above
        tie_embeddings=bool(cfg.get("tie_word_embeddings", True)),
        # transformers >= 5 keeps the output scaling in its own key; before, it followed the tying
        scale_output=bool(cfg.get("scale_decoder_outputs", cfg.get("tie_word_embeddings", True))),
        pad_token_id=int(cfg.get("pad_token_id") or 0),
        eos_token_id=int(cfg.get("eos_token_id") or 1),
    )


def _strip(sd: StateDict, prefixes: tuple[str, ...]) -> dict[str, Tensor]:
    out: dict[str, Tensor] = {}
    for key, value in sd.items():
        for p in prefixes:
            if key.startswith(p):
                key = key[len(p) :]
                break
        out[key] = value
    return out


def _need(sd: Mapping[str, Tensor], key: str, where: str) -> Tensor:
    if key not in sd:
        raise CheckpointError(f"{where}: the state dict has no {key!r}; is it the right model family?")
    return sd[key]


def convert_gpt2_state_dict(sd: StateDict) -> dict[str, Tensor]:
    """Rename a Hugging Face ``GPT2Model`` / ``GPT2LMHeadModel`` state dict to :class:`GPT`'s keys and
    transpose its ``Conv1D`` weights.

    Raises:
        CheckpointError: a key of GPT-2 is missing.
    """
    where = "gpt2 state dict"
    src = _strip(sd, ("transformer.",))
    wte = _need(src, "wte.weight", where)
    out: dict[str, Tensor] = {
        "tok_emb.weight": wte,
        "pos_emb.weight": _need(src, "wpe.weight", where),
        "norm_f.weight": _need(src, "ln_f.weight", where),
        "norm_f.bias": _need(src, "ln_f.bias", where),
        "lm_head.weight": src.get("lm_head.weight", wte),
    }
    layers = sorted({int(m.group(1)) for k in src if (m := re.match(r"h\.(\d+)\.", k))})
    names = {
        "ln_1": "norm1",
        "ln_2": "norm2",
        "attn.c_attn": "attn.qkv",
        "attn.c_proj": "attn.proj",
        "mlp.c_fc": "mlp.fc1",
        "mlp.c_proj": "mlp.fc2",
    }
    for i in layers:
        for hf, ours in names.items():
            w = _need(src, f"h.{i}.{hf}.weight", where)
            out[f"blocks.{i}.{ours}.weight"] = w if hf.startswith("ln") else w.t().contiguous()
            out[f"blocks.{i}.{ours}.bias"] = _need(src, f"h.{i}.{hf}.bias", where)
    return out


def _ln(src: Mapping[str, Tensor], prefix: str, where: str) -> tuple[Tensor, Tensor]:
    # Old BERT checkpoints name LayerNorm parameters gamma / beta.
    w = src.get(f"{prefix}.weight", src.get(f"{prefix}.gamma"))
    b = src.get(f"{prefix}.bias", src.get(f"{prefix}.beta"))
    if w is None or b is None:
        raise CheckpointError(f"{where}: the state dict has no {prefix!r} LayerNorm")
    return w, b


def convert_bert_state_dict(sd: StateDict, *, head: str = "auto") -> dict[str, Tensor]:
    """Rename a Hugging Face BERT/RoBERTa state dict (``BertModel``, ``BertForMaskedLM``,
    ``BertForSequenceClassification``, RoBERTa's equivalents) to forge's encoder keys.

    Args:
        sd: The Hugging Face state dict.
        head: ``"mlm"`` (:class:`EncoderMLM` keys), ``"classifier"`` (:class:`EncoderClassifier`),
            ``"none"`` (just the :class:`Encoder`, keys without the ``encoder.`` prefix), or ``"auto"``
            (from the keys present).

    Raises:
        CheckpointError: a key is missing, or ``head`` asks for a head the state dict lacks.
        ConfigError: unknown ``head``.
    """
    where = "bert state dict"
    src = _strip(sd, ("bert.", "roberta."))
    if head == "auto":
        has_mlm = any(k.startswith(("cls.predictions.", "lm_head.")) for k in src)
        head = "mlm" if has_mlm else "classifier" if "classifier.weight" in src else "none"
    if head not in ("mlm", "classifier", "none"):
        raise ConfigError(f"convert_bert_state_dict: head must be mlm, classifier, none or auto, got {head!r}")
    enc: dict[str, Tensor] = {
        "tok_emb.weight": _need(src, "embeddings.word_embeddings.weight", where),
        "pos_emb.weight": _need(src, "embeddings.position_embeddings.weight", where),
    }
    if "embeddings.token_type_embeddings.weight" in src:
        enc["type_emb.weight"] = src["embeddings.token_type_embeddings.weight"]
    enc["emb_norm.weight"], enc["emb_norm.bias"] = _ln(src, "embeddings.LayerNorm", where)
    layers = sorted({int(m.group(1)) for k in src if (m := re.match(r"encoder\.layer\.(\d+)\.", k))})
    for i in layers:
        p, q = f"encoder.layer.{i}", f"blocks.{i}"
        for kind in ("weight", "bias"):
            enc[f"{q}.attn.qkv.{kind}"] = torch.cat(
                [_need(src, f"{p}.attention.self.{n}.{kind}", where) for n in ("query", "key", "value")]
            )
            enc[f"{q}.attn.proj.{kind}"] = _need(src, f"{p}.attention.output.dense.{kind}", where)
            enc[f"{q}.mlp.fc1.{kind}"] = _need(src, f"{p}.intermediate.dense.{kind}", where)
            enc[f"{q}.mlp.fc2.{kind}"] = _need(src, f"{p}.output.dense.{kind}", where)
        enc[f"{q}.norm1.weight"], enc[f"{q}.norm1.bias"] = _ln(src, f"{p}.attention.output.LayerNorm", where)
        enc[f"{q}.norm2.weight"], enc[f"{q}.norm2.bias"] = _ln(src, f"{p}.output.LayerNorm", where)
    if head != "mlm" and "pooler.dense.weight" in src:
        enc["pooler.weight"] = src["pooler.dense.weight"]
        enc["pooler.bias"] = _need(src, "pooler.dense.bias", where)
    if head == "none":
        return enc
    out = {f"encoder.{k}": v for k, v in enc.items()}
    if head == "classifier":
        if "classifier.weight" not in src:
            raise CheckpointError(
                f"{where}: no 'classifier.weight'; not a sequence-classification checkpoint "
                "(RoBERTa's two-layer classification head is not supported)"
            )
        out["classifier.weight"], out["classifier.bias"] = (
            src["classifier.weight"],
            _need(src, "classifier.bias", where),
        )
        return out
    if "cls.predictions.transform.dense.weight" in src:
        pre = "cls.predictions."
        dense, norm, bias = f"{pre}transform.dense", f"{pre}transform.LayerNorm", f"{pre}bias"
        decoder = f"{pre}decoder.weight"
    else:
        dense, norm, bias, decoder = "lm_head.dense", "lm_head.layer_norm", "lm_head.bias", "lm_head.decoder.weight"
    out["head_dense.weight"] = _need(src, f"{dense}.weight", where)
    out["head_dense.bias"] = _need(src, f"{dense}.bias", where)
    out["head_norm.weight"], out["head_norm.bias"] = _ln(src, norm, where)
    out["decoder.weight"] = src.get(decoder, enc["tok_emb.weight"])
    out["decoder.bias"] = _need(src, bias, where)
    return out


def convert_t5_state_dict(sd: StateDict, config: T5Config) -> dict[str, Tensor]:
    """Rename a Hugging Face ``T5ForConditionalGeneration`` / ``T5Model`` state dict to :class:`T5`'s keys.

    Raises:
        CheckpointError: a key is missing.
    """
    where = "t5 state dict"
    shared = _need(sd, "shared.weight", where)
    out: dict[str, Tensor] = {
        "shared.weight": shared,
        "encoder.embed.weight": shared,
        "decoder.embed.weight": shared,
        "lm_head.weight": sd.get("lm_head.weight", shared),
    }
    gated = config.feed_forward == "gated-gelu"
    n_dec = config.n_decoder_layers or config.n_layers
    for stack, n in (("encoder", config.n_layers), ("decoder", n_dec)):
        out[f"{stack}.rel_bias.weight"] = _need(
            sd, f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight", where
        )
        out[f"{stack}.norm_f.weight"] = _need(sd, f"{stack}.final_layer_norm.weight", where)
        for i in range(n):
            p, q = f"{stack}.block.{i}.layer", f"{stack}.layers.{i}"
            out[f"{q}.self_attn.qkv.weight"] = torch.cat(
                [_need(sd, f"{p}.0.SelfAttention.{n_}.weight", where) for n_ in ("q", "k", "v")]
            )
            out[f"{q}.self_attn.proj.weight"] = _need(sd, f"{p}.0.SelfAttention.o.weight", where)
            out[f"{q}.norm1.weight"] = _need(sd, f"{p}.0.layer_norm.weight", where)
            ff = 1
            if stack == "decoder":
                ff = 2
                out[f"{q}.cross_attn.q.weight"] = _need(sd, f"{p}.1.EncDecAttention.q.weight", where)
                out[f"{q}.cross_attn.kv.weight"] = torch.cat(
                    [_need(sd, f"{p}.1.EncDecAttention.{n_}.weight", where) for n_ in ("k", "v")]
                )
                out[f"{q}.cross_attn.proj.weight"] = _need(sd, f"{p}.1.EncDecAttention.o.weight", where)
                out[f"{q}.norm_cross.weight"] = _need(sd, f"{p}.1.layer_norm.weight", where)
            if gated:
                out[f"{q}.ff.fc1.weight"] = _need(sd, f"{p}.{ff}.DenseReluDense.wi_0.weight", where)
                out[f"{q}.ff.gate.weight"] = _need(sd, f"{p}.{ff}.DenseReluDense.wi_1.weight", where)
            else:
                out[f"{q}.ff.fc1.weight"] = _need(sd, f"{p}.{ff}.DenseReluDense.wi.weight", where)
            out[f"{q}.ff.fc2.weight"] = _need(sd, f"{p}.{ff}.DenseReluDense.wo.weight", where)
            out[f"{q}.norm2.weight"] = _need(sd, f"{p}.{ff}.layer_norm.weight", where)
    return out


def load_converted(model: nn.Module, state: Mapping[str, Tensor], *, where: str = "checkpoint") -> nn.Module:
    """Copy a converted state dict into ``model`` strictly (every key, every shape).

    Raises:
        CheckpointError: missing or unexpected keys, or a shape mismatch (naming the key and both shapes).
    """
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise CheckpointError(
            f"{where}: keys do not match the forge model: missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}"
        )
    for key, value in state.items():
        if own[key].shape != value.shape:
            raise CheckpointError(
                f"{where}: {key} has shape {tuple(value.shape)} in the checkpoint but {tuple(own[key].shape)} in "
                "the model; build the model from the checkpoint's config"
            )
    model.load_state_dict(dict(state), strict=True)
    return model


def load_safetensors(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """Read a local ``.safetensors`` file (e.g. a Hugging Face ``model.safetensors``) as a state dict.

    Raises:
        CheckpointError: the file is missing or not valid safetensors.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(os.fspath(path))
    except (OSError, SafetensorError) as exc:
        raise CheckpointError(f"{os.fspath(path)}: cannot read safetensors weights: {exc}") from exc


def from_hf(config: Mapping[str, Any], state_dict: StateDict, *, num_classes: int | None = None) -> nn.Module:
    """Build the forge model matching a Hugging Face checkpoint and load its weights.

    Args:
        config: The Hugging Face config (``config.json`` as a mapping); ``model_type`` picks the family
            (``gpt2``, ``bert``, ``roberta``, ``t5``).
        state_dict: The Hugging Face state dict.
        num_classes: For BERT/RoBERTa, build an :class:`EncoderClassifier` with this many classes
            (default: the checkpoint's ``num_labels`` when it has a ``classifier``, else an
            :class:`EncoderMLM`).

    Returns:
        The model, in eval mode.

    Raises:
        ConfigError: an unsupported ``model_type``.
        CheckpointError: the weights do not fit the config.
    """
    kind = str(config.get("model_type", ""))
    model: nn.Module
    if kind == "gpt2":
        model = GPT(gpt_config_from_hf(config))
        load_converted(model, convert_gpt2_state_dict(state_dict), where="gpt2")
    elif kind in ("bert", "roberta"):
        src = _strip(state_dict, ("bert.", "roberta."))
        if num_classes is None and "classifier.weight" in src:
            num_classes = int(src["classifier.weight"].shape[0])
        if num_classes is not None:
            cls_cfg = bert_config_from_hf(config, num_classes=num_classes)
            if not isinstance(cls_cfg, EncoderClassifierConfig):  # bert_config_from_hf's contract
                raise ConfigError(f"from_hf: {kind} config gave no classifier config")
            model = EncoderClassifier(cls_cfg)
            load_converted(model, convert_bert_state_dict(state_dict, head="classifier"), where=kind)
        else:
            model = EncoderMLM(bert_config_from_hf(config))
            load_converted(model, convert_bert_state_dict(state_dict, head="mlm"), where=kind)
    elif kind == "t5":
        t5_cfg = t5_config_from_hf(config)
        head, shared = state_dict.get("lm_head.weight"), state_dict.get("shared.weight")
        if head is not None and shared is not None and t5_cfg.tie_embeddings and not torch.equal(head, shared):
            t5_cfg = attrs.evolve(t5_cfg, tie_embeddings=False)  # the checkpoint's own LM head
        model = T5(t5_cfg)
        load_converted(model, convert_t5_state_dict(state_dict, t5_cfg), where="t5")
    else:
        raise ConfigError(f"from_hf: model_type {kind!r} is not supported (gpt2, bert, roberta, t5)")
    return model.eval()
