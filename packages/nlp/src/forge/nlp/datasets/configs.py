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


def _check_fractions(val: float, test: float) -> None:
    if val + test >= 1.0:
        raise ValueError(
            f"val_fraction, test_fraction: expected a sum < 1 (data left for training), got {val} + {test}"
        )


def _distinct(instance: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    if len(set(value)) != len(value):
        raise ValueError(f"{attribute.name}: expected distinct names, got {list(value)!r}")


@attrs.frozen
class StdlibTextConfig:
    """Python's standard-library source files as a byte-level language-modelling corpus.

    Files are chosen and assigned to splits by a seeded hash of their relative path, so the same
    Python installation and config always give the same data; whole files go to one split.
    """

    seq_len: int = field(256, help="Bytes per sample; the target is the input shifted by one byte.", ge=1)
    stride: int | None = field(
        None, help="Bytes between the starts of consecutive samples (None: seq_len, no overlap).", ge=1
    )
    max_files: int = field(48, help="How many files to read (chosen by seeded hash of their path).", ge=1)
    max_file_bytes: int = field(
        200_000, help="Skip files larger than this many bytes, so no single file dominates.", ge=1
    )
    pattern: str = field(
        "*.py", help="Glob of the files to read, relative to root (non-recursive unless '**/').", non_empty=True
    )
    val_fraction: float = field(0.1, help="Share of the files held out for validation.", ge=0, lt=1)
    test_fraction: float = field(0.1, help="Share of the files held out for testing.", ge=0, lt=1)
    seed: int = field(0, help="Seed of the file selection and split assignment.", ge=0)
    root: str | None = field(
        None, help="Folder to read instead of the standard library (None: sysconfig's 'stdlib' path).", non_empty=True
    )

    def __attrs_post_init__(self) -> None:
        _check_fractions(self.val_fraction, self.test_fraction)


TokenizerKind = Literal["bpe", "wordpiece", "char", "byte"]
TOKENIZER_KINDS = ("bpe", "wordpiece", "char", "byte")
"""Tokenizers a text dataset can learn (or, for byte, simply use)."""


@attrs.frozen
class _TokenizerFields:
    """How a text dataset turns text into ids."""

    tokenizer: TokenizerKind = field(
        "bpe",
        help="'bpe' (byte-level, lossless), 'wordpiece' (lowercased), 'char' or 'byte' (no training).",
        one_of=TOKENIZER_KINDS,
    )
    vocab_size: int = field(
        1000,
        help="Largest vocabulary to learn, special tokens included (a model's vocab_size of at least this fits).",
        ge=1,
    )
    min_frequency: int = field(2, help="Fewest occurrences a learned symbol or merge needs.", ge=1)
    tokenizer_dir: str | None = field(
        None, help="Load this saved tokenizer (a folder written by save()) instead of learning one.", non_empty=True
    )
    save_tokenizer: str | None = field(
        None,
        help="Save the tokenizer into this folder after building it (serve it beside the model).",
        non_empty=True,
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
        "'package.module:file' names a file shipped inside a package.",
        non_empty=True,
    )
    format: Literal["auto", "csv", "jsonl", "lines"] = field(
        "auto",
        help="File format; 'auto' picks by suffix (.csv, .jsonl/.json, otherwise lines).",
        one_of=("auto", "csv", "jsonl", "lines"),
    )
    text_field: str = field("text", help="Column (CSV) or key (JSONL) of the text.", non_empty=True)
    label_field: str = field("label", help="Column (CSV) or key (JSONL) of the label.", non_empty=True)
    label_names: tuple[str, ...] = field(
        (),
        help="Class names in index order; labels in the file are then these names. Empty: integer labels.",
        validator=_distinct,
    )
    num_classes: int | None = field(
        None,
        help="Number of classes for integer labels (None: one more than the largest label seen).",
        ge=1,
    )
    val_path: str | None = field(
        None, help="A separate validation file (None: split val_fraction off path).", non_empty=True
    )
    test_path: str | None = field(
        None, help="A separate test file (None: split test_fraction off path).", non_empty=True
    )
    val_fraction: float = field(
        0.1, help="Share of path's rows held out for validation (without val_path).", ge=0, lt=1
    )
    test_fraction: float = field(0.1, help="Share of path's rows held out for testing (without test_path).", ge=0, lt=1)
    seed: int = field(0, help="Seed of the row shuffle that assigns splits.", ge=0)
    max_length: int = field(
        128, help="Most ids per sample, bos and eos included (so at least 3); longer texts are cut.", ge=3
    )
    pad_to_max_length: bool = field(
        True,
        help="Pad every sample to max_length, so the default collate and training loop work; false keeps "
        "variable lengths for forge.nlp.collate.PadCollator.",
    )

    def __attrs_post_init__(self) -> None:
        _check_fractions(self.val_fraction, self.test_fraction)
        if self.label_names and self.num_classes is not None and self.num_classes != len(self.label_names):
            raise ValueError(
                f"num_classes, label_names: num_classes {self.num_classes} disagrees with the "
                f"{len(self.label_names)} label_names {list(self.label_names)!r}"
            )


@attrs.frozen(kw_only=True)
class TextBlocksConfig(_TokenizerFields):
    """Plain UTF-8 text files tokenized and packed into fixed-length language-modelling blocks.

    Every file's ids are followed by eos and concatenated in file order; the stream is cut into
    train, val and test in that order (the last ``test_fraction`` of ids is the test split). Sample
    ``i`` is ``(x, y)``: the ``block_size`` ids starting at ``i * stride`` and the same one id later.
    """

    files: tuple[str, ...] = field(help="Text files or glob patterns ('**' recurses).", non_empty=True)
    block_size: int = field(128, help="Ids per sample.", ge=1)
    stride: int | None = field(None, help="Ids between sample starts (None: block_size, no overlap).", ge=1)
    val_fraction: float = field(0.1, help="Share of the id stream held out for validation.", ge=0, lt=1)
    test_fraction: float = field(0.0, help="Share of the id stream held out for testing.", ge=0, lt=1)

    def __attrs_post_init__(self) -> None:
        _check_fractions(self.val_fraction, self.test_fraction)


@attrs.frozen(kw_only=True)
class TextStreamConfig(_TokenizerFields):
    """A streamed corpus of many text files: every non-empty line is a document.

    Files are read lazily; records are dealt to distributed ranks and DataLoader workers without
    overlap and the order is fixed by ``seed`` (shard order per epoch, bounded shuffle buffer). The
    tokenizer is learned from the first ``tokenizer_sample_lines`` lines. Samples are
    ``(x, y)`` of ``max_length - 1`` ids: the document (bos ... eos) padded with the pad id, and the
    next-token targets with -100 on padding.
    """

    files: tuple[str, ...] = field(help="Text files or glob patterns ('**' recurses).", non_empty=True)
    max_length: int = field(
        128, help="Ids per document, bos and eos included (so at least 3); longer ones are cut.", ge=3
    )
    shuffle_files: bool = field(True, help="Permute the file order each epoch (from seed and epoch).")
    shuffle_buffer: int = field(1024, help="Bounded shuffle buffer per worker (0: file order).", ge=0)
    seed: int = field(0, help="Seed of the file order and the shuffle buffer.", ge=0)
    tokenizer_sample_lines: int = field(100_000, help="Lines read to learn the tokenizer.", ge=1)
