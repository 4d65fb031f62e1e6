"""Atomic writes: readers see old or new content, never a mix; failures leave no trace."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from forge.core import _atomic
from forge.core._atomic import atomic_directory, write_bytes, write_file, write_json, write_text


def test_concurrent_writers_to_one_path_never_collide_or_leave_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "shared.bin"
    size, writers, rounds = 1 << 18, 4, 15
    write_bytes(target, b"\0" * size)
    errors: list[BaseException] = []
    done = threading.Event()

    def writer(n: int) -> None:
        try:
            for _ in range(rounds):
                write_bytes(target, bytes([n]) * size)
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        while not done.is_set():
            data = target.read_bytes()
            if len(data) != size or len(set(data)) != 1:
                errors.append(AssertionError(f"partial or mixed file: {len(data)} bytes, {len(set(data))} values"))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(1, writers + 1)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()
    assert errors == []
    assert len(set(target.read_bytes())) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["shared.bin"]


def test_a_failing_write_keeps_the_old_content_and_no_temporary_file(tmp_path: Path) -> None:
    target = write_text(tmp_path / "config.toml", "old = 1\n")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text("new = ", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_file(target, half_then_fail)
    with pytest.raises(TypeError):
        write_json(target, {"not json": object()})
    assert target.read_text(encoding="utf-8") == "old = 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


def test_writes_create_the_folder_and_json_is_indented_with_a_final_newline(tmp_path: Path) -> None:
    path = write_json(tmp_path / "a" / "b" / "m.json", {"b": 1, "a": 2}, sort_keys=True)
    assert path.read_text(encoding="utf-8") == '{\n  "a": 2,\n  "b": 1\n}\n'
    assert json.loads(write_json(tmp_path / "p.json", {"p": tmp_path}, default=str).read_text())["p"] == str(tmp_path)


def test_durable_writes_fsync_the_file_and_then_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[Path] = []
    real = _atomic._fsync
    monkeypatch.setattr(_atomic, "_fsync", lambda path: (synced.append(path), real(path)))
    write_text(tmp_path / "index.json", "{}", durable=True)
    assert len(synced) == 2 and synced[0].name.startswith(".index.json.tmp-") and synced[1] == tmp_path
    synced.clear()
    write_text(tmp_path / "index.json", "{}")
    assert synced == []


def test_atomic_directory_moves_a_complete_folder_into_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[Path] = []
    real = _atomic._fsync
    monkeypatch.setattr(_atomic, "_fsync", lambda path: (synced.append(path), real(path)))
    target = tmp_path / "step-1"
    with atomic_directory(target) as tmp:
        assert tmp.parent == tmp_path and not target.exists()
        (tmp / "sub").mkdir()
        (tmp / "sub" / "w.bin").write_bytes(b"w")
        (tmp / "manifest.json").write_text("{}")
    assert sorted(p.name for p in target.rglob("*")) == ["manifest.json", "sub", "w.bin"]
    assert {p.name for p in synced} >= {"w.bin", "manifest.json", tmp_path.name}
    assert [p.name for p in tmp_path.iterdir()] == ["step-1"]


def test_atomic_directory_failure_or_refusal_leaves_the_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "step-1"
    with atomic_directory(target) as tmp:
        (tmp / "old").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(target, overwrite=True) as tmp:
        (tmp / "new").write_text("new")
        raise RuntimeError("killed")
    with pytest.raises(FileExistsError), atomic_directory(target):
        pass
    assert [p.name for p in target.iterdir()] == ["old"]
    assert [p.name for p in tmp_path.iterdir()] == ["step-1"]


def test_atomic_directory_overwrite_replaces_and_removes_the_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "step-1"
    for name in ("old", "new"):
        with atomic_directory(target, overwrite=True, durable=False) as tmp:
            (tmp / name).write_text(name)
    assert [p.name for p in target.iterdir()] == ["new"]
    assert [p.name for p in tmp_path.iterdir()] == ["step-1"]


def test_atomic_directory_refuses_a_target_that_appeared_while_it_was_filled(tmp_path: Path) -> None:
    target = tmp_path / "step-1"
    with pytest.raises(FileExistsError), atomic_directory(target) as tmp:
        (tmp / "mine").write_text("mine")
        target.mkdir()
        (target / "theirs").write_text("theirs")
    assert [p.name for p in target.iterdir()] == ["theirs"]
    assert [p.name for p in tmp_path.iterdir()] == ["step-1"]
