"""The standard-library text corpus: deterministic selection, disjoint splits, shifted targets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from forge.core.errors import DataError
from forge.nlp.datasets import LMWindows, StdlibTextConfig, build_stdlib_text, select_files, stdlib_root
from forge.nlp.tokenizers import ByteTokenizer


def _corpus(tmp_path: Path, n: int = 10) -> Path:
    for i in range(n):
        (tmp_path / f"m{i}.py").write_text(f"# module {i} é\n" + "x = 1\n" * (i + 5), encoding="utf-8")
    (tmp_path / "latin1.py").write_bytes(b"# caf\xe9\n" * 20)
    (tmp_path / "notes.txt").write_text("not python\n" * 20, encoding="utf-8")
    return tmp_path


def test_windows_are_next_byte_pairs() -> None:
    data = torch.arange(20, dtype=torch.uint8)
    ds = LMWindows(data, seq_len=5, stride=3)
    assert len(ds) == 5  # starts 0, 3, 6, 9, 12 (the last needs bytes 12..17)
    x, y = ds[4]
    assert x.tolist() == [12, 13, 14, 15, 16] and y.tolist() == [13, 14, 15, 16, 17]
    assert ds[-1][0].tolist() == x.tolist()
    with pytest.raises(IndexError):
        ds[5]
    with pytest.raises(DataError, match="too short"):
        LMWindows(torch.zeros(5, dtype=torch.uint8), seq_len=5, stride=1)


def test_selection_is_deterministic_disjoint_and_skips_non_utf8(tmp_path: Path) -> None:
    root = _corpus(tmp_path)
    config = StdlibTextConfig(root=str(root), val_fraction=0.2, test_fraction=0.2, max_files=10)
    files = select_files(config, root)
    assert files == select_files(config, root)
    names = [p.name for split in files.values() for p in split]
    assert sorted(names) == sorted(f"m{i}.py" for i in range(10))
    assert (len(files["train"]), len(files["val"]), len(files["test"])) == (6, 2, 2)
    other = select_files(StdlibTextConfig(root=str(root), val_fraction=0.2, test_fraction=0.2, seed=1), root)
    assert other != files  # a different seed reassigns files (10 files: collision is negligible)


def test_samples_are_the_split_files_bytes(tmp_path: Path) -> None:
    root = _corpus(tmp_path)
    config = StdlibTextConfig(root=str(root), seq_len=8, stride=4)
    splits = build_stdlib_text(config)
    files = select_files(config, root)
    blob = b"".join(p.read_bytes() for p in files["train"])
    assert splits.train is not None
    x, y = splits.train[3]
    assert bytes(x.tolist()) == blob[12:20] and bytes(y.tolist()) == blob[13:21]
    assert splits.info.task == "language-modeling"
    assert splits.info.extra["files"]["train"] == [p.name for p in files["train"]]


def test_fingerprint_follows_content_and_windowing(tmp_path: Path) -> None:
    root = _corpus(tmp_path)
    base = build_stdlib_text(StdlibTextConfig(root=str(root), seq_len=8)).info.fingerprint
    assert base == build_stdlib_text(StdlibTextConfig(root=str(root), seq_len=8)).info.fingerprint
    assert base != build_stdlib_text(StdlibTextConfig(root=str(root), seq_len=9)).info.fingerprint
    (root / "m3.py").write_text("# changed\n" * 9, encoding="utf-8")
    assert base != build_stdlib_text(StdlibTextConfig(root=str(root), seq_len=8)).info.fingerprint


def test_too_few_files_is_a_clear_error(tmp_path: Path) -> None:
    root = _corpus(tmp_path, n=2)
    with pytest.raises(DataError, match="too few"):
        build_stdlib_text(StdlibTextConfig(root=str(root)))
    with pytest.raises(DataError, match="not a folder"):
        build_stdlib_text(StdlibTextConfig(root=str(tmp_path / "missing")))


def test_real_stdlib_corpus_decodes_as_python_source() -> None:
    splits = build_stdlib_text(StdlibTextConfig(seq_len=64, max_files=8))
    assert splits.info.source == str(stdlib_root())
    assert isinstance(splits.train, LMWindows) and splits.val is not None
    train_files = set(splits.info.extra["files"]["train"])
    assert train_files.isdisjoint(splits.info.extra["files"]["test"])
    x, _ = splits.train[0]
    assert len(ByteTokenizer().decode(x)) > 0
    assert isinstance(splits.test, LMWindows)
    assert len(splits.train) + len(splits.test) > 100
