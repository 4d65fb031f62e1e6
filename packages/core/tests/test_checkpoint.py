"""Checkpoints: exact round trips without pickle, hash verification, atomic saves, retention."""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from forge.core._checkpoint import (
    CheckpointManager,
    flatten_state,
    load_checkpoint,
    save_checkpoint,
    unflatten_state,
    verify_checkpoint,
)
from forge.core._reproducibility import capture_rng_state
from forge.core.errors import CheckpointError

SRC = Path(__file__).resolve().parents[1] / "src"


def assert_same(a: Any, b: Any, where: str = "$") -> None:
    """Structural equality that also checks types (int vs float, tuple vs list) and tensor bits."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        if a.numel():
            assert torch.equal(a.reshape(-1).view(torch.uint8), b.reshape(-1).view(torch.uint8)), where
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, where


def trained_state() -> dict[str, Any]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(5, 4)).sum().backward()
        opt.step()
    return {"model": model.state_dict(), "optimizer": opt.state_dict()}


def test_flatten_round_trip_keeps_every_type_exactly() -> None:
    base = torch.arange(12, dtype=torch.float32)
    state = {
        "ints": 3,
        "float_whole": 2.0,
        "nan": math.nan,
        "inf": -math.inf,
        "flag": True,
        "none": None,
        "text": "adamw",
        "betas": (0.9, 0.999),
        "nested": [[1, 2.5, None], {"k": (1, [2, 3])}],
        "int_keys": {0: {"step": torch.tensor(3.0)}, 7: "x"},
        "view": base[2:6],
        "shared": base,
        "transposed": torch.randn(3, 4).t(),
        "bf16": torch.randn(2, 2).to(torch.bfloat16),
        "bools": torch.tensor([True, False]),
        "empty": torch.zeros(0, 3),
        "scalar": torch.tensor(5, dtype=torch.int64),
        "numpy": np.arange(4, dtype=np.uint32),
        "np_scalar": np.float64(1.5),
        "dotted.key": torch.ones(1),
        "dotted": {"key": torch.zeros(1)},
    }
    tensors, skeleton = flatten_state(state)
    for t in tensors.values():
        assert t.is_contiguous()
    # Shared storage is broken up, so safetensors accepts it; JSON round-trips the skeleton.
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"flat-{os.getpid()}.safetensors"
    from safetensors.torch import save_file

    save_file(tensors, str(path))
    loaded = load_file(str(path))
    path.unlink()
    restored = unflatten_state(loaded, json.loads(json.dumps(skeleton)))
    assert_same(restored, state)


def test_flatten_refuses_unstorable_values_naming_the_path() -> None:
    with pytest.raises(CheckpointError, match=r"\$\['a'\]\['b'\]"):
        flatten_state({"a": {"b": object()}})
    with pytest.raises(CheckpointError, match="key"):
        flatten_state({"a": {(1, 2): 3}})


def test_save_and_load_model_optimizer_rng(tmp_path: Path) -> None:
    state = trained_state()
    rng = capture_rng_state()
    path = save_checkpoint(tmp_path / "ckpt", {**state, "rng": rng}, {"step": 2, "config": {"lr": 0.01}})
    assert sorted(p.name for p in path.iterdir()) == [
        "manifest.json",
        "model.safetensors",
        "optimizer.safetensors",
        "rng.safetensors",
    ]
    # The model file is a plain state dict other tools can read with the usual names.
    assert set(load_file(str(path / "model.safetensors"))) == set(state["model"])
    ckpt = load_checkpoint(path)
    assert ckpt.manifest == {"step": 2, "config": {"lr": 0.01}}
    assert ckpt.format_version == 1
    assert_same(ckpt.groups["model"], dict(state["model"]))
    assert_same(ckpt.groups["optimizer"], state["optimizer"])
    assert_same(ckpt.groups["rng"], rng)
    manifest = json.loads((path / "manifest.json").read_text())
    assert set(manifest["files"]) == {"model.safetensors", "optimizer.safetensors", "rng.safetensors"}


def test_no_pickle_in_any_written_file(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c", trained_state(), {})
    for f in path.iterdir():
        data = f.read_bytes()
        if f.suffix == ".safetensors":
            # safetensors: 8-byte little-endian header length, a JSON header, then raw bytes.
            n = int.from_bytes(data[:8], "little")
            header = json.loads(data[8 : 8 + n])
            assert all(k == "__metadata__" or set(v) == {"dtype", "shape", "data_offsets"} for k, v in header.items())
        else:
            assert f.name == "manifest.json"
            json.loads(data)


def test_save_refuses_existing_directory_unless_overwrite(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "c", {"m": {"w": torch.zeros(2)}}, {"v": 1})
    with pytest.raises(CheckpointError, match="already exists"):
        save_checkpoint(tmp_path / "c", {"m": {"w": torch.ones(2)}}, {"v": 2})
    save_checkpoint(tmp_path / "c", {"m": {"w": torch.ones(2)}}, {"v": 2}, overwrite=True)
    assert load_checkpoint(tmp_path / "c").manifest == {"v": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["c"]


def test_save_rejects_non_json_manifest_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="JSON"):
        save_checkpoint(tmp_path / "c", {"m": {"w": torch.zeros(1)}}, {"bad": object()})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_corrupted_file_is_refused_naming_file_and_hashes(tmp_path: Path, damage: str) -> None:
    path = save_checkpoint(tmp_path / "c", trained_state(), {})
    target = path / "optimizer.safetensors"
    expected = json.loads((path / "manifest.json").read_text())["files"]["optimizer.safetensors"]
    data = bytearray(target.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    elif damage == "truncate":
        target.write_bytes(bytes(data[: len(data) // 3]))
    else:
        target.unlink()
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "optimizer.safetensors" in message and expected in message
    if damage != "delete":
        assert "got " in message


def test_edited_manifest_is_refused(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c", {"m": {"w": torch.zeros(1)}}, {"step": 1})
    text = (path / "manifest.json").read_text().replace('"step": 1', '"step": 2')
    (path / "manifest.json").write_text(text)
    with pytest.raises(CheckpointError, match="manifest.json is corrupted"):
        load_checkpoint(path)
    (path / "manifest.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"manifest\.json is damaged \(line 1, column 2: .*cannot be loaded"):
        verify_checkpoint(path)


def test_checkpoint_digested_as_forge_core_0_1_did_still_verifies(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c", {"m": {"w": torch.zeros(1)}}, {"note": "ünïcode ✓", "lr": 0.1})
    body = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    del body["digest"]
    # forge-core 0.1 hashed the manifest body this way and stored the digest beside it.
    old = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()
    (path / "manifest.json").write_text(json.dumps({**body, "digest": old}, indent=1), encoding="utf-8")
    assert load_checkpoint(path).manifest["note"] == "ünïcode ✓"
    body["digest"] = old
    (path / "manifest.json").write_text(json.dumps(body, indent=1).replace('"lr": 0.1', '"lr": NaN'), encoding="utf-8")
    with pytest.raises(CheckpointError, match="manifest.json is corrupted"):
        verify_checkpoint(path)


def _save_step(manager: CheckpointManager, step: int, loss: float) -> Path:
    return manager.save(step, {"model": {"w": torch.full((2,), float(step))}}, {"step": step}, {"val/loss": loss})


def test_manager_keeps_last_n_and_best_k(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path, keep_last=2, keep_best=1, monitor="val/loss", mode="min")
    losses = {1: 0.9, 2: 0.2, 3: 0.5, 4: 0.6, 5: 0.7}
    for step, loss in losses.items():
        _save_step(manager, step, loss)
    assert [e.step for e in manager.entries] == [2, 4, 5]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["step-000002", "step-000004", "step-000005"]
    assert manager.latest() == tmp_path / "step-000005"
    assert manager.best() == tmp_path / "step-000002"
    index = json.loads((tmp_path / "index.json").read_text())
    assert [c["step"] for c in index["checkpoints"]] == [2, 4, 5]
    # A new manager on the same root sees the same state.
    again = CheckpointManager(tmp_path, keep_last=2, keep_best=1)
    assert again.best() == tmp_path / "step-000002"
    assert again.latest() == tmp_path / "step-000005"


def test_manager_mode_max_and_missing_metric(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path, keep_last=1, keep_best=1, monitor="val/acc", mode="max")
    manager.save(1, {"m": {"w": torch.zeros(1)}}, {}, {"val/acc": 0.8})
    manager.save(2, {"m": {"w": torch.zeros(1)}}, {}, {"val/acc": 0.6})
    manager.save(3, {"m": {"w": torch.zeros(1)}}, {}, None)
    assert [e.step for e in manager.entries] == [1, 3]
    assert manager.best() == tmp_path / "step-000001"


def test_latest_good_skips_corrupted_checkpoints(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path, keep_last=3)
    for step in (10, 20, 30):
        _save_step(manager, step, 1.0)
    f = tmp_path / "step-000030" / "model.safetensors"
    f.write_bytes(f.read_bytes()[:-3])
    (tmp_path / "step-000020" / "manifest.json").unlink()
    assert manager.latest() == tmp_path / "step-000030"
    assert manager.latest_good() == tmp_path / "step-000010"
    assert torch.equal(load_checkpoint(manager.latest_good() or tmp_path).groups["model"]["w"], torch.full((2,), 10.0))


def test_manager_recovers_orphans_and_leftovers(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path, keep_last=5)
    _save_step(manager, 1, 0.5)
    # A save that died after its rename but before the index write, and one that died midway.
    save_checkpoint(tmp_path / "step-000002", {"model": {"w": torch.zeros(2)}}, {})
    (tmp_path / ".step-000003.tmp-abc").mkdir()
    # An overwrite that died between moving the old checkpoint aside and renaming the new one in.
    _save_step(manager, 4, 0.5)
    os.replace(tmp_path / "step-000004", tmp_path / ".step-000004.old-xyz")
    recovered = CheckpointManager(tmp_path, keep_last=5)
    assert [e.step for e in recovered.entries] == [1, 2, 4]
    assert not (tmp_path / ".step-000003.tmp-abc").exists()
    assert recovered.latest_good() == tmp_path / "step-000004"


_CHILD = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, {src!r})
    import torch
    from forge.core import _checkpoint as checkpoint
    from forge.core._checkpoint import CheckpointManager

    root, mode, marker = sys.argv[1], sys.argv[2], sys.argv[3]
    manager = CheckpointManager(root, keep_last=2)
    big = torch.randn(1_000_000)
    if mode == "pause":
        original = checkpoint._write_tensors
        def slow(tensors, path):
            # Write half the file, announce it, and wait to be killed.
            original(tensors, path)
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2])
            open(marker, "w").close()
            time.sleep(60)
        checkpoint._write_tensors = slow
        manager.save(2, {{"model": {{"w": big * 2}}}}, {{"step": 2}})
    elif mode == "before_rename":
        original_replace = os.replace
        def stop(src, dst):
            if os.path.basename(str(dst)).startswith("step-"):
                open(marker, "w").close()
                time.sleep(60)
            original_replace(src, dst)
        checkpoint.os.replace = stop
        manager.save(2, {{"model": {{"w": big * 2}}}}, {{"step": 2}})
    else:
        open(marker, "w").close()
        step = 2
        while True:
            manager.save(step, {{"model": {{"w": torch.full((1_000_000,), float(step))}}}}, {{"step": step}})
            step += 1
    """
)


def _spawn(root: Path, mode: str, marker: Path) -> subprocess.Popen[bytes]:
    code = _CHILD.format(src=str(SRC))
    return subprocess.Popen([sys.executable, "-c", code, str(root), mode, str(marker)])


def _wait_for(marker: Path, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        assert proc.poll() is None, "child exited before reaching the save"
        assert time.monotonic() < deadline, "child never reached the save"
        time.sleep(0.02)


@pytest.mark.parametrize("mode", ["pause", "before_rename"])
def test_sigkill_mid_save_leaves_previous_checkpoint_loadable(tmp_path: Path, mode: str) -> None:
    root = tmp_path / "ckpts"
    manager = CheckpointManager(root, keep_last=2)
    manager.save(1, {"model": {"w": torch.arange(5.0)}}, {"step": 1})
    marker = tmp_path / "marker"
    proc = _spawn(root, mode, marker)
    try:
        _wait_for(marker, proc)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert any(".tmp-" in p.name for p in root.iterdir()), "the kill should have left a partial save behind"
    resumed = CheckpointManager(root, keep_last=2)
    good = resumed.latest_good()
    assert good == root / "step-000001"
    ckpt = load_checkpoint(good)
    assert torch.equal(ckpt.groups["model"]["w"], torch.arange(5.0))
    assert not any(".tmp-" in p.name for p in root.iterdir())


def test_sigkill_at_random_times_always_leaves_a_good_checkpoint(tmp_path: Path) -> None:
    rng = random.Random(1234)
    root = tmp_path / "ckpts"
    CheckpointManager(root, keep_last=2).save(1, {"model": {"w": torch.full((1_000_000,), 1.0)}}, {"step": 1})
    for attempt in range(3):
        marker = tmp_path / f"marker-{attempt}"
        proc = _spawn(root, "loop", marker)
        try:
            _wait_for(marker, proc)
            time.sleep(rng.uniform(0.05, 0.6))
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        manager = CheckpointManager(root, keep_last=2)
        good = manager.latest_good()
        assert good is not None
        ckpt = load_checkpoint(good)
        step = ckpt.manifest["step"]
        assert step >= 1
        assert torch.equal(ckpt.groups["model"]["w"], torch.full((1_000_000,), float(step)))
        for entry in manager.entries:
            verify_checkpoint(root / entry.name)
