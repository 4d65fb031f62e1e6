"""Config classes of the text datasets (no torch import)."""

from __future__ import annotations

from typing import Any

import attrs

from forge.core.config import field

__all__ = ["StdlibTextConfig"]


def _fraction(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{attribute.name} must lie in [0, 1), got {value!r}")


def _positive(instance: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value!r}")


@attrs.frozen
class StdlibTextConfig:
    """Python's standard-library source files as a byte-level language-modelling corpus.

    Files are chosen and assigned to splits by a seeded hash of their relative path, so the same
    Python installation and config always give the same data; whole files go to one split.
    """

    seq_len: int = field(
        256, help="Bytes per sample; the target is the input shifted by one byte.", validator=_positive
    )
    stride: int | None = field(
        None, help="Bytes between the starts of consecutive samples (None: seq_len, no overlap).", validator=_positive
    )
    max_files: int = field(
        48, help="How many files to read (chosen by seeded hash of their path).", validator=_positive
    )
    max_file_bytes: int = field(
        200_000, help="Skip files larger than this many bytes, so no single file dominates.", validator=_positive
    )
    pattern: str = field("*.py", help="Glob of the files to read, relative to root (non-recursive unless '**/').")
    val_fraction: float = field(0.1, help="Share of the files held out for validation.", validator=_fraction)
    test_fraction: float = field(0.1, help="Share of the files held out for testing.", validator=_fraction)
    seed: int = field(0, help="Seed of the file selection and split assignment.")
    root: str | None = field(
        None, help="Folder to read instead of the standard library (None: sysconfig's 'stdlib' path)."
    )

    def __attrs_post_init__(self) -> None:
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError(
                f"val_fraction + test_fraction must be < 1, got {self.val_fraction} + {self.test_fraction}"
            )
