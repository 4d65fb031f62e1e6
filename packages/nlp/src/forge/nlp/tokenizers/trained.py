"""Byte-level BPE and WordPiece tokenizers learned from your own text (Hugging Face ``tokenizers``).

Both learn their vocabulary from files or any iterator of strings, in Rust, and save as a standard
``tokenizer.json`` (loadable by ``tokenizers.Tokenizer.from_file`` too) beside forge's
``forge_tokenizer.json`` manifest.

- :class:`BPETokenizer` is byte-level (GPT-2 style): text is split into UTF-8 bytes shown as 256
  printable symbols and merged; no normalization, no unknown token, so it is **lossless** for every
  string UTF-8 can encode.
- :class:`WordPieceTokenizer` is BERT style: text is cleaned, optionally lowercased and stripped of
  accents, split on whitespace and punctuation, then into ``##``-continued pieces. It is **lossy**:
  decoding gives the normalized words joined by single spaces.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

from forge.core.config import structure, unstructure
from forge.core.data import Transform, config_from_args
from forge.core.errors import DataError
from forge.nlp.tokenizers.base import (
    MANIFEST,
    check_text,
    encode_sample,
    expand_text_files,
    iter_file_lines,
    pad_rows,
    read_manifest,
    write_manifest,
)
from forge.nlp.tokenizers.configs import BPEOptions, BPETokenizerConfig, WordPieceOptions, WordPieceTokenizerConfig

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from torch import Tensor

__all__ = ["BPETokenizer", "HF_FILE", "WordPieceTokenizer"]

HF_FILE = "tokenizer.json"
"""File name of the Hugging Face tokenizer a learned tokenizer's ``save`` writes."""

_Self = TypeVar("_Self", bound="_LearnedTokenizer")


class _LearnedTokenizer(Transform):
    """Shared code of the ``tokenizers``-backed tokenizers."""

    name: ClassVar[str]
    options_class: ClassVar[type[Any]]
    config_class: ClassVar[type[Any]]

    def __init__(self, config: Any = None, /, **params: Any) -> None:
        self.config = config_from_args(self.name, self.config_class, config, params)
        files = expand_text_files(self.config.files, self.name)
        # fed line by line from Python rather than tokenizers' own file reader, which skips invalid
        # UTF-8 silently: a bad file is named with its line instead
        lines = iter_file_lines(files, self.name)
        self._setup(self._train(self.config, lambda trainer, tok: tok.train_from_iterator(lines, trainer=trainer)))

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def train_from_texts(cls: type[_Self], texts: Iterable[str], /, **options: Any) -> _Self:
        """Learn a tokenizer from an iterator of strings.

        Args:
            texts: The training text, one string per document or line.
            **options: Fields of the options class (``vocab_size``, ``min_frequency``, special tokens...).

        Returns:
            The trained tokenizer.

        Raises:
            ConfigError: An option is unknown or invalid.
            DataError: A text is not a string or holds a lone surrogate (names its index).
        """
        opts = config_from_args(cls.name, cls.options_class, None, options)

        def checked() -> Iterable[str]:
            for i, text in enumerate(texts):
                yield check_text(text, f"{cls.name}: training text {i}")

        self = cls.__new__(cls)
        self.config = opts
        self._setup(self._train(opts, lambda trainer, tok: tok.train_from_iterator(checked(), trainer=trainer)))
        return self

    @classmethod
    def load(cls: type[_Self], directory: str | os.PathLike[str]) -> _Self:
        """Load a tokenizer written by :meth:`save`.

        Raises:
            DataError: The folder holds no such tokenizer or a file is malformed.
        """
        from tokenizers import Tokenizer

        name, params = read_manifest(directory)
        if name != cls.name:
            raise DataError(f"{directory}/{MANIFEST}: holds a {name}, not a {cls.name}")
        opts = structure(params, cls.options_class, where=f"{directory}/{MANIFEST}")
        try:
            tok = Tokenizer.from_file(str(Path(directory) / HF_FILE))
        except Exception as exc:  # tokenizers raises its own Exception subclass for every failure
            raise DataError(f"{Path(directory) / HF_FILE}: cannot load the tokenizer: {exc}") from None
        self = cls.__new__(cls)
        self.config = opts
        self._setup(tok)
        return self

    @classmethod
    def _build(cls, opts: Any) -> Tokenizer:
        raise NotImplementedError

    @classmethod
    def _trainer(cls, opts: Any) -> Any:
        raise NotImplementedError

    def _train(self, opts: Any, run: Any) -> Tokenizer:
        tok = self._build(opts)
        try:
            run(self._trainer(opts), tok)
        except DataError:
            raise
        except Exception as exc:
            raise DataError(f"{self.name}: training failed: {exc}") from None
        return tok

    def _setup(self, tok: Tokenizer) -> None:
        opts = self.config
        tok.encode_special_tokens = not opts.parse_special
        self._tok = tok
        self._special_ids: dict[str, int] = {}
        for token in opts.special_tokens:
            tid = tok.token_to_id(token)
            if tid is None:
                raise DataError(f"{self.name}: special token {token!r} is missing from the vocabulary")
            self._special_ids[token] = tid
        self._all_special = frozenset(self._special_ids.values())

    # -- vocabulary ----------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """Number of distinct ids, special tokens included."""
        size: int = self._tok.get_vocab_size(with_added_tokens=True)
        return size

    @property
    def pad_id(self) -> int:
        """Id of the padding token."""
        return self._special_ids[self.config.pad_token]

    @property
    def bos_id(self) -> int:
        """Id of the beginning-of-sequence token."""
        return self._special_ids[self.config.bos_token]

    @property
    def eos_id(self) -> int:
        """Id of the end-of-sequence token."""
        return self._special_ids[self.config.eos_token]

    @property
    def special_ids(self) -> dict[str, int]:
        """Every special token and its id."""
        return dict(self._special_ids)

    @property
    def lossless(self) -> bool:
        """Whether ``decode(encode(text)) == text`` for every valid text."""
        return False

    @property
    def backend(self) -> Tokenizer:
        """The underlying ``tokenizers.Tokenizer``."""
        return self._tok

    def token_to_id(self, token: str) -> int | None:
        """Id of ``token`` (a vocabulary entry, not text), or None when it is not in the vocabulary."""
        tid: int | None = self._tok.token_to_id(token)
        return tid

    def id_to_token(self, tid: int) -> str | None:
        """Vocabulary entry of id ``tid``, or None when out of range."""
        token: str | None = self._tok.id_to_token(tid)
        return token

    # -- encoding ------------------------------------------------------------------------------
    def _frame(self, body: list[int]) -> list[int]:
        opts = self.config
        if opts.max_length is not None:
            budget = opts.max_length - int(opts.add_bos) - int(opts.add_eos)
            body = body[:budget]
        return ([self.bos_id] if opts.add_bos else []) + body + ([self.eos_id] if opts.add_eos else [])

    def encode(self, text: str) -> list[int]:
        """Encode ``text`` to ids, adding bos/eos and cutting at ``max_length`` as configured.

        Raises:
            DataError: ``text`` is not a ``str`` or holds a lone surrogate.
        """
        check_text(text, self.name)
        ids: list[int] = self._tok.encode(text, add_special_tokens=False).ids
        return self._frame(ids)

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        """Encode several texts (in parallel, in Rust) to id lists.

        Raises:
            DataError: As :meth:`encode`, naming the index of the offending text.
        """
        for i, text in enumerate(texts):
            check_text(text, f"{self.name}: text {i}")
        encodings = self._tok.encode_batch(list(texts), add_special_tokens=False)
        return [self._frame(e.ids) for e in encodings]

    def encode_batch(self, texts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """Encode texts into ``(ids, attention_mask)``, ``int64`` and ``bool`` ``(len(texts), L)``,
        padded with the pad id to the longest encoding; the mask is true on real positions.

        Raises:
            DataError: As :meth:`encode`, naming the index of the offending text.
        """
        return pad_rows(self.encode_many(texts), self.pad_id)

    def decode(self, ids: Iterable[int] | Tensor, *, skip_special: bool = True) -> str:
        """Turn ids back into text.

        Args:
            ids: Ids as a sequence or a 1-D integer tensor.
            skip_special: Leave special tokens out; when false each is written as its string.

        Raises:
            DataError: An id is outside the vocabulary (names its position) or the tensor is not 1-D.
        """
        values = _id_list(ids, self.name)
        size = self.vocab_size
        for pos, v in enumerate(values):
            if not 0 <= v < size:
                raise DataError(f"{self.name}: id {v} at position {pos} is outside the vocabulary [0, {size})")
        if skip_special:
            values = [v for v in values if v not in self._all_special]
        text: str = self._tok.decode(values, skip_special_tokens=False)
        return text

    def __call__(self, sample: Any) -> Any:
        """Encode a ``str`` to a 1-D ``int64`` tensor, or ``(text, target)`` to ``(ids, target)``.

        Raises:
            DataError: The sample is neither, or its text cannot be encoded.
        """
        return encode_sample(self, sample)

    # -- files ---------------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``tokenizer.json`` (Hugging Face format) and ``forge_tokenizer.json`` into ``directory``.

        Returns:
            The folder.
        """
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        options = {a.name: getattr(self.config, a.name) for a in attrs.fields(self.options_class)}
        tmp = folder / f".{HF_FILE}.tmp"
        self._tok.save(str(tmp))
        os.replace(tmp, folder / HF_FILE)
        return write_manifest(folder, self.name, unstructure(self.options_class(**options)))


def _id_list(ids: Iterable[int] | Tensor, where: str) -> list[int]:
    import torch

    if isinstance(ids, torch.Tensor):
        if ids.dim() != 1 or ids.is_floating_point() or ids.is_complex():
            raise DataError(f"{where}: decode expects a 1-D integer tensor, got {ids.dtype} {tuple(ids.shape)}")
        return [int(v) for v in ids.tolist()]
    return [int(v) for v in ids]


class BPETokenizer(_LearnedTokenizer):
    """Byte-level BPE learned from your text: lossless for every string UTF-8 can encode.

    Built from a :class:`BPETokenizerConfig` (trains on ``files``), by
    :meth:`train_from_texts`, or by :meth:`load`.

    Example:
        >>> tok = BPETokenizer.train_from_texts(["low lower lowest"] * 50, vocab_size=300)
        >>> tok.decode(tok.encode("naïve 😀"))
        'naïve 😀'
    """

    name: ClassVar[str] = "nlp.bpe_tokenizer"
    options_class: ClassVar[type[Any]] = BPEOptions
    config_class: ClassVar[type[Any]] = BPETokenizerConfig

    @property
    def lossless(self) -> bool:
        """Byte-level BPE round-trips every valid text."""
        return True

    @classmethod
    def _build(cls, opts: Any) -> Tokenizer:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers

        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        return tok

    @classmethod
    def _trainer(cls, opts: Any) -> Any:
        from tokenizers import pre_tokenizers, trainers

        return trainers.BpeTrainer(
            vocab_size=opts.vocab_size,
            min_frequency=opts.min_frequency,
            special_tokens=list(opts.special_tokens),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )


class WordPieceTokenizer(_LearnedTokenizer):
    """WordPiece (BERT style) learned from your text. Lossy: see the module docs.

    Example:
        >>> tok = WordPieceTokenizer.train_from_texts(["Hello, World!"] * 10, vocab_size=60)
        >>> tok.decode(tok.encode("Hello,   WORLD!"))
        'hello, world!'
    """

    name: ClassVar[str] = "nlp.wordpiece_tokenizer"
    options_class: ClassVar[type[Any]] = WordPieceOptions
    config_class: ClassVar[type[Any]] = WordPieceTokenizerConfig

    @property
    def unk_id(self) -> int:
        """Id of the unknown-word token."""
        return self._special_ids[self.config.unk_token]

    @classmethod
    def _build(cls, opts: Any) -> Tokenizer:
        from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

        tok = Tokenizer(models.WordPiece(unk_token=opts.unk_token, continuing_subword_prefix=opts.continuing_prefix))
        tok.normalizer = normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=True, strip_accents=opts.strip_accents, lowercase=opts.lowercase
        )
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece(prefix=opts.continuing_prefix)
        return tok

    @classmethod
    def _trainer(cls, opts: Any) -> Any:
        from tokenizers import trainers

        return trainers.WordPieceTrainer(
            vocab_size=opts.vocab_size,
            min_frequency=opts.min_frequency,
            special_tokens=list(opts.special_tokens),
            continuing_subword_prefix=opts.continuing_prefix,
            show_progress=False,
        )
