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


def _check_fractions(val: float, test: float) -> None:
    if val + test >= 1.0:
        raise ValueError(
            f"val_fraction, test_fraction: together they must leave rows for training (sum < 1), got {val} + {test}"
        )


DEFAULT_INLINE_BYTES = 512 * 1024
"""Up to this size a batch travelled faster through the pipe than through shared memory (2 and 16 cores)."""


@attrs.frozen
class LoaderConfig:
    """How batches are loaded; ``None`` means "forge picks a tuned default"."""

    batch_size: int = field(32, help="Samples per batch (per rank).", gt=0)
    num_workers: int | None = field(None, help="Worker processes; None picks min(4, CPU count).", ge=0)
    pin_memory: bool | None = field(None, help="Pin host memory; None pins when CUDA is available.")
    prefetch_factor: int | None = field(
        None, help="Batches each worker loads ahead; None gives 2 when workers > 0.", gt=0
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
    timeout: float = field(0.0, help="Seconds to wait for a batch from a worker (0 waits forever).", ge=0)
    multiprocessing_context: str | None = field(
        None,
        help="Worker start method ('fork', 'spawn', 'forkserver'); None uses torch's default.",
        one_of=("fork", "spawn", "forkserver"),
    )
    in_order: bool = field(True, help="Return batches in sampler order even when a worker is slow.")
    inline_batch_bytes: int = field(
        DEFAULT_INLINE_BYTES,
        help=(
            "Worker batches whose tensors total at most this many bytes travel through the worker's pipe"
            " instead of shared memory (much faster for small batches); 0 always uses shared memory."
        ),
        ge=0,
    )


@attrs.frozen
class SyntheticClassificationConfig:
    """A seeded Gaussian-blob classification dataset: needs no download, learnable in seconds."""

    num_samples: int = field(1024, help="Total samples across all splits.", gt=0)
    input_shape: tuple[int, ...] = field(
        (16,), help="Shape of one input, e.g. [16] or [1, 8, 8].", gt=0, non_empty=True
    )
    num_classes: int = field(4, help="Number of classes.", gt=0)
    imbalance: float = field(1.0, help="Ratio of the most to the least frequent class (1 is balanced).", ge=1)
    noise: float = field(1.0, help="Standard deviation of the noise around each class centre.", ge=0)
    val_fraction: float = field(0.1, help="Share of samples in the validation split.", ge=0, lt=1)
    test_fraction: float = field(0.1, help="Share of samples in the test split.", ge=0, lt=1)
    seed: int = field(0, help="Seed of the generator (the same seed gives the same data).", ge=0)

    def __attrs_post_init__(self) -> None:
        _check_fractions(self.val_fraction, self.test_fraction)


@attrs.frozen
class SineWaveConfig:
    """A seeded multi-channel noisy sine series, windowed for forecasting."""

    length: int = field(2000, help="Number of time steps.", gt=0)
    channels: int = field(2, help="Number of series (features).", gt=0)
    lookback: int = field(32, help="Input window length.", gt=0)
    horizon: int = field(8, help="Steps to forecast.", gt=0)
    stride: int = field(1, help="Steps between consecutive windows.", gt=0)
    noise: float = field(0.05, help="Standard deviation of added noise.", ge=0)
    val_fraction: float = field(0.15, help="Share of time steps (at the end) before test for validation.", ge=0, lt=1)
    test_fraction: float = field(0.15, help="Share of time steps at the very end for test.", ge=0, lt=1)
    normalize: bool = field(True, help="Standardize each channel with statistics of the train range only.")
    seed: int = field(0, help="Seed of the noise generator.", ge=0)

    def __attrs_post_init__(self) -> None:
        _check_fractions(self.val_fraction, self.test_fraction)


@attrs.frozen
class JsonlTextConfig:
    """Streaming text classification data from JSON Lines shards on disk."""

    train: list[str] = field(help="Train shard files or glob patterns (at least one).", non_empty=True)
    val: list[str] = field(factory=list, help="Validation shard files or glob patterns.")
    test: list[str] = field(factory=list, help="Test shard files or glob patterns.")
    text_key: str = field("text", help="JSON key of the text.", non_empty=True)
    label_key: str | None = field(
        "label", help="JSON key of the integer label, or None for unlabelled text.", non_empty=True
    )
    num_classes: int | None = field(
        None, help="Number of classes, if known; labels are then checked to lie in [0, num_classes).", gt=0
    )
    shuffle_buffer: int = field(1024, help="Bounded shuffle buffer size for the train split (0 disables).", ge=0)
    encoding_errors: str = field(
        "strict",
        help="UTF-8 decode error policy: strict, replace, ignore or backslashreplace.",
        one_of=("strict", "replace", "ignore", "backslashreplace"),
    )
    normalize: str | None = field(
        "NFC", help="Unicode normalization form applied to text, or None.", one_of=("NFC", "NFD", "NFKC", "NFKD")
    )
    scrub_pii: bool = field(False, help="Replace e-mails, phones, IPs and card numbers with placeholders.")
    seed: int = field(0, help="Seed for shard order and the shuffle buffer.", ge=0)
    name: str = field("jsonl_text", help="Dataset name recorded in lineage.", non_empty=True)
    license: str = field("unknown", help="Licence of the data, recorded in lineage.", non_empty=True)


@attrs.frozen
class TabularConfig:
    """A CSV or Parquet table turned into tensors with declared column types."""

    path: str = field(help="CSV (.csv) or Parquet (.parquet) file.", non_empty=True)
    target: str = field(help="Name of the target column.", non_empty=True)
    numeric: list[str] = field(factory=list, help="Numeric feature columns (standardized on train only).")
    categorical: list[str] = field(factory=list, help="Categorical feature columns (vocab fitted on train only).")
    task: str = field(
        "tabular-classification",
        help="tabular-classification or tabular-regression.",
        one_of=("tabular-classification", "tabular-regression"),
    )
    categorical_encoding: str = field(
        "onehot", help="onehot (one float tensor) or index (dict of tensors).", one_of=("onehot", "index")
    )
    val_fraction: float = field(0.1, help="Share of rows in the validation split.", ge=0, lt=1)
    test_fraction: float = field(0.1, help="Share of rows in the test split.", ge=0, lt=1)
    seed: int = field(0, help="Seed of the row shuffle before splitting.", ge=0)
    license: str = field("unknown", help="Licence of the data, recorded in lineage.", non_empty=True)
    encoding: str = field(
        "utf-8", help="Text encoding of a CSV file, e.g. 'latin-1' or 'cp1252' (Python codec names).", non_empty=True
    )

    def __attrs_post_init__(self) -> None:
        _check_fractions(self.val_fraction, self.test_fraction)
        if not (self.numeric or self.categorical):
            raise ValueError("numeric, categorical: expected at least one feature column, got none")
        if self.target in (*self.numeric, *self.categorical):
            raise ValueError(f"target: {self.target!r} is also listed as a feature column")


@attrs.frozen
class PIIScrubConfig:
    """Which kinds of personal data the scrubber replaces."""

    kinds: list[str] = field(
        factory=lambda: ["email", "ip", "card", "phone"],
        help="Kinds to scrub: email, ip, card, phone.",
        one_of=("email", "ip", "card", "phone"),
    )


@attrs.frozen
class NormalizeTextConfig:
    """Unicode normalization of text."""

    form: str = field(
        "NFC", help="Unicode normalization form: NFC, NFD, NFKC or NFKD.", one_of=("NFC", "NFD", "NFKC", "NFKD")
    )


@attrs.frozen
class NormalizeConfig:
    """Per-channel standardization ``(x - mean) / std`` of a tensor whose first dim is the channel."""

    mean: list[float] = field(help="Per-channel means.", non_empty=True)
    std: list[float] = field(help="Per-channel standard deviations (all > 0).", gt=0, non_empty=True)

    def __attrs_post_init__(self) -> None:
        if len(self.mean) != len(self.std):
            raise ValueError(f"mean, std: expected one of each per channel, got {len(self.mean)} and {len(self.std)}")


@attrs.frozen
class RandomCropConfig:
    """Random crop of the last two dims after zero padding."""

    size: list[int] = field(help="Output [height, width].", gt=0, non_empty=True)
    padding: int = field(0, help="Zero padding added to each side before cropping.", ge=0)

    def __attrs_post_init__(self) -> None:
        if len(self.size) != 2:
            raise ValueError(f"size: expected [height, width], got {self.size!r}")


@attrs.frozen
class RandomHorizontalFlipConfig:
    """Flip the last dim with probability p."""

    p: float = field(0.5, help="Flip probability.", ge=0, le=1)


@attrs.frozen
class ComposeConfig:
    """A sequence of transforms, each as ``{"name": ..., "params": {...}}``."""

    transforms: list[dict[str, Any]] = field(factory=list, help="The transforms, applied in order.")
