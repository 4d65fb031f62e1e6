"""A streamed, sharded text corpus over many files, deterministic from a seed.

:class:`TextStream` builds on forge-core's :class:`~forge.core.data.ShardedIterableDataset`: the
global stream of ``(file, line)`` records is identical in every process, records are dealt to
distributed ranks round-robin and to DataLoader workers (found with ``get_worker_info``) in whole
batches, so no document is seen twice or missed, and the epoch's order depends only on the seed
(file order permuted per epoch, a bounded shuffle buffer per worker). Only owned records are
tokenized. Resuming mid-epoch is exact (``state_dict`` / ``load_state_dict``).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch import Tensor

from forge.core.data import DatasetInfo, DatasetSplits, ShardedIterableDataset, derive_seed, digest, fingerprint_files
from forge.core.errors import DataError
from forge.nlp.datasets.configs import TextStreamConfig
from forge.nlp.datasets.tokenizing import dataset_tokenizer
from forge.nlp.tokenizers.base import TextTokenizer, expand_text_files, iter_file_lines

__all__ = ["TextStream", "build_text_stream"]

Record = tuple[str, int, str]


class TextStream(ShardedIterableDataset[tuple[Tensor, Tensor], Record]):
    """Every non-empty line of many text files as a next-token sample, streamed and sharded.

    Sample: ``(x, y)``, ``int64`` of ``max_length - 1``: the line's encoding (cut to
    ``max_length``) padded with the pad id, minus its last id; ``y`` the same shifted by one with
    -100 where the target is padding.

    Args:
        files: Text files (UTF-8).
        tokenizer: Encodes each line.
        max_length: Ids per encoded line, special tokens included.
        seed: Seed of the file order and the shuffle buffer.
        shuffle_files: Permute the file order every epoch.
        shuffle_buffer: Bounded shuffle buffer per worker (0 or 1: file order).
        rank: This process's rank; ``world_size``: number of ranks.

    Raises:
        DataError: No files, or a file is not valid UTF-8 (names file and line, when read).
    """

    def __init__(
        self,
        files: Sequence[Path],
        tokenizer: TextTokenizer,
        *,
        max_length: int,
        seed: int = 0,
        shuffle_files: bool = True,
        shuffle_buffer: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        super().__init__(seed=seed, shuffle_buffer=shuffle_buffer, rank=rank, world_size=world_size)
        if not files:
            raise DataError("nlp.text_stream: no files to stream")
        self.files = [str(f) for f in files]
        self.tokenizer, self.max_length, self.shuffle_files = tokenizer, max_length, shuffle_files

    def file_order(self, epoch: int) -> list[str]:
        """The files in the order ``epoch`` reads them."""
        files = list(self.files)
        if self.shuffle_files:
            random.Random(derive_seed(self.seed, "files", epoch)).shuffle(files)
        return files

    def raw_records(self, epoch: int) -> Iterator[Record]:
        """Yield ``(file, line number, text)`` for every non-empty line, in the epoch's file order."""
        for path in self.file_order(epoch):
            numbered = zip(itertools.count(1), iter_file_lines([Path(path)], "nlp.text_stream"))
            for number, line in numbered:
                if line.strip():
                    yield path, number, line

    def decode(self, raw: Record) -> tuple[Tensor, Tensor]:
        """Tokenize one owned line into ``(x, y)``."""
        ids = self.tokenizer.encode(raw[2])[: self.max_length]
        full = torch.full((self.max_length,), self.tokenizer.pad_id, dtype=torch.int64)
        full[: len(ids)] = torch.tensor(ids, dtype=torch.int64)
        target = full[1:].clone()
        target[len(ids) - 1 :] = -100
        return full[:-1], target


def build_text_stream(config: TextStreamConfig) -> DatasetSplits:
    """Build a streamed training split over ``config.files`` (no val/test: hold out files yourself).

    Raises:
        DataError: A pattern matches no file, or the tokenizer sample is not valid UTF-8.
    """
    files = expand_text_files(config.files, "nlp.text_stream")
    sample = itertools.islice(iter_file_lines(files, "nlp.text_stream"), config.tokenizer_sample_lines)
    tokenizer = dataset_tokenizer(config, (line for line in sample if line.strip()), max_length=config.max_length)
    stream = TextStream(
        files,
        tokenizer,
        max_length=config.max_length,
        seed=config.seed,
        shuffle_files=config.shuffle_files,
        shuffle_buffer=config.shuffle_buffer,
    )
    info = DatasetInfo(
        name="nlp.text_stream",
        version="custom",
        source=f"{len(files)} files",
        fingerprint=digest(
            {
                "files": fingerprint_files(files),
                "tokenizer": [config.tokenizer, config.vocab_size, config.min_frequency, config.tokenizer_dir],
                "max_length": config.max_length,
                "seed": config.seed,
            }
        ),
        task="language-modeling",
        extra={"vocab_size": tokenizer.vocab_size, "pad_id": tokenizer.pad_id, "files": len(files)},
    )
    return DatasetSplits(train=stream, info=info)
