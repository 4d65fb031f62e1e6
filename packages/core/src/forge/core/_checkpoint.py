"""Checkpoints: safetensors for every tensor, JSON for everything else, atomic on disk.

A checkpoint is a directory::

    step-000123/
        model.safetensors        one file per group: "model", "optimizer", "ema", "scheduler", ...
        optimizer.safetensors
        manifest.json            format version, created time, each group's skeleton, SHA-256 of
                                 every file, the caller's manifest (config, versions, data position)

Nested state (an optimizer's ``state_dict()`` with integer keys, tuples of betas, ``None``, RNG
states) is split by :func:`flatten_state` into flat tensors plus a JSON skeleton and rebuilt
exactly by :func:`unflatten_state`. Nothing is pickled, so loading a checkpoint runs no code.

:func:`save_checkpoint` writes through :func:`forge.core._atomic.atomic_directory` (a temporary
directory beside the target, every file and the directory fsynced, renamed into place): a process
killed during a save leaves the previous checkpoint untouched. :func:`load_checkpoint` verifies
every hash before it trusts a byte.
:class:`CheckpointManager` numbers checkpoints by step, keeps the last N and the best K by a
metric, and finds the newest checkpoint that still verifies.

Example::

    path = save_checkpoint("runs/a/ckpt", {"model": model.state_dict()}, {"step": 10})
    ckpt = load_checkpoint(path)
    model.load_state_dict(ckpt.groups["model"])
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from forge.core._atomic import atomic_directory, write_json
from forge.core._digest import digest, file_sha256
from forge.core._logging import get_logger
from forge.core._run_files import read_json, what_still_works
from forge.core.errors import CheckpointError, DataError

__all__ = [
    "FORMAT_VERSION",
    "Checkpoint",
    "CheckpointEntry",
    "CheckpointManager",
    "IndexRebuild",
    "flatten_state",
    "load_checkpoint",
    "read_index",
    "rebuild_index",
    "save_checkpoint",
    "unflatten_state",
    "verify_checkpoint",
]

FORMAT_VERSION = 1
"""Version of the on-disk layout; :func:`load_checkpoint` refuses newer versions."""

MANIFEST_NAME = "manifest.json"
INDEX_NAME = "index.json"
_GROUP_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_STEP_DIR = re.compile(r"^step-(\d+)$")

_log = get_logger(__name__)

# ----------------------------------------------------------------------------------------------
# flatten / unflatten
# ----------------------------------------------------------------------------------------------


def flatten_state(state: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split nested state into flat tensors and a JSON-able skeleton.

    Tensors are detached, moved to CPU, made contiguous, and cloned when they share storage with
    a tensor already taken (safetensors refuses shared storage). A tensor's name is its key path
    joined by dots (so a model's ``state_dict()`` keeps its usual names); a collision gets a
    ``~n`` suffix, and the skeleton records the exact name either way.

    The skeleton keeps what JSON would lose: integer dict keys, tuples versus lists, ``bool``
    versus ``int``, ``int`` versus ``float``, non-finite floats, numpy arrays and scalars.

    Args:
        state: A mapping of anything built from dicts, lists, tuples, tensors, numpy arrays and
            scalars, ``None``, ``bool``, ``int``, ``float`` and ``str``.

    Returns:
        ``(tensors, skeleton)``: tensors ready for ``safetensors.torch.save_file`` and a skeleton
        that ``json.dumps`` accepts.

    Raises:
        CheckpointError: A value has a type that cannot be stored; the message names its key path.
    """
    if not isinstance(state, Mapping):
        raise CheckpointError(f"flatten_state expects a mapping, got {type(state).__name__}")
    flattener = _Flattener()
    skeleton = flattener.encode(state, ())
    return flattener.tensors, skeleton


def unflatten_state(tensors: Mapping[str, torch.Tensor], skeleton: Mapping[str, Any]) -> Any:
    """Rebuild the state :func:`flatten_state` split, exactly.

    Args:
        tensors: The flat tensors (as loaded from safetensors).
        skeleton: The skeleton :func:`flatten_state` returned (possibly after a JSON round trip).

    Returns:
        The original nested structure, with every tensor taken from ``tensors``.

    Raises:
        CheckpointError: The skeleton is malformed or names a tensor that is missing.
    """
    return _decode(skeleton, tensors, "$")


class _Flattener:
    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}
        self._storages: set[tuple[str, int]] = set()

    def encode(self, value: Any, path: tuple[str, ...]) -> Any:
        # numpy scalars first (np.float64 subclasses float), bool before int (bool subclasses int).
        if isinstance(value, np.generic):
            return {"t": "npscalar", "dtype": value.dtype.str, "v": self.encode(value.item(), path)}
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value) if math.isfinite(value) else {"t": "float", "v": repr(float(value))}
        if isinstance(value, torch.Tensor):
            return {"t": "tensor", "name": self._add_tensor(value, path)}
        if isinstance(value, np.ndarray):
            tensor = torch.from_numpy(np.ascontiguousarray(value))
            return {"t": "ndarray", "name": self._add_tensor(tensor, path)}
        if isinstance(value, Mapping):
            if all(isinstance(k, str) for k in value):
                return {"t": "dict", "v": {k: self.encode(v, (*path, k)) for k, v in value.items()}}
            items = []
            for k, v in value.items():
                if not isinstance(k, (str, int)) or isinstance(k, bool):
                    raise CheckpointError(
                        f"cannot store key {k!r} of type {type(k).__name__} at {_show(path)}: "
                        "only str and int keys are supported"
                    )
                items.append([k, self.encode(v, (*path, str(k)))])
            return {"t": "dict", "items": items}
        if isinstance(value, tuple):
            return {"t": "tuple", "v": [self.encode(v, (*path, str(i))) for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.encode(v, (*path, str(i))) for i, v in enumerate(value)]
        raise CheckpointError(
            f"cannot store a value of type {type(value).__name__} at {_show(path)}: use tensors, "
            "numbers, strings, None, lists, tuples or dicts (nothing is pickled)"
        )

    def _add_tensor(self, tensor: torch.Tensor, path: tuple[str, ...]) -> str:
        t = tensor.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        if not t.is_contiguous():
            t = t.contiguous()
        if t.numel() > 0:
            key = (t.device.type, t.untyped_storage().data_ptr())
            if key in self._storages:
                t = t.clone()
            else:
                self._storages.add(key)
        base = ".".join(path) or "tensor"
        name, n = base, 0
        while name in self.tensors:
            n += 1
            name = f"{base}~{n}"
        self.tensors[name] = t
        return name


def _show(path: tuple[str, ...]) -> str:
    return "$" + "".join(f"[{p!r}]" for p in path)


def _decode(node: Any, tensors: Mapping[str, torch.Tensor], where: str) -> Any:
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode(v, tensors, f"{where}[{i}]") for i, v in enumerate(node)]
    if not isinstance(node, Mapping) or "t" not in node:
        raise CheckpointError(f"malformed checkpoint skeleton at {where}: {node!r:.80}")
    tag = node["t"]
    if tag == "dict":
        if "v" in node:
            return {k: _decode(v, tensors, f"{where}[{k!r}]") for k, v in node["v"].items()}
        return {k: _decode(v, tensors, f"{where}[{k!r}]") for k, v in node["items"]}
    if tag == "tuple":
        return tuple(_decode(v, tensors, f"{where}[{i}]") for i, v in enumerate(node["v"]))
    if tag == "float":
        return float(node["v"])
    if tag in ("tensor", "ndarray"):
        name = node["name"]
        if name not in tensors:
            raise CheckpointError(f"checkpoint skeleton at {where} names tensor {name!r}, which is missing")
        tensor = tensors[name]
        return tensor.numpy().copy() if tag == "ndarray" else tensor
    if tag == "npscalar":
        return np.dtype(node["dtype"]).type(_decode(node["v"], tensors, where))
    raise CheckpointError(f"unknown skeleton tag {tag!r} at {where}")


# ----------------------------------------------------------------------------------------------
# save / load one checkpoint
# ----------------------------------------------------------------------------------------------


@attrs.frozen
class Checkpoint:
    """A loaded, verified checkpoint.

    Attributes:
        path: The checkpoint directory.
        groups: Each group's restored state (``groups["model"]`` is the model's state dict).
        manifest: The caller's manifest as saved.
        format_version: The on-disk format version.
        created: When it was written (ISO 8601, UTC).
    """

    path: Path
    groups: dict[str, Any]
    manifest: dict[str, Any]
    format_version: int
    created: str


def save_checkpoint(
    directory: str | os.PathLike[str],
    groups: Mapping[str, Mapping[str, Any]],
    manifest: Mapping[str, Any],
    *,
    overwrite: bool = False,
) -> Path:
    """Write a checkpoint atomically.

    Each group becomes ``<group>.safetensors``; the skeletons, the SHA-256 of every file, the
    format version, the creation time and ``manifest`` go to ``manifest.json``. Everything is
    written into a temporary directory beside ``directory``, fsynced, and renamed into place, so a
    crash at any point leaves either the old state or the complete new checkpoint.

    Args:
        directory: Where the checkpoint goes (created; its parent is created too).
        groups: Group name -> nested state (e.g. ``{"model": model.state_dict(),
            "optimizer": opt.state_dict(), "rng": capture_rng_state()}``).
        manifest: JSON-able metadata: resolved config, versions, data position, counters.
        overwrite: Replace an existing checkpoint at ``directory``. The old one is moved aside
            before the new one is renamed in and deleted after, so only that instant is unsafe.

    Returns:
        The checkpoint directory.

    Raises:
        CheckpointError: ``directory`` exists and ``overwrite`` is false, a group name is not a
            plain file name, a value cannot be stored, or ``manifest`` is not JSON-able.
    """
    target = Path(directory)
    for name in groups:
        if not _GROUP_NAME.match(name) or name == "manifest":
            raise CheckpointError(f"invalid checkpoint group name {name!r}: use letters, digits, '_', '-', '.'")
    try:
        user_manifest = json.loads(json.dumps(manifest, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint manifest for {target} is not JSON-able: {exc}") from exc

    try:
        with atomic_directory(target, overwrite=overwrite) as tmp:
            files: dict[str, str] = {}
            skeletons: dict[str, Any] = {}
            for name, state in groups.items():
                tensors, skeleton = flatten_state(state)
                file_name = f"{name}.safetensors"
                _write_tensors(tensors, tmp / file_name)
                files[file_name] = file_sha256(tmp / file_name)
                skeletons[name] = {"file": file_name, "skeleton": skeleton}
            body = {
                "format_version": FORMAT_VERSION,
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(),
                "groups": skeletons,
                "files": files,
                "manifest": user_manifest,
            }
            # Key order is kept (no sort): a state dict's order is part of what is restored.
            (tmp / MANIFEST_NAME).write_text(json.dumps({**body, "digest": digest(body)}, indent=1), encoding="utf-8")
    except FileExistsError as exc:
        raise CheckpointError(f"checkpoint {target} already exists; pass overwrite=True to replace it") from exc
    return target


def verify_checkpoint(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Check a checkpoint's manifest digest and the SHA-256 of every file it lists.

    Args:
        directory: The checkpoint directory.

    Returns:
        The parsed ``manifest.json``.

    Raises:
        CheckpointError: The directory or a file is missing, the manifest is unreadable or from a
            newer format, or a file's hash differs (the message names the file and both hashes).
    """
    path = Path(directory)
    manifest_path = path / MANIFEST_NAME
    if not path.is_dir():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if not manifest_path.exists():
        raise CheckpointError(f"checkpoint {path} has no {MANIFEST_NAME}; {what_still_works(manifest_path)}")
    body = read_json(manifest_path)
    if "digest" not in body or not isinstance(body.get("files"), dict):
        raise CheckpointError(f"{manifest_path} is not a forge checkpoint manifest; {what_still_works(manifest_path)}")
    expected_digest = body.pop("digest")
    try:
        actual_digest = digest(body)
    except DataError as exc:
        raise CheckpointError(f"{manifest_path} is corrupted: {exc}") from exc
    if expected_digest != actual_digest:
        raise CheckpointError(
            f"{manifest_path} is corrupted: expected digest {expected_digest}, got {actual_digest}; "
            f"{what_still_works(manifest_path)}"
        )
    version = body.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{manifest_path} has format version {version!r}; this forge reads up to {FORMAT_VERSION}: "
            "upgrade forge-core"
        )
    for file_name, expected in body["files"].items():
        file_path = path / file_name
        if not file_path.is_file():
            raise CheckpointError(f"checkpoint file {file_path} is missing (expected sha256 {expected})")
        actual = file_sha256(file_path)
        if actual != expected:
            raise CheckpointError(
                f"checkpoint file {file_path} is corrupted or truncated: expected sha256 {expected}, got {actual}"
            )
    return dict(body)


def load_checkpoint(
    directory: str | os.PathLike[str],
    *,
    groups: Iterable[str] | None = None,
    verify: bool = True,
) -> Checkpoint:
    """Load and verify a checkpoint. Tensors are loaded on CPU.

    Args:
        directory: The checkpoint directory.
        groups: Only these groups (default all).
        verify: Check every file's SHA-256 first (leave on unless the caller just verified).

    Returns:
        The :class:`Checkpoint`, with each group rebuilt by :func:`unflatten_state`.

    Raises:
        CheckpointError: Missing, corrupted or truncated files (naming the file and the expected
            and actual hash), an unknown group, or a newer format.
    """
    path = Path(directory)
    if verify:
        body = verify_checkpoint(path)
    else:
        body = read_json(path / MANIFEST_NAME)
    available = body.get("groups")
    if not isinstance(available, dict) or not isinstance(body.get("manifest"), dict):
        raise CheckpointError(
            f"{path / MANIFEST_NAME} is not a forge checkpoint manifest; {what_still_works(path / MANIFEST_NAME)}"
        )
    wanted = list(available) if groups is None else list(groups)
    restored: dict[str, Any] = {}
    for name in wanted:
        if name not in available:
            raise CheckpointError(f"checkpoint {path} has no group {name!r} (it has: {', '.join(available)})")
        entry = available[name]
        file_path = path / entry["file"]
        try:
            tensors = load_file(str(file_path), device="cpu")
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(f"cannot read checkpoint file {file_path}: {exc}") from exc
        restored[name] = unflatten_state(tensors, entry["skeleton"])
    return Checkpoint(
        path=path,
        groups=restored,
        manifest=body["manifest"],
        format_version=body["format_version"],
        created=body["created"],
    )


def _write_tensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    save_file(tensors, str(path), metadata={"format": "pt", "writer": "forge"})


def _remove_dir(path: Path) -> None:
    # Rename first: a deletion killed halfway must not leave a half-empty step-* directory that
    # the next start would adopt as a checkpoint.
    if not path.exists():
        return
    doomed = path.parent / f".{path.name}.del-{uuid.uuid4().hex[:12]}"
    os.replace(path, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


# ----------------------------------------------------------------------------------------------
# manager: numbering, retention, latest / best / latest good
# ----------------------------------------------------------------------------------------------


@attrs.frozen
class CheckpointEntry:
    """One checkpoint a :class:`CheckpointManager` knows about.

    Attributes:
        step: The training step it was saved at.
        name: Its directory name (``step-000123``).
        metrics: The metrics passed to :meth:`CheckpointManager.save` (may be empty).
    """

    step: int
    name: str
    metrics: dict[str, float] = attrs.field(factory=dict)


class CheckpointManager:
    """Saves numbered checkpoints under one root and keeps the last N plus the best K.

    The root holds ``step-<step>`` directories and ``index.json`` (written atomically) listing
    each checkpoint's step and metrics. A checkpoint directory that exists without an index entry
    (the process died between the rename and the index write) is adopted on start, without
    metrics; an index entry whose directory is gone is dropped; leftover temporary directories
    from interrupted saves are removed.

    Args:
        root: The directory holding the checkpoints (created).
        keep_last: How many of the newest checkpoints to keep (``None`` keeps all).
        keep_best: How many of the best checkpoints by ``monitor`` to keep besides those.
        monitor: The metric that ranks checkpoints for ``keep_best`` and :meth:`best`.
        mode: ``"min"`` if lower ``monitor`` is better, ``"max"`` if higher is.

    Raises:
        CheckpointError: Invalid arguments, or an unreadable index file.

    Example::

        manager = CheckpointManager("runs/a/checkpoints", keep_last=2, keep_best=1)
        manager.save(100, {"model": model.state_dict()}, {"epoch": 1}, {"val/loss": 0.3})
        resume_from = manager.latest_good()
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        keep_last: int | None = 3,
        keep_best: int = 0,
        monitor: str = "val/loss",
        mode: Literal["min", "max"] = "min",
    ) -> None:
        if keep_last is not None and keep_last < 1:
            raise CheckpointError(f"keep_last must be >= 1 or None (keep all), got {keep_last}")
        if keep_best < 0:
            raise CheckpointError(f"keep_best must be >= 0, got {keep_best}")
        if mode not in ("min", "max"):
            raise CheckpointError(f"mode must be 'min' or 'max', got {mode!r}")
        self.root = Path(root)
        self.keep_last = keep_last
        self.keep_best = keep_best
        self.monitor = monitor
        self.mode = mode
        self.root.mkdir(parents=True, exist_ok=True)
        self._entries: dict[int, CheckpointEntry] = {}
        self._recover()

    @property
    def entries(self) -> list[CheckpointEntry]:
        """Every kept checkpoint, oldest step first."""
        return [self._entries[s] for s in sorted(self._entries)]

    def path_for(self, step: int) -> Path:
        """The directory a checkpoint of ``step`` goes to."""
        if step < 0:
            raise CheckpointError(f"checkpoint step must be >= 0, got {step}")
        return self.root / f"step-{step:06d}"

    def save(
        self,
        step: int,
        groups: Mapping[str, Mapping[str, Any]],
        manifest: Mapping[str, Any],
        metrics: Mapping[str, float] | None = None,
    ) -> Path:
        """Save a checkpoint for ``step``, record it in the index, and prune old ones.

        Saving a step that already exists replaces it.

        Args:
            step: The optimizer step (names the directory).
            groups: As for :func:`save_checkpoint`.
            manifest: As for :func:`save_checkpoint`.
            metrics: Metrics at this step; ``monitor`` among them ranks it for ``keep_best``.

        Returns:
            The checkpoint directory.

        Raises:
            CheckpointError: As for :func:`save_checkpoint`.
        """
        path = save_checkpoint(self.path_for(step), groups, manifest, overwrite=True)
        clean = {str(k): float(v) for k, v in (metrics or {}).items()}
        self._entries[step] = CheckpointEntry(step=step, name=path.name, metrics=clean)
        doomed = self._prune_candidates()
        for s in doomed:
            del self._entries[s]
        # The index drops the pruned entries before their directories go, so a crash in between
        # leaves only orphans that the next start adopts, never an index naming a missing dir.
        self._write_index()
        for s in doomed:
            _remove_dir(self.path_for(s))
        return path

    def latest(self) -> Path | None:
        """The newest checkpoint by step, or ``None`` when there is none (not verified)."""
        if not self._entries:
            return None
        return self.root / self._entries[max(self._entries)].name

    def best(self) -> Path | None:
        """The best checkpoint by ``monitor``, or ``None`` when none recorded that metric."""
        ranked = self._ranked()
        return self.root / ranked[0].name if ranked else None

    def latest_good(self) -> Path | None:
        """The newest checkpoint whose files all verify, skipping (and logging) corrupted ones.

        Returns:
            Its directory, or ``None`` when no checkpoint verifies.
        """
        for step in sorted(self._entries, reverse=True):
            path = self.root / self._entries[step].name
            try:
                verify_checkpoint(path)
            except CheckpointError as exc:
                _log.warning("checkpoint.skipped_corrupted", path=str(path), error=str(exc))
                continue
            return path
        return None

    @classmethod
    def rebuild_index(cls, root: str | os.PathLike[str]) -> Path:
        """Write a fresh ``index.json`` from the checkpoints under ``root`` that verify.

        The same as :func:`rebuild_index` (which also says what it kept and skipped); returns the
        index's path.

        Example::

            CheckpointManager.rebuild_index("runs/digits")
        """
        return rebuild_index(root).path

    def _ranked(self) -> list[CheckpointEntry]:
        scored = [
            e for e in self._entries.values() if self.monitor in e.metrics and math.isfinite(e.metrics[self.monitor])
        ]
        sign = 1.0 if self.mode == "min" else -1.0
        # Ties go to the newer checkpoint.
        return sorted(scored, key=lambda e: (sign * e.metrics[self.monitor], -e.step))

    def _prune_candidates(self) -> list[int]:
        if self.keep_last is None:
            return []
        keep = set(sorted(self._entries, reverse=True)[: self.keep_last])
        keep.update(e.step for e in self._ranked()[: self.keep_best])
        return [s for s in self._entries if s not in keep]

    def _write_index(self) -> None:
        data = {
            "format_version": FORMAT_VERSION,
            "monitor": self.monitor,
            "mode": self.mode,
            "checkpoints": [attrs.asdict(e) for e in self.entries],
        }
        write_json(self.root / INDEX_NAME, data, durable=True)

    def _recover(self) -> None:
        index_path = self.root / INDEX_NAME
        if index_path.exists():
            for entry in read_index(index_path)["checkpoints"]:
                self._entries[entry.step] = entry
        changed = False
        for step in list(self._entries):
            if not (self.root / self._entries[step].name).is_dir():
                del self._entries[step]
                changed = True
        for child in sorted(self.root.iterdir()):
            match = _STEP_DIR.match(child.name)
            if match and child.is_dir() and int(match.group(1)) not in self._entries:
                self._entries[int(match.group(1))] = CheckpointEntry(step=int(match.group(1)), name=child.name)
                changed = True
            elif child.name.startswith(".") and ".old-" in child.name:
                # An overwrite was killed between atomic_directory moving the old checkpoint aside
                # and renaming the new one in: put the old one back if nothing took its place.
                original = self.root / child.name[1:].split(".old-", 1)[0]
                original_match = _STEP_DIR.match(original.name)
                if child.is_dir() and not original.exists() and original_match:
                    os.replace(child, original)
                    step = int(original_match.group(1))
                    self._entries.setdefault(step, CheckpointEntry(step=step, name=original.name))
                    changed = True
                else:
                    shutil.rmtree(child, ignore_errors=True)
            elif child.name.startswith(".") and (".tmp-" in child.name or ".del-" in child.name):
                # Leftovers of a save killed midway; the checkpoint it was replacing is intact.
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        if changed:
            self._write_index()


def _recorded_metrics(manifest: Mapping[str, Any]) -> dict[str, float]:
    trainer = manifest.get("trainer")
    latest = trainer.get("latest_metrics") if isinstance(trainer, Mapping) else None
    if not isinstance(latest, Mapping):
        return {}
    return {
        str(k): float(v)
        for k, v in latest.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))
    }


def read_index(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a checkpoints ``index.json``.

    Returns:
        ``{"monitor": str, "mode": "min" | "max", "checkpoints": [CheckpointEntry, ...]}``.

    Raises:
        CheckpointError: the file is unreadable, truncated or not an index; the message names it
            and says how to rebuild it from the checkpoints that verify (``forge checkpoints
            rebuild-index RUN_DIR``).
    """
    index_path = Path(path)
    data = read_json(index_path)
    try:
        if not isinstance(data.get("checkpoints"), list):
            raise TypeError("expected a table with a 'checkpoints' list")
        entries = []
        for i, item in enumerate(data["checkpoints"]):
            if not isinstance(item, dict) or not isinstance(item.get("metrics", {}), dict):
                raise TypeError(f"checkpoints[{i}]: expected a table with step, name and metrics")
            step, name = item.get("step"), item.get("name")
            if isinstance(step, bool) or not isinstance(step, int) or step < 0 or not isinstance(name, str):
                raise TypeError(f"checkpoints[{i}]: expected an int step >= 0 and a name, got {step!r}, {name!r}")
            named = _STEP_DIR.match(name)
            if named is None or int(named.group(1)) != step:
                raise TypeError(f"checkpoints[{i}].name: expected the directory name of step {step}, got {name!r}")
            metrics = {}
            for key, value in item.get("metrics", {}).items():
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise TypeError(f"checkpoints[{i}].metrics.{key}: expected a number, got {value!r}")
                metrics[str(key)] = float(value)
            entries.append(CheckpointEntry(step=step, name=name, metrics=metrics))
        mode = data.get("mode", "min")
        if mode not in ("min", "max"):
            raise TypeError(f"mode: expected 'min' or 'max', got {mode!r}")
        monitor = data.get("monitor", "val/loss")
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"monitor: expected a metric name, got {monitor!r}")
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{index_path} is damaged ({exc}); {what_still_works(index_path)}") from None
    return {"monitor": monitor, "mode": mode, "checkpoints": entries}


@attrs.frozen
class IndexRebuild:
    """What :func:`rebuild_index` did.

    Attributes:
        path: The index file.
        previous: The index found: ``"missing"``, ``"damaged"`` (kept as ``index.json.damaged``) or ``"good"``.
        kept: The checkpoints the index now lists (each verified), oldest first.
        skipped: ``(directory name, why)`` of every ``step-*`` directory left out (it does not verify).
        written: Whether a new index was written (False: the good index already said all of it).
        damaged_copy: Where the damaged index was moved, when it was.
    """

    path: Path
    previous: Literal["missing", "damaged", "good"]
    kept: tuple[CheckpointEntry, ...]
    skipped: tuple[tuple[str, str], ...]
    written: bool
    damaged_copy: Path | None = None


def rebuild_index(root: str | os.PathLike[str]) -> IndexRebuild:
    """Rebuild a checkpoints ``index.json`` from the checkpoints that verify.

    For an index that is damaged (truncated, edited, not JSON) or missing: every ``step-*``
    directory is verified (manifest digest and the SHA-256 of every file); those that pass are
    listed with the metrics their manifest recorded (the trainer's ``latest_metrics``) and the
    monitor and mode of the run's checkpoint config, where saved. A damaged index is kept beside
    the new one as ``index.json.damaged``.

    A good index is never replaced by one that knows less: its metrics, monitor and mode are kept
    for every checkpoint that still verifies (only entries of checkpoints that are gone or no
    longer verify are dropped), and when the result says nothing new the file is left as it is.
    The new index is written atomically (temporary file, fsync, rename).

    Args:
        root: The checkpoints folder (``RUN/checkpoints``) or the run directory.

    Returns:
        What was kept and skipped, and whether the index was written.

    Raises:
        CheckpointError: ``root`` holds no checkpoint that verifies (nothing is changed then).

    Example::

        result = rebuild_index("runs/digits")
        print([e.name for e in result.kept], result.skipped)
    """
    folder = Path(root)
    if (folder / "checkpoints").is_dir():
        folder = folder / "checkpoints"
    index_path = folder / INDEX_NAME
    previous: Literal["missing", "damaged", "good"] = "missing"
    old: dict[str, Any] | None = None
    if index_path.exists():
        try:
            old = read_index(index_path)
            previous = "good"
        except CheckpointError:
            previous = "damaged"
    old_entries: dict[int, CheckpointEntry] = {e.step: e for e in old["checkpoints"]} if old else {}
    entries: list[CheckpointEntry] = []
    skipped: list[tuple[str, str]] = []
    monitor, mode = "val/loss", "min"
    for child in sorted(folder.iterdir()) if folder.is_dir() else []:
        match = _STEP_DIR.match(child.name)
        if not (match and child.is_dir()):
            continue
        try:
            body = verify_checkpoint(child)
        except CheckpointError as exc:
            skipped.append((child.name, str(exc)))
            _log.warning("checkpoint.index_rebuild_skipped", path=str(child), error=str(exc))
            continue
        manifest = body.get("manifest")
        saved: dict[str, Any] = manifest if isinstance(manifest, dict) else {}
        step = int(match.group(1))
        known = old_entries.get(step)
        metrics = {**_recorded_metrics(saved), **(known.metrics if known else {})}
        trainer_cfg = saved.get("trainer_config")
        checkpoint_cfg = trainer_cfg.get("checkpoint") if isinstance(trainer_cfg, dict) else None
        if isinstance(checkpoint_cfg, dict):
            monitor = str(checkpoint_cfg.get("monitor") or monitor)
            mode = "max" if checkpoint_cfg.get("mode") == "max" else "min"
        entries.append(CheckpointEntry(step=step, name=child.name, metrics=metrics))
    if not entries:
        reasons = "; ".join(f"{name}: {why}" for name, why in skipped[:3])
        raise CheckpointError(
            f"{folder}: no checkpoint verifies, so there is nothing to rebuild the index from"
            + (f" ({reasons})" if reasons else "")
        )
    if old is not None:
        monitor, mode = str(old["monitor"]), str(old["mode"])
        if list(old["checkpoints"]) == entries:
            return IndexRebuild(index_path, previous, tuple(entries), tuple(skipped), written=False)
    damaged_copy = None
    if previous == "damaged":
        damaged_copy = folder / f"{INDEX_NAME}.damaged"
        os.replace(index_path, damaged_copy)
    data = {
        "format_version": FORMAT_VERSION,
        "monitor": monitor,
        "mode": mode,
        "checkpoints": [attrs.asdict(e) for e in entries],
    }
    write_json(index_path, data, durable=True)
    _log.warning("checkpoint.index_rebuilt", path=str(index_path), checkpoints=len(entries), skipped=len(skipped))
    return IndexRebuild(index_path, previous, tuple(entries), tuple(skipped), written=True, damaged_copy=damaged_copy)
