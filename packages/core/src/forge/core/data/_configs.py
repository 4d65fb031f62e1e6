"""Config classes for the data loader, core's datasets and core's transforms.

Light on purpose (attrs only, no torch): ``forge list`` and ``forge info`` read these classes.
"""

from __future__ import annotations

from typing import Any

import attrs

from forge.core.config import field

__all__ = [
    "ComposeConfig",
    "JsonlTextConfig",
    "LoaderConfig",
    "NormalizeConfig",
    "NormalizeTextConfig",
    "PIIScrubConfig",
    "RandomCropConfig",
    "RandomHorizontalFlipConfig",
    "SineWaveConfig",
    "SyntheticClassificationConfig",
    "TabularConfig",
]


def _positive(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _non_negative(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def _fraction(_inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{attribute.name} must be in [0, 1), got {value!r}")


DEFAULT_INLINE_BYTES = 512 * 1024
"""Up to this size a batch travelled faster through the pipe than through shared memory (2 and 16 cores)."""


@attrs.frozen
class LoaderConfig:
    """How batches are loaded; ``None`` means "forge picks a tuned default"."""

    batch_size: int = field(32, help="Samples per batch (per rank).", validator=_positive)
    num_workers: int | None = field(
        None, help="Worker processes; None picks min(4, CPU count).", validator=_non_negative
    )
    pin_memory: bool | None = field(None, help="Pin host memory; None pins when CUDA is available.")
    prefetch_factor: int | None = field(
        None, help="Batches each worker loads ahead; None gives 2 when workers > 0.", validator=_positive
    )
    persistent_workers: bool | None = field(
        None,
        help=(
            "Keep workers alive across epochs; None enables it with workers > 0, except for iterable"
            " datasets that are not forge streams (ShardedIterableDataset)."
        ),
    )
    shuffle: bool = field(True, help="Shuffle map-style data each epoch (from seed + epoch).")
    drop_last: bool = field(False, help="Drop the last incomplete batch.")
    timeout: float = field(0.0, help="Seconds to wait for a batch from a worker (0 waits forever).")
    multiprocessing_context: str | None = field(
        None, help="Worker start method ('fork', 'spawn', 'forkserver'); None uses torch's default."
    )
    in_order: bool = field(True, help="Return batches in sampler order even when a worker is slow.")
    inline_batch_bytes: int = field(
        DEFAULT_INLINE_BYTES,
        help=(
            "Worker batches whose tensors total at most this many bytes travel through the worker's pipe"
            " instead of shared memory (much faster for small batches); 0 always uses shared memory."
        ),
        validator=_non_negative,
    )


@attrs.frozen
class SyntheticClassificationConfig:
    """A seeded Gaussian-blob classification dataset: needs no download, learnable in seconds."""

    num_samples: int = field(1024, help="Total samples across all splits.", validator=_positive)
    input_shape: tuple[int, ...] = field((16,), help="Shape of one input, e.g. [16] or [1, 8, 8].")
    num_classes: int = field(4, help="Number of classes.", validator=_positive)
    imbalance: float = field(
        1.0, help="Ratio of the most to the least frequent class (1 is balanced).", validator=_positive
    )
    noise: float = field(1.0, help="Standard deviation of the noise around each class centre.")
    val_fraction: float = field(0.1, help="Share of samples in the validation split.", validator=_fraction)
    test_fraction: float = field(0.1, help="Share of samples in the test split.", validator=_fraction)
    seed: int = field(0, help="Seed of the generator (the same seed gives the same data).")


@attrs.frozen
class SineWaveConfig:
    """A seeded multi-channel noisy sine series, windowed for forecasting."""

    length: int = field(2000, help="Number of time steps.", validator=_positive)
    channels: int = field(2, help="Number of series (features).", validator=_positive)
    lookback: int = field(32, help="Input window length.", validator=_positive)
    horizon: int = field(8, help="Steps to forecast.", validator=_positive)
    stride: int = field(1, help="Steps between consecutive windows.", validator=_positive)
    noise: float = field(0.05, help="Standard deviation of added noise.")
    val_fraction: float = field(
        0.15, help="Share of time steps (at the end) before test for validation.", validator=_fraction
    )
    test_fraction: float = field(0.15, help="Share of time steps at the very end for test.", validator=_fraction)
    normalize: bool = field(True, help="Standardize each channel with statistics of the train range only.")
    seed: int = field(0, help="Seed of the noise generator.")


@attrs.frozen
class JsonlTextConfig:
    """Streaming text classification data from JSON Lines shards on disk."""

    train: list[str] = field(help="Train shard files or glob patterns (at least one).")
    val: list[str] = field(factory=list, help="Validation shard files or glob patterns.")
    test: list[str] = field(factory=list, help="Test shard files or glob patterns.")
    text_key: str = field("text", help="JSON key of the text.")
    label_key: str | None = field("label", help="JSON key of the integer label, or None for unlabelled text.")
    num_classes: int | None = field(None, help="Number of classes, if known.")
    shuffle_buffer: int = field(1024, help="Bounded shuffle buffer size for the train split (0 disables).")
    encoding_errors: str = field("strict", help="UTF-8 decode error policy: strict, replace or ignore.")
    normalize: str | None = field("NFC", help="Unicode normalization form applied to text, or None.")
    scrub_pii: bool = field(False, help="Replace e-mails, phones, IPs and card numbers with placeholders.")
    seed: int = field(0, help="Seed for shard order and the shuffle buffer.")
    name: str = field("jsonl_text", help="Dataset name recorded in lineage.")
    license: str = field("unknown", help="Licence of the data, recorded in lineage.")


@attrs.frozen
class TabularConfig:
    """A CSV or Parquet table turned into tensors with declared column types."""

    path: str = field(help="CSV (.csv) or Parquet (.parquet) file.")
    target: str = field(help="Name of the target column.")
    numeric: list[str] = field(factory=list, help="Numeric feature columns (standardized on train only).")
    categorical: list[str] = field(factory=list, help="Categorical feature columns (vocab fitted on train only).")
    task: str = field("tabular-classification", help="tabular-classification or tabular-regression.")
    categorical_encoding: str = field("onehot", help="onehot (one float tensor) or index (dict of tensors).")
    val_fraction: float = field(0.1, help="Share of rows in the validation split.", validator=_fraction)
    test_fraction: float = field(0.1, help="Share of rows in the test split.", validator=_fraction)
    seed: int = field(0, help="Seed of the row shuffle before splitting.")
    license: str = field("unknown", help="Licence of the data, recorded in lineage.")


@attrs.frozen
class PIIScrubConfig:
    """Which kinds of personal data the scrubber replaces."""

    kinds: list[str] = field(
        factory=lambda: ["email", "ip", "card", "phone"], help="Kinds to scrub: email, ip, card, phone."
    )


@attrs.frozen
class NormalizeTextConfig:
    """Unicode normalization of text."""

    form: str = field("NFC", help="Unicode normalization form: NFC, NFD, NFKC or NFKD.")


@attrs.frozen
class NormalizeConfig:
    """Per-channel standardization ``(x - mean) / std`` of a tensor whose first dim is the channel."""

    mean: list[float] = field(help="Per-channel means.")
    std: list[float] = field(help="Per-channel standard deviations (all > 0).")


@attrs.frozen
class RandomCropConfig:
    """Random crop of the last two dims after zero padding."""

    size: list[int] = field(help="Output [height, width].")
    padding: int = field(0, help="Zero padding added to each side before cropping.", validator=_non_negative)


@attrs.frozen
class RandomHorizontalFlipConfig:
    """Flip the last dim with probability p."""

    p: float = field(0.5, help="Flip probability.")


@attrs.frozen
class ComposeConfig:
    """A sequence of transforms, each as ``{"name": ..., "params": {...}}``."""

    transforms: list[dict[str, Any]] = field(factory=list, help="The transforms, applied in order.")
