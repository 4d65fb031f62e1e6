"""Fingerprints are content hashes: stable across runs, sensitive to every byte, dtype and shape."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from forge.core.data._fingerprint import fingerprint_dataset, fingerprint_files, fingerprint_samples
from forge.core.errors import DataError


def test_files_hash_ignores_order_and_sees_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(b"one")
    b.write_bytes(b"two")
    first = fingerprint_files([a, b], root=tmp_path)
    assert first == fingerprint_files([b, a], root=tmp_path)
    b.write_bytes(b"twO")
    assert fingerprint_files([a, b], root=tmp_path) != first


def test_files_hash_survives_moving_the_root(tmp_path: Path) -> None:
    for folder in ("x", "y"):
        (tmp_path / folder / "sub").mkdir(parents=True)
        (tmp_path / folder / "sub" / "f.bin").write_bytes(b"\x00\x01")
    assert fingerprint_files([tmp_path / "x/sub/f.bin"], root=tmp_path / "x") == fingerprint_files(
        [tmp_path / "y/sub/f.bin"], root=tmp_path / "y"
    )


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nope"):
        fingerprint_files([tmp_path / "nope"])


def test_samples_hash_covers_dtype_shape_and_values() -> None:
    base = fingerprint_samples([(torch.arange(4), 1)])
    assert base == fingerprint_samples([(torch.arange(4), 1)])
    assert base != fingerprint_samples([(torch.arange(4).int(), 1)])
    assert base != fingerprint_samples([(torch.arange(4).reshape(2, 2), 1)])
    assert base != fingerprint_samples([(torch.arange(4), 2)])
    assert base != fingerprint_samples([(torch.arange(4), 1), (torch.arange(4), 1)])


def test_limit_only_hashes_the_first_samples() -> None:
    assert fingerprint_samples(iter([1, 2, 3]), limit=2) == fingerprint_samples([1, 2, 9], limit=2)


def test_map_dataset_hash_includes_length() -> None:
    small = torch.utils.data.TensorDataset(torch.arange(5))
    big = torch.utils.data.TensorDataset(torch.arange(6))
    assert fingerprint_dataset(small, limit=3) != fingerprint_dataset(big, limit=3)


def test_deterministic_across_processes() -> None:
    code = (
        "import torch; from forge.core.data._fingerprint import fingerprint_samples;"
        "print(fingerprint_samples([{'x': torch.ones(3, dtype=torch.bfloat16), 'y': 'é'}]))"
    )
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    here = fingerprint_samples([{"x": torch.ones(3, dtype=torch.bfloat16), "y": "é"}])
    assert outputs == {here + "\n"}
