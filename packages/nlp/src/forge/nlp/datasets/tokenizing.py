"""The tokenizer a text dataset builds from its config: learned on its training text, or loaded."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from forge.core.errors import DataError
from forge.nlp.tokenizers import BPETokenizer, ByteTokenizer, CharTokenizer, WordPieceTokenizer, load_tokenizer
from forge.nlp.tokenizers.base import TextTokenizer

__all__ = ["RUN_TOKENIZER_DIR", "dataset_tokenizer", "tokenizer_from_run"]

RUN_TOKENIZER_DIR = "tokenizer"
"""Folder of a run directory where :func:`tokenizer_from_run` keeps the run's tokenizer."""

_TEXT_DATASETS = ("nlp.text_classification", "nlp.text_blocks", "nlp.text_stream")


def dataset_tokenizer(config: Any, texts: Iterable[str], *, max_length: int | None) -> TextTokenizer:
    """Build the tokenizer ``config`` asks for (its ``tokenizer``, ``vocab_size``, ``min_frequency``,
    ``tokenizer_dir`` and ``save_tokenizer`` fields), adding bos and eos to every encoding.

    Args:
        config: A dataset config with the tokenizer fields.
        texts: The training text to learn from (not read for 'byte' or a ``tokenizer_dir``).
        max_length: Most ids per encoding (None: unlimited).

    Returns:
        The tokenizer (saved into ``save_tokenizer`` when set).

    Raises:
        DataError: A saved tokenizer cannot be read, or the text cannot be learned from.
    """
    tok: TextTokenizer
    if config.tokenizer_dir is not None:
        tok = load_tokenizer(config.tokenizer_dir)
    else:
        opts: dict[str, Any] = {"add_bos": True, "add_eos": True, "max_length": max_length}
        learned = {"vocab_size": config.vocab_size, "min_frequency": config.min_frequency}
        if config.tokenizer == "byte":
            tok = ByteTokenizer(**opts)
        elif config.tokenizer == "bpe":
            tok = BPETokenizer.train_from_texts(texts, **opts, **learned)
        elif config.tokenizer == "wordpiece":
            tok = WordPieceTokenizer.train_from_texts(texts, **opts, **learned)
        else:
            tok = CharTokenizer.train_from_texts(texts, **opts, **learned)
    if config.save_tokenizer is not None:
        tok.save(config.save_tokenizer)
    return tok


def tokenizer_from_run(run_dir: str | os.PathLike[str], *, save: bool = True) -> TextTokenizer:
    """The tokenizer a run of a forge-nlp text dataset trained with, to encode text for its model.

    A dataset's tokenizer is a pure function of its config and its data files, so it is rebuilt
    from the run's ``config.json`` (the data is read again) and, with ``save``, written to
    ``<run_dir>/tokenizer`` so later calls (and servers) load it from there instead.

    Args:
        run_dir: A run directory whose ``[data]`` is ``nlp.text_classification``,
            ``nlp.text_blocks`` or ``nlp.text_stream``.
        save: Keep the tokenizer in the run directory.

    Returns:
        The tokenizer.

    Raises:
        DataError: The run has no config, its dataset is not one of these, or its data changed
            since training (the dataset fingerprint differs from the run's ``lineage.json``).
    """
    from forge.core import registry

    run = Path(run_dir)
    saved = run / RUN_TOKENIZER_DIR
    if (saved / "forge_tokenizer.json").is_file():
        return load_tokenizer(saved)
    try:
        config = json.loads((run / "config.json").read_text(encoding="utf-8"))
        data = dict(config["data"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{run}: cannot read the run's data config from config.json: {exc}") from None
    name = data.pop("name", None)
    if name not in _TEXT_DATASETS:
        raise DataError(f"{run}: the run's dataset {name!r} is not one of {', '.join(_TEXT_DATASETS)}")
    spec = registry.get("dataset", name)
    cls = registry.config_class(spec)
    fields = {f.name for f in attrs.fields(cls)} if cls is not None else set()
    splits = registry.build("dataset", name, **{k: v for k, v in data.items() if k in fields})
    lineage = run / "lineage.json"
    if lineage.is_file():
        recorded = json.loads(lineage.read_text(encoding="utf-8")).get("dataset", {}).get("fingerprint")
        if recorded is not None and recorded != splits.info.fingerprint:
            raise DataError(
                f"{run}: the data changed since the run (dataset fingerprint {splits.info.fingerprint} "
                f"!= {recorded} in lineage.json); the rebuilt tokenizer might differ"
            )
    tokenizer = getattr(splits.train, "tokenizer", None)
    if not isinstance(tokenizer, TextTokenizer):
        raise DataError(f"{run}: dataset {name} did not expose its tokenizer")
    if save:
        tokenizer.save(saved)
    return tokenizer
