"""A character tokenizer: one id per Unicode code point of a learned alphabet.

Lossless over its alphabet: ``decode(encode(text)) == text`` whenever every code point of ``text``
was in the training text often enough to be kept. Combining marks, emoji modifiers and joiners are
code points like any other, so they round-trip when seen in training.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

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
from forge.nlp.tokenizers.configs import CharOptions, CharTokenizerConfig

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["ALPHABET_FILE", "CharTokenizer"]

ALPHABET_FILE = "alphabet.json"
"""File holding the learned alphabet (a JSON list of strings, in id order after the special tokens)."""


class CharTokenizer(Transform):
    """Character-level tokenizer over an alphabet learned from text.

    Built from a :class:`CharTokenizerConfig` (learns from ``files``), by :meth:`train_from_texts`,
    or by :meth:`load`. The alphabet keeps the ``vocab_size - len(special_tokens)`` most frequent
    characters seen at least ``min_frequency`` times; others encode to the unk token.

    Example:
        >>> tok = CharTokenizer.train_from_texts(["hello wörld"], min_frequency=1)
        >>> tok.decode(tok.encode("old wörld"))
        'old wörld'
        >>> tok.decode(tok.encode("help"))  # 'p' is not in the alphabet: it became <unk>
        'hel'
    """

    name: ClassVar[str] = "nlp.char_tokenizer"
    config_class: ClassVar[type[CharTokenizerConfig]] = CharTokenizerConfig

    def __init__(self, config: CharTokenizerConfig | None = None, /, **params: Any) -> None:
        self.config: CharOptions = config_from_args(self.name, CharTokenizerConfig, config, params)
        files = expand_text_files(self.config.files, self.name)
        counts: Counter[str] = Counter()
        for line in iter_file_lines(files, self.name):
            counts.update(line)
            counts["\n"] += 1
        self._setup(self._alphabet(counts, self.config))

    @classmethod
    def train_from_texts(cls, texts: Iterable[str], /, **options: Any) -> CharTokenizer:
        """Learn the alphabet from an iterator of strings.

        Args:
            texts: The training text.
            **options: Fields of :class:`CharOptions`.

        Raises:
            ConfigError: An option is unknown or invalid.
            DataError: A text is not a string or holds a lone surrogate (names its index).
        """
        opts = config_from_args(cls.name, CharOptions, None, options)
        counts: Counter[str] = Counter()
        for i, text in enumerate(texts):
            counts.update(check_text(text, f"{cls.name}: training text {i}"))
        self = cls.__new__(cls)
        self.config = opts
        self._setup(cls._alphabet(counts, opts))
        return self

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> CharTokenizer:
        """Load a tokenizer written by :meth:`save`.

        Raises:
            DataError: The folder holds no character tokenizer, or its alphabet file is malformed.
        """
        name, params = read_manifest(directory)
        if name != cls.name:
            raise DataError(f"{directory}/{MANIFEST}: holds a {name}, not a {cls.name}")
        path = Path(directory) / ALPHABET_FILE
        try:
            alphabet = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot read the alphabet: {exc}") from None
        if not isinstance(alphabet, list) or not all(isinstance(c, str) and len(c) == 1 for c in alphabet):
            raise DataError(f"{path}: expected a JSON list of one-character strings")
        if len(set(alphabet)) != len(alphabet):
            raise DataError(f"{path}: the alphabet repeats a character")
        self = cls.__new__(cls)
        self.config = structure(params, CharOptions, where=f"{directory}/{MANIFEST}")
        self._setup(alphabet)
        return self

    @staticmethod
    def _alphabet(counts: Counter[str], opts: CharOptions) -> list[str]:
        room = opts.vocab_size - len(opts.special_tokens)
        kept = [(c, n) for c, n in counts.items() if n >= opts.min_frequency]
        kept.sort(key=lambda cn: (-cn[1], ord(cn[0])))
        return [c for c, _ in kept[:room]]

    def _setup(self, alphabet: list[str]) -> None:
        self.alphabet: tuple[str, ...] = tuple(alphabet)
        specials = self.config.special_tokens
        self._special_ids = {tok: i for i, tok in enumerate(specials)}
        self._char_ids = {c: len(specials) + i for i, c in enumerate(alphabet)}
        self._id_chars = {i: c for c, i in self._char_ids.items()}

    # -- vocabulary ----------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """Special tokens plus the alphabet."""
        return len(self._special_ids) + len(self.alphabet)

    @property
    def pad_id(self) -> int:
        """Id of the padding token (0)."""
        return self._special_ids[self.config.pad_token]

    @property
    def bos_id(self) -> int:
        """Id of the beginning-of-sequence token (1)."""
        return self._special_ids[self.config.bos_token]

    @property
    def eos_id(self) -> int:
        """Id of the end-of-sequence token (2)."""
        return self._special_ids[self.config.eos_token]

    @property
    def unk_id(self) -> int:
        """Id of the unknown-character token (3)."""
        return self._special_ids[self.config.unk_token]

    @property
    def special_ids(self) -> dict[str, int]:
        """Every special token and its id."""
        return dict(self._special_ids)

    @property
    def lossless(self) -> bool:
        """Lossless over the alphabet only: characters outside it become unk."""
        return False

    def covers(self, text: str) -> bool:
        """Whether every character of ``text`` is in the alphabet (so it round-trips)."""
        return all(c in self._char_ids for c in text)

    # -- encoding ------------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        """Encode ``text``, one id per code point (unk outside the alphabet), with bos/eos and
        ``max_length`` as configured.

        Raises:
            DataError: ``text`` is not a ``str`` or holds a lone surrogate.
        """
        check_text(text, self.name)
        opts = self.config
        specials = self._special_ids
        if opts.parse_special and specials:
            body: list[int] = []
            ordered = sorted(specials, key=len, reverse=True)
            pos = 0
            while pos < len(text):
                hit = next((t for t in ordered if text.startswith(t, pos)), None)
                if hit is not None:
                    body.append(specials[hit])
                    pos += len(hit)
                else:
                    body.append(self._char_ids.get(text[pos], self.unk_id))
                    pos += 1
        else:
            unk = self.unk_id
            get = self._char_ids.get
            body = [get(c, unk) for c in text]
        if opts.max_length is not None:
            body = body[: opts.max_length - int(opts.add_bos) - int(opts.add_eos)]
        return ([self.bos_id] if opts.add_bos else []) + body + ([self.eos_id] if opts.add_eos else [])

    def encode_batch(self, texts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """Encode texts into ``(ids, attention_mask)`` padded to the longest (see :meth:`encode`).

        Raises:
            DataError: As :meth:`encode`, naming the index of the offending text.
        """
        rows: list[list[int]] = []
        for i, text in enumerate(texts):
            try:
                rows.append(self.encode(text))
            except DataError as exc:
                raise DataError(f"text {i}: {exc}") from None
        return pad_rows(rows, self.pad_id)

    def decode(self, ids: Iterable[int] | Tensor, *, skip_special: bool = True) -> str:
        """Turn ids back into text; special tokens are left out unless ``skip_special`` is false.

        Raises:
            DataError: An id is outside the vocabulary (names its position) or the tensor is not 1-D.
        """
        from forge.nlp.tokenizers.trained import _id_list

        specials = {i: t for t, i in self._special_ids.items()}
        out: list[str] = []
        for pos, v in enumerate(_id_list(ids, self.name)):
            char = self._id_chars.get(v)
            if char is not None:
                out.append(char)
            elif v in specials:
                if not skip_special:
                    out.append(specials[v])
            else:
                raise DataError(
                    f"{self.name}: id {v} at position {pos} is outside the vocabulary [0, {self.vocab_size})"
                )
        return "".join(out)

    def __call__(self, sample: Any) -> Any:
        """Encode a ``str`` to a 1-D ``int64`` tensor, or ``(text, target)`` to ``(ids, target)``.

        Raises:
            DataError: The sample is neither, or its text cannot be encoded.
        """
        return encode_sample(self, sample)

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``alphabet.json`` and ``forge_tokenizer.json`` into ``directory``.

        Returns:
            The folder.
        """
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{ALPHABET_FILE}.tmp"
        tmp.write_text(json.dumps(list(self.alphabet), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, folder / ALPHABET_FILE)
        options = {a.name: getattr(self.config, a.name) for a in attrs.fields(CharOptions)}
        return write_manifest(folder, self.name, unstructure(CharOptions(**options)))
