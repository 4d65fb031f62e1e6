"""Dynamic padding: collate variable-length token samples into one batch padded to its longest.

Padding every sample to a global maximum wastes compute on pad tokens; :class:`PadCollator` pads a
batch only to its own longest sequence (optionally rounded up to a multiple of 8, which tensor
cores prefer). Give it to a DataLoader as ``collate_fn``::

    loader = build_loader(splits.train, LoaderConfig(batch_size=32), seed=0,
                          collate_fn=PadCollator(pad_id=tok.pad_id))
    for batch in loader:
        logits = model(batch["input_ids"], batch["attention_mask"])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import torch
from torch import Tensor

from forge.core.errors import DataError

__all__ = ["PadCollator", "pad_sequences"]


def _as_ids(value: Any, where: str) -> Tensor:
    t = value if isinstance(value, Tensor) else torch.as_tensor(value)
    if t.dim() != 1 or t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise DataError(f"{where}: expected a 1-D integer sequence, got {t.dtype} {tuple(t.shape)}")
    return t.to(torch.int64)


def pad_sequences(
    sequences: Sequence[Tensor], pad_value: int, *, multiple_of: int | None = None, min_length: int = 0
) -> Tensor:
    """Stack 1-D integer tensors right-padded with ``pad_value`` to the longest (rounded up to
    ``multiple_of``), ``(len(sequences), L)`` ``int64``."""
    width = max([min_length, *(int(s.numel()) for s in sequences)])
    if multiple_of is not None and width % multiple_of:
        width += multiple_of - width % multiple_of
    out = torch.full((len(sequences), width), pad_value, dtype=torch.int64)
    for i, seq in enumerate(sequences):
        out[i, : seq.numel()] = seq
    return out


class PadCollator:
    """Collate token samples, padding to the batch's longest sequence.

    Accepted samples (all of a batch alike):

    - a 1-D integer tensor (or list) of ids;
    - ``(ids, label)`` with an integer label (classification) or a 1-D label sequence (token
      targets, padded with ``label_pad_id``);
    - a mapping with ``"input_ids"`` and optionally ``"labels"``.

    Args:
        pad_id: The tokenizer's pad id.
        pad_to_multiple_of: Round the padded length up to a multiple of this (8 suits tensor cores).
        label_pad_id: Padding of token-level labels (-100, which losses and metrics ignore).
        output: ``"dict"`` gives ``{"input_ids", "attention_mask", "labels"}``; ``"tuple"`` gives
            ``(input_ids, labels)`` for forge's default training step (which calls ``model(input)``).

    Raises:
        DataError: A sample has another form, or the batch mixes forms (names the sample index).
    """

    def __init__(
        self,
        pad_id: int,
        *,
        pad_to_multiple_of: int | None = None,
        label_pad_id: int = -100,
        output: Literal["dict", "tuple"] = "dict",
    ) -> None:
        if pad_to_multiple_of is not None and pad_to_multiple_of < 1:
            raise DataError(f"PadCollator: pad_to_multiple_of must be >= 1, got {pad_to_multiple_of}")
        if output not in ("dict", "tuple"):
            raise DataError(f"PadCollator: output must be 'dict' or 'tuple', got {output!r}")
        self.pad_id, self.multiple_of = pad_id, pad_to_multiple_of
        self.label_pad_id, self.output = label_pad_id, output

    def _split(self, sample: Any, i: int) -> tuple[Tensor, Any]:
        where = f"PadCollator: sample {i}"
        if isinstance(sample, Mapping):
            if "input_ids" not in sample:
                raise DataError(f"{where}: a mapping sample needs 'input_ids'; got keys {sorted(sample)}")
            return _as_ids(sample["input_ids"], where), sample.get("labels")
        if isinstance(sample, (tuple, list)) and len(sample) == 2 and not isinstance(sample[0], int):
            return _as_ids(sample[0], where), sample[1]
        return _as_ids(sample, where), None

    def __call__(self, samples: Sequence[Any]) -> dict[str, Tensor] | tuple[Tensor, Tensor]:
        """Collate ``samples`` into a padded batch.

        Returns:
            ``{"input_ids": int64 (B, L), "attention_mask": bool (B, L), "labels": ...}`` (labels
            only when the samples have them: int64 ``(B,)`` or ``(B, L)``), or
            ``(input_ids, labels)`` when ``output="tuple"``.
        """
        if not samples:
            raise DataError("PadCollator: cannot collate an empty batch")
        ids: list[Tensor] = []
        labels: list[Any] = []
        for i, sample in enumerate(samples):
            x, y = self._split(sample, i)
            ids.append(x)
            labels.append(y)
        input_ids = pad_sequences(ids, self.pad_id, multiple_of=self.multiple_of)
        lengths = torch.tensor([t.numel() for t in ids])
        mask = torch.arange(input_ids.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
        batch: dict[str, Tensor] = {"input_ids": input_ids, "attention_mask": mask}
        has = [y is not None for y in labels]
        if any(has) and not all(has):
            raise DataError(f"PadCollator: sample {has.index(False)} has no label while others do")
        if all(has):
            batch["labels"] = self._labels(labels, input_ids.shape[1])
        if self.output == "tuple":
            if "labels" not in batch:
                raise DataError("PadCollator: output='tuple' needs labelled samples")
            return batch["input_ids"], batch["labels"]
        return batch

    def _labels(self, labels: list[Any], width: int) -> Tensor:
        first = labels[0] if isinstance(labels[0], Tensor) else torch.as_tensor(labels[0])
        if first.dim() == 0:
            out = []
            for i, y in enumerate(labels):
                t = y if isinstance(y, Tensor) else torch.as_tensor(y)
                if t.dim() != 0 or t.is_floating_point() or t.dtype == torch.bool:
                    raise DataError(
                        f"PadCollator: sample {i}: expected an integer class label, got {t.dtype} {tuple(t.shape)}"
                    )
                out.append(t.to(torch.int64))
            return torch.stack(out)
        seqs = [_as_ids(y, f"PadCollator: sample {i} labels") for i, y in enumerate(labels)]
        return pad_sequences(seqs, self.label_pad_id, min_length=width)
