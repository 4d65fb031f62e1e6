"""Byte-level language modelling on the Python standard library's own source files.

Every Python installation carries a few megabytes of UTF-8 text in its standard library, so this
corpus needs no download and is the same on every machine with the same Python version. Sample
``i`` of a split is ``(x, y)``: ``x`` the ``seq_len`` bytes starting at ``i * stride`` of the
split's text, ``y`` the same window one byte later; both ``int64`` in 0..255, the same ids
:class:`forge.nlp.tokenizers.ByteTokenizer` gives, so its ``decode`` renders a sample as text.
"""

from __future__ import annotations

import hashlib
import sys
import sysconfig
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset

from forge.core.data import DatasetInfo, DatasetSplits, digest, fingerprint_files
from forge.core.errors import DataError
from forge.nlp.datasets.configs import StdlibTextConfig

__all__ = ["LMWindows", "build_stdlib_text", "select_files", "stdlib_root"]

VOCAB_SIZE = 256


class LMWindows(Dataset[tuple[Tensor, Tensor]]):
    """Fixed-length next-byte prediction windows over one byte string.

    Args:
        data: The text as a 1-D ``uint8`` tensor.
        seq_len: Bytes per sample.
        stride: Bytes between the starts of consecutive samples.
        where: Name of the split for error messages.

    Raises:
        DataError: ``data`` is not 1-D ``uint8``, or too short for a single sample.
    """

    def __init__(self, data: Tensor, seq_len: int, stride: int, *, where: str = "text") -> None:
        if data.dtype != torch.uint8 or data.dim() != 1:
            raise DataError(f"{where}: expected 1-D uint8 data, got {data.dtype} {tuple(data.shape)}")
        if seq_len < 1 or stride < 1:
            raise DataError(f"{where}: seq_len and stride must be >= 1, got {seq_len} and {stride}")
        if data.numel() < seq_len + 1:
            raise DataError(
                f"{where}: {data.numel()} bytes of text is too short for one sample of seq_len {seq_len}; "
                "give it more files or lower seq_len"
            )
        self.data = data
        self.seq_len = seq_len
        self.stride = stride

    def __len__(self) -> int:
        return (self.data.numel() - self.seq_len - 1) // self.stride + 1

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        """Return ``(x, y)`` of window ``index``, both ``int64`` of length ``seq_len``.

        Raises:
            IndexError: ``index`` is out of range.
        """
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"sample index {index} out of range for {n} samples")
        start = index * self.stride
        window = self.data[start : start + self.seq_len + 1].long()
        return window[:-1], window[1:]


def stdlib_root() -> Path:
    """The folder of this interpreter's standard library (``sysconfig``'s ``"stdlib"`` path)."""
    return Path(sysconfig.get_paths()["stdlib"])


def _rank(seed: int, name: str) -> str:
    # sha256 rather than hash(): Python salts str hashes per process.
    return hashlib.sha256(f"{seed}\0{name}".encode()).hexdigest()


def select_files(config: StdlibTextConfig, root: Path) -> dict[str, list[Path]]:
    """Choose the corpus files and assign each to a split.

    Candidates are the files under ``root`` matching ``config.pattern``, no larger than
    ``max_file_bytes`` and valid UTF-8. They are ordered by a seeded sha256 of their relative path;
    the first ``max_files`` are kept, the first of those go to test, the next to val, the rest to
    train. A split with a non-zero fraction gets at least one file.

    Args:
        config: The dataset config.
        root: The folder to read.

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}``, each list sorted by path.

    Raises:
        DataError: ``root`` is not a folder, or there are too few files for the requested splits.
    """
    if not root.is_dir():
        raise DataError(f"stdlib_text: root {str(root)!r} is not a folder")
    candidates = [p for p in root.glob(config.pattern) if p.is_file() and p.stat().st_size <= config.max_file_bytes]
    ranked = sorted(candidates, key=lambda p: _rank(config.seed, p.relative_to(root).as_posix()))
    chosen: list[Path] = []
    for path in ranked:  # validate lazily: only as many files as are needed get read
        if len(chosen) == config.max_files:
            break
        try:
            path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # a few stdlib test fixtures are deliberately not UTF-8; content-based, so still deterministic
        chosen.append(path)
    n = len(chosen)
    n_test = max(1, round(n * config.test_fraction)) if config.test_fraction > 0 else 0
    n_val = max(1, round(n * config.val_fraction)) if config.val_fraction > 0 else 0
    if n - n_test - n_val < 1:
        raise DataError(
            f"stdlib_text: {n} file(s) matching {config.pattern!r} under {str(root)!r} are too few for "
            f"{n_test} test, {n_val} val and at least one training file"
        )
    return {
        "test": sorted(chosen[:n_test]),
        "val": sorted(chosen[n_test : n_test + n_val]),
        "train": sorted(chosen[n_test + n_val :]),
    }


def _split_bytes(files: list[Path]) -> Tensor:
    blob = b"".join(p.read_bytes() for p in files)
    return torch.frombuffer(bytearray(blob), dtype=torch.uint8) if blob else torch.empty(0, dtype=torch.uint8)


def build_stdlib_text(config: StdlibTextConfig) -> DatasetSplits:
    """Build the standard-library text corpus.

    Args:
        config: What to read and how to cut it.

    Returns:
        Splits of :class:`LMWindows` (val/test are None when their fraction is 0), with a
        :class:`DatasetInfo` whose fingerprint covers every file's bytes, the split assignment and
        the windowing.

    Raises:
        DataError: The root is missing, or a split is too small for one sample.

    Example:
        >>> splits = build_stdlib_text(StdlibTextConfig(seq_len=64))  # doctest: +SKIP
        >>> x, y = splits.train[0]; bool((x[1:] == y[:-1]).all())  # doctest: +SKIP
        True
    """
    root = Path(config.root) if config.root is not None else stdlib_root()
    files = select_files(config, root)
    stride = config.stride or config.seq_len
    splits: dict[str, LMWindows | None] = {}
    for name, paths in files.items():
        splits[name] = (
            LMWindows(_split_bytes(paths), config.seq_len, stride, where=f"stdlib_text {name} split") if paths else None
        )
    names = {split: [p.relative_to(root).as_posix() for p in paths] for split, paths in files.items()}
    all_files = [p for paths in files.values() for p in paths]
    fingerprint = digest(
        {
            "files": fingerprint_files(all_files, root=root),
            "splits": names,
            "seq_len": config.seq_len,
            "stride": stride,
        }
    )
    python = ".".join(map(str, sys.version_info[:3]))
    info = DatasetInfo(
        name="nlp.stdlib_text",
        version=f"python-{python}" if config.root is None else "custom",
        source=str(root),
        license="PSF-2.0" if config.root is None else "unknown",
        fingerprint=fingerprint,
        num_classes=None,
        task="language-modeling",
        extra={"vocab_size": VOCAB_SIZE, "seq_len": config.seq_len, "stride": stride, "files": names},
    )
    return DatasetSplits(train=splits["train"], val=splits["val"], test=splits["test"], info=info)
