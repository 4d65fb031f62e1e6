"""Core's data components for the registry: LIGHT, imports nothing but typing.

The lead's core plugin module calls these from its ``forge_register_datasets`` and
``forge_register_transforms`` hooks. Builders and configs are ``"module:attr"`` strings, so
listing them never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from forge.core.hookspecs import Register

__all__ = ["register_datasets", "register_transforms"]

_CONFIGS = "forge.core.data._configs"


def register_datasets(register: Register) -> None:
    """Register core's generic datasets through a ``forge_register_datasets`` ``register`` callback."""
    register(
        "synthetic_classification",
        builder="forge.core.data._synthetic:build_synthetic_classification",
        config=f"{_CONFIGS}:SyntheticClassificationConfig",
        summary="Seeded Gaussian-blob classification data (optionally imbalanced); no download",
        tags=("classification", "synthetic", "map-style"),
    )
    register(
        "sine_wave",
        builder="forge.core.data._timeseries:build_sine_wave",
        config=f"{_CONFIGS}:SineWaveConfig",
        summary="Seeded noisy multi-channel sine series, windowed (lookback/horizon/stride), split in time",
        tags=("forecasting", "time-series", "synthetic", "map-style"),
    )
    register(
        "jsonl_text",
        builder="forge.core.data._streaming:build_jsonl_text",
        config=f"{_CONFIGS}:JsonlTextConfig",
        summary="Streaming text from JSON Lines shards: sharded, shuffle buffer, NFC, optional PII scrub",
        tags=("text-classification", "streaming", "iterable"),
    )
    register(
        "tabular",
        builder="forge.core.data._tabular:build_tabular",
        config=f"{_CONFIGS}:TabularConfig",
        summary="CSV/Parquet table with declared column types; encoding and scaling fitted on train only",
        tags=("tabular-classification", "tabular-regression", "tabular", "map-style"),
    )


def register_transforms(register: Register) -> None:
    """Register core's transforms through a ``forge_register_transforms`` ``register`` callback."""
    register(
        "compose",
        builder="forge.core.data._compose:build_compose",
        config=f"{_CONFIGS}:ComposeConfig",
        summary="Apply transforms in order; serializes as the list of their configs",
        tags=("generic",),
    )
    register(
        "pii_scrub",
        builder="forge.core.data._pii:PIIScrubber",
        config=f"{_CONFIGS}:PIIScrubConfig",
        summary="Replace e-mails, phones, IPs and Luhn-valid card numbers with <EMAIL>/<PHONE>/<IP>/<CARD>",
        tags=("text", "privacy"),
    )
    register(
        "normalize_text",
        builder="forge.core.data._text:NormalizeText",
        config=f"{_CONFIGS}:NormalizeTextConfig",
        summary="Unicode normalization (NFC by default) of text samples",
        tags=("text",),
    )
    register(
        "normalize",
        builder="forge.core.data._tensor_transforms:Normalize",
        config=f"{_CONFIGS}:NormalizeConfig",
        summary="Per-channel (x - mean) / std of a [C, ...] tensor",
        tags=("tensor", "image"),
    )
    register(
        "random_crop",
        builder="forge.core.data._tensor_transforms:RandomCrop",
        config=f"{_CONFIGS}:RandomCropConfig",
        summary="Zero-pad then randomly crop the last two dims",
        tags=("tensor", "image", "augmentation"),
    )
    register(
        "random_hflip",
        builder="forge.core.data._tensor_transforms:RandomHorizontalFlip",
        config=f"{_CONFIGS}:RandomHorizontalFlipConfig",
        summary="Flip the last dim with probability p",
        tags=("tensor", "image", "augmentation"),
    )
