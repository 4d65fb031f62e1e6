"""Config classes of the text datasets (no torch import)."""

from __future__ import annotations

from typing import Any, Literal

import attrs

from forge.core.config import field

__all__ = [
    "TOKENIZER_KINDS",
    "TextBlocksConfig",
    "TextClassificationConfig",
    "TextStreamConfig",
    "StdlibTextConfig",
]


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


TokenizerKind = Literal["bpe", "wordpiece", "char", "byte"]
TOKENIZER_KINDS = ("bpe", "wordpiece", "char", "byte")
"""Tokenizers a text dataset can learn (or, for byte, simply use)."""


def _files(instance: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    if not value:
        raise ValueError(f"{attribute.name} must name at least one file or glob pattern")


@attrs.frozen
class _TokenizerFields:
    """How a text dataset turns text into ids."""

    tokenizer: TokenizerKind = field(
        "bpe", help="'bpe' (byte-level, lossless), 'wordpiece' (lowercased), 'char' or 'byte' (no training)."
    )
    vocab_size: int = field(
        1000, help="Largest vocabulary to learn, special tokens included (a model's vocab_size of at least this fits).",
        validator=_positive,
    )
    min_frequency: int = field(2, help="Fewest occurrences a learned symbol or merge needs.", validator=_positive)
    tokenizer_dir: str | None = field(
        None, help="Load this saved tokenizer (a folder written by save()) instead of learning one."
    )
    save_tokenizer: str | None = field(
        None, help="Save the tokenizer into this folder after building it (serve it beside the model)."
    )


@attrs.frozen(kw_only=True)
class TextClassificationConfig(_TokenizerFields):
    """Labelled texts from a CSV, JSONL or tab-separated lines file.

    Formats: ``csv`` (a header row naming the columns), ``jsonl`` (one object per line), ``lines``
    (``label<TAB>text`` per line). Labels are class indices ``0..num_classes-1``, or names listed in
    ``label_names`` (whose order gives the indices). The tokenizer is learned on the training split
    only. Samples are ``(input_ids, label)``: ``bos`` starts every text, so a model can pool the
    first position.
    """

    path: str = field(
        help="The training file (or the whole data set when val_path/test_path are not given); "
        "'package.module:file' names a file shipped inside a package."
    )
    format: Literal["auto", "csv", "jsonl", "lines"] = field(
        "auto", help="File format; 'auto' picks by suffix (.csv, .jsonl/.json, otherwise lines)."
    )
    text_field: str = field("text", help="Column (CSV) or key (JSONL) of the text.")
    label_field: str = field("label", help="Column (CSV) or key (JSONL) of the label.")
    label_names: tuple[str, ...] = field(
        (), help="Class names in index order; labels in the file are then these names. Empty: integer labels."
    )
    num_classes: int | None = field(
        None, help="Number of classes for integer labels (None: one more than the largest label seen).",
        validator=_positive,
    )
    val_path: str | None = field(None, help="A separate validation file (None: split val_fraction off path).")
    test_path: str | None = field(None, help="A separate test file (None: split test_fraction off path).")
    val_fraction: float = field(0.1, help="Share of path's rows held out for validation (without val_path).",
                                validator=_fraction)
    test_fraction: float = field(0.1, help="Share of path's rows held out for testing (without test_path).",
                                 validator=_fraction)
    seed: int = field(0, help="Seed of the row shuffle that assigns splits.")
    max_length: int = field(128, help="Most ids per sample, bos and eos included; longer texts are cut.",
                            validator=_positive)
    pad_to_max_length: bool = field(
        True,
        help="Pad every sample to max_length, so the default collate and training loop work; false keeps "
        "variable lengths for forge.nlp.collate.PadCollator.",
    )

    def __attrs_post_init__(self) -> None:
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError(
                f"val_fraction + test_fraction must be < 1, got {self.val_fraction} + {self.test_fraction}"
            )
        if len(set(self.label_names)) != len(self.label_names):
            raise ValueError("label_names must be distinct")
        if self.label_names and self.num_classes is not None and self.num_classes != len(self.label_names):
            raise ValueError(f"num_classes {self.num_classes} disagrees with {len(self.label_names)} label_names")
        if self.max_length < 3:
            raise ValueError(f"max_length must be >= 3 (bos, one token, eos), got {self.max_length}")


@attrs.frozen(kw_only=True)
class TextBlocksConfig(_TokenizerFields):
    """Plain UTF-8 text files tokenized and packed into fixed-length language-modelling blocks.

    Every file's ids are followed by eos and concatenated in file order; the stream is cut into
    train, val and test in that order (the last ``test_fraction`` of ids is the test split). Sample
    ``i`` is ``(x, y)``: the ``block_size`` ids starting at ``i * stride`` and the same one id later.
    """

    files: tuple[str, ...] = field(help="Text files or glob patterns ('**' recurses).", validator=_files)
    block_size: int = field(128, help="Ids per sample.", validator=_positive)
    stride: int | None = field(None, help="Ids between sample starts (None: block_size, no overlap).",
                               validator=_positive)
    val_fraction: float = field(0.1, help="Share of the id stream held out for validation.", validator=_fraction)
    test_fraction: float = field(0.0, help="Share of the id stream held out for testing.", validator=_fraction)

    def __attrs_post_init__(self) -> None:
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError(
                f"val_fraction + test_fraction must be < 1, got {self.val_fraction} + {self.test_fraction}"
            )


@attrs.frozen(kw_only=True)
class TextStreamConfig(_TokenizerFields):
    """A streamed corpus of many text files: every non-empty line is a document.

    Files are read lazily; records are dealt to distributed ranks and DataLoader workers without
    overlap and the order is fixed by ``seed`` (shard order per epoch, bounded shuffle buffer). The
    tokenizer is learned from the first ``tokenizer_sample_lines`` lines. Samples are
    ``(x, y)`` of ``max_length - 1`` ids: the document (bos ... eos) padded with the pad id, and the
    next-token targets with -100 on padding.
    """

    files: tuple[str, ...] = field(help="Text files or glob patterns ('**' recurses).", validator=_files)
    max_length: int = field(128, help="Ids per document, bos and eos included (longer ones are cut).",
                            validator=_positive)
    shuffle_files: bool = field(True, help="Permute the file order each epoch (from seed and epoch).")
    shuffle_buffer: int = field(1024, help="Bounded shuffle buffer per worker (0: file order).")
    seed: int = field(0, help="Seed of the file order and the shuffle buffer.")
    tokenizer_sample_lines: int = field(100_000, help="Lines read to learn the tokenizer.", validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.max_length < 3:
            raise ValueError(f"max_length must be >= 3 (bos, one token, eos), got {self.max_length}")
