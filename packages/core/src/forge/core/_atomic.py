"""Atomic writes: a reader sees the old file (or folder) or the complete new one, never a partial one.

Every writer of forge goes through here. A file is written to a unique temporary name beside
its target (``.<name>.tmp-<random>``, so concurrent writers never share one) and renamed over the
target with ``os.replace``; a failed write removes its temporary file and leaves the target as it
was. With ``durable=True`` the file and then its folder are fsynced, so the new content also
survives a power loss, not only a crash of the process.

:func:`atomic_directory` does the same for a whole folder (a checkpoint): the caller fills a
temporary folder, which then replaces the target. An existing target is first renamed aside to
``.<name>.old-<random>`` and deleted after the swap; the owner of the parent folder may restore
such a leftover when a crash hit between the two renames.

Example::

    write_json(run / "metrics.json", {"val/loss": 0.3})
    with atomic_directory(root / "step-000100", overwrite=True) as tmp:
        (tmp / "weights.bin").write_bytes(data)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_directory", "write_bytes", "write_file", "write_json", "write_text"]


def _sibling(target: Path, tag: str) -> Path:
    return target.parent / f".{target.name}.{tag}-{uuid.uuid4().hex[:12]}"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # Makes a rename itself durable; not every platform can open a folder for fsync (Windows).
    with contextlib.suppress(OSError):
        _fsync(path)


def write_file(path: str | os.PathLike[str], write: Callable[[Path], object], *, durable: bool = False) -> Path:
    """Write a file atomically through ``write``, which writes the content to the path it is given.

    For writers that need a path (``safetensors.torch.save_file``); :func:`write_bytes`,
    :func:`write_text` and :func:`write_json` cover the rest. The target's folder is created.

    Args:
        path: The file to write.
        write: Called once with the temporary path to fill.
        durable: Fsync the file before the rename and the folder after it.

    Returns:
        The path written.

    Raises:
        OSError: The write or the rename failed; the old content of ``path`` is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(target, "tmp")
    try:
        write(tmp)
        if durable:
            _fsync(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(target.parent)
    return target


def write_bytes(path: str | os.PathLike[str], data: bytes, *, durable: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`write_file`)."""
    return write_file(path, lambda tmp: tmp.write_bytes(data), durable=durable)


def write_text(path: str | os.PathLike[str], text: str, *, durable: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically, as UTF-8 (see :func:`write_file`)."""
    return write_bytes(path, text.encode("utf-8"), durable=durable)


def write_json(
    path: str | os.PathLike[str],
    data: Any,
    *,
    durable: bool = False,
    sort_keys: bool = False,
    default: Callable[[Any], Any] | None = None,
) -> Path:
    """Write ``data`` as indented JSON with a final newline, atomically (see :func:`write_file`).

    Args:
        path: The file to write.
        data: JSON-able data; ``default`` converts anything else.
        durable: Fsync the file and its folder.
        sort_keys: Sort the keys of every object.
        default: As for :func:`json.dumps`.

    Raises:
        TypeError, ValueError: ``data`` is not JSON-able (nothing is written).
        OSError: The write failed; the old content of ``path`` is untouched.
    """
    text = json.dumps(data, indent=2, sort_keys=sort_keys, default=default) + "\n"
    return write_text(path, text, durable=durable)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str], *, overwrite: bool = False, durable: bool = True) -> Iterator[Path]:
    """Build a folder in a temporary folder beside ``path``, then move it into place.

    The caller fills the yielded folder (plainly: no file in it needs its own atomic write). When
    the block ends normally, every file in it and the folder are fsynced (``durable``) and it is
    renamed to ``path``; when the block raises, the temporary folder is deleted and ``path`` is
    untouched.

    Args:
        path: The folder to create (its parent is created too).
        overwrite: Replace an existing ``path``: it is renamed aside before the new folder is
            renamed in and deleted after, so only that instant leaves no ``path``.
        durable: Fsync the files, the folder and the parent folder.

    Yields:
        The temporary folder to fill.

    Raises:
        FileExistsError: ``path`` exists (when entering or when renaming in) and ``overwrite`` is false.
        OSError: Creating, syncing or renaming failed.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(target, "tmp")
    tmp.mkdir()
    old: Path | None = None
    try:
        yield tmp
        if durable:
            for child in tmp.rglob("*"):
                if child.is_file():
                    _fsync(child)
            _fsync_dir(tmp)
        if target.exists():
            if not overwrite:
                raise FileExistsError(f"{target} already exists")
            old = _sibling(target, "old")
            os.replace(target, old)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if durable:
        _fsync_dir(target.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
