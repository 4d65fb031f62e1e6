"""Plain text files tokenized and packed into fixed-length language-modelling blocks."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset

from forge.core.data import DatasetInfo, DatasetSplits, digest, fingerprint_files
from forge.core.errors import DataError
from forge.nlp.datasets.configs import TextBlocksConfig
from forge.nlp.datasets.tokenizing import dataset_tokenizer
from forge.nlp.tokenizers.base import TextTokenizer, expand_text_files, iter_file_lines

__all__ = ["TokenBlocks", "build_text_blocks"]


class TokenBlocks(Dataset[tuple[Tensor, Tensor]]):
    """Next-token windows over one id stream: sample ``i`` is ``(ids[s:s+B], ids[s+1:s+B+1])``,
    ``s = i * stride``, both ``int64``.

    Args:
        ids: The 1-D integer id stream.
        block_size: Ids per sample.
        stride: Ids between sample starts.
        where: Name for error messages.
        tokenizer: The tokenizer that made the ids (kept as ``self.tokenizer``; not used here).

    Raises:
        DataError: The stream is not 1-D integer, or too short for one sample.
    """

    def __init__(
        self, ids: Tensor, block_size: int, stride: int, *, where: str = "text", tokenizer: TextTokenizer | None = None
    ) -> None:
        if ids.dim() != 1 or ids.is_floating_point():
            raise DataError(f"{where}: expected a 1-D integer id stream, got {ids.dtype} {tuple(ids.shape)}")
        if block_size < 1 or stride < 1:
            raise DataError(f"{where}: block_size and stride must be >= 1, got {block_size} and {stride}")
        if ids.numel() < block_size + 1:
            raise DataError(
                f"{where}: {ids.numel()} ids are too few for one block of {block_size} (+1 target); "
                "give more text or lower block_size"
            )
        self.ids, self.block_size, self.stride = ids.to(torch.int64), block_size, stride
        self.tokenizer = tokenizer

    def __len__(self) -> int:
        return (self.ids.numel() - self.block_size - 1) // self.stride + 1

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        """Return ``(x, y)`` of block ``index``.

        Raises:
            IndexError: ``index`` is out of range.
        """
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"block index {index} out of range for {n} blocks")
        start = index * self.stride
        window = self.ids[start : start + self.block_size + 1]
        return window[:-1], window[1:]


def build_text_blocks(config: TextBlocksConfig) -> DatasetSplits:
    """Tokenize text files and cut them into language-modelling blocks.

    The tokenizer is learned on the part of the text that becomes the training split (by lines:
    the first ``1 - val_fraction - test_fraction`` of all lines).

    Raises:
        DataError: A pattern matches no file, a file is not UTF-8 (names file and line), or a
            split is too short for one block.
    """
    files = expand_text_files(config.files, "nlp.text_blocks")
    per_file = [list(iter_file_lines([path], "nlp.text_blocks")) for path in files]
    all_lines = [line for lines in per_file for line in lines]
    n_train_lines = max(1, int(len(all_lines) * (1 - config.val_fraction - config.test_fraction)))
    tokenizer = dataset_tokenizer(config, iter(all_lines[:n_train_lines]), max_length=None)
    stream: list[int] = []
    for lines in per_file:
        body = tokenizer.encode("\n".join(lines))
        if body and body[0] == tokenizer.bos_id:
            body = body[1:]
        if body and body[-1] == tokenizer.eos_id:
            body = body[:-1]
        stream.extend(body)
        stream.append(tokenizer.eos_id)  # every file (document) ends with eos
    ids = torch.tensor(stream, dtype=torch.int64)
    n = ids.numel()
    n_test = int(n * config.test_fraction)
    n_val = int(n * config.val_fraction)
    stride = config.stride or config.block_size
    cuts = {"train": ids[: n - n_val - n_test], "val": ids[n - n_val - n_test : n - n_test], "test": ids[n - n_test :]}
    fractions = {"train": 1.0, "val": config.val_fraction, "test": config.test_fraction}
    splits = {
        k: TokenBlocks(v, config.block_size, stride, where=f"nlp.text_blocks {k} split", tokenizer=tokenizer)
        if fractions[k] > 0
        else None
        for k, v in cuts.items()
    }
    info = DatasetInfo(
        name="nlp.text_blocks",
        version="custom",
        source=", ".join(str(p) for p in files[:3]) + (" ..." if len(files) > 3 else ""),
        fingerprint=digest(
            {
                "files": fingerprint_files([Path(p) for p in files]),
                "tokenizer": [config.tokenizer, config.vocab_size, config.min_frequency, config.tokenizer_dir],
                "block_size": config.block_size,
                "stride": stride,
                "fractions": [config.val_fraction, config.test_fraction],
            }
        ),
        task="language-modeling",
        extra={"vocab_size": tokenizer.vocab_size, "pad_id": tokenizer.pad_id, "tokens": n, "files": len(files)},
    )
    return DatasetSplits(train=splits["train"], val=splits["val"], test=splits["test"], info=info)
