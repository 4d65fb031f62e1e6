"""The run directory: everything needed to reproduce, resume, audit or serve a training run.

Layout::

    runs/<run-id>/
        config.toml          the resolved recipe (every default filled in); config.json beside it
        environment.json     Python, torch, CUDA, forge packages, hardware, git commit
        lineage.json         dataset info + fingerprint, config hash, code versions
        log.jsonl            one JSON object per logged step / validation
        metrics.json         final metrics of the run
        checkpoints/         step-NNNNNN/ (safetensors + manifest.json) and index.json
        profile/             trace.json, top_ops.txt, top_ops.json (when profiling)

Nothing in it is a pickle. Each file has one writer: the recipe runner (:mod:`forge.core._runner`)
writes ``config.*``, ``environment.json``, ``lineage.json`` and ``metrics.json``; the Trainer writes
``log.jsonl``, ``checkpoints/`` and ``profile/``. This module only stores and reads them.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from forge.core._atomic import write_json
from forge.core._digest import digest
from forge.core.errors import CheckpointError

if TYPE_CHECKING:
    from forge.core._checkpoint import Checkpoint

__all__ = ["RunDir", "config_hash", "find_checkpoint"]

Which = Literal["best", "last"]


def __getattr__(name: str) -> Any:
    from forge.core._deprecated import moved_attribute

    return moved_attribute(__name__, name)


def config_hash(config: Mapping[str, Any]) -> str:
    """The content digest (:func:`forge.core._digest.digest`) of a config, as lineage records it."""
    return digest(config)


def _write_json(path: Path, data: Any) -> None:
    write_json(path, data, default=str)


class RunDir:
    """A run directory on disk.

    Args:
        path: The directory (created with its ``checkpoints/`` folder).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.checkpoints_dir.mkdir(exist_ok=True)
        self._log: IO[str] | None = None

    @classmethod
    def create(
        cls, path: str | os.PathLike[str] | None = None, *, root: str | os.PathLike[str] = "runs", name: str = "run"
    ) -> RunDir:
        """Open ``path``, or make a fresh ``<root>/<UTC time>-<name>-<random>`` directory.

        Args:
            path: An explicit directory (created if missing, reused if present).
            root: Parent of generated run directories.
            name: A label put into generated names (e.g. the recipe name).

        Returns:
            The run directory.
        """
        if path is None:
            stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
            safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)
            path = Path(root) / f"{stamp}-{safe}-{secrets.token_hex(3)}"
        return cls(path)

    @property
    def checkpoints_dir(self) -> Path:
        """The folder holding the checkpoints and their index."""
        return self.path / "checkpoints"

    @property
    def log_path(self) -> Path:
        """The JSON-lines step log."""
        return self.path / "log.jsonl"

    def write_config(self, config: Mapping[str, Any]) -> None:
        """Write the resolved recipe as ``config.toml`` and ``config.json`` (JSON keeps nulls)."""
        from forge.core.config import dump

        _write_json(self.path / "config.json", dict(config))
        dump(dict(config), self.path / "config.toml")

    def read_config(self) -> dict[str, Any]:
        """The resolved recipe saved by :meth:`write_config`.

        Raises:
            CheckpointError: the run directory has no config.
        """
        path = self.path / "config.json"
        if not path.exists():
            raise CheckpointError(f"{self.path}: not a run directory (no config.json)")
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def write_environment(self) -> dict[str, Any]:
        """Capture and write ``environment.json``; returns what was written."""
        from forge.core._reproducibility import capture_environment

        env = capture_environment()
        _write_json(self.path / "environment.json", env)
        return env

    def write_lineage(
        self,
        *,
        dataset: Mapping[str, Any] | None,
        config: Mapping[str, Any],
        environment: Mapping[str, Any] | None = None,
    ) -> None:
        """Write ``lineage.json``: which data, which config, which code.

        Args:
            dataset: The dataset's info (``DatasetInfo.to_dict()``), fingerprint included.
            config: The resolved recipe (hashed).
            environment: The captured environment (code versions are taken from it).
        """
        env = environment or {}
        _write_json(
            self.path / "lineage.json",
            {
                "dataset": dict(dataset) if dataset is not None else None,
                "config_hash": config_hash(config),
                "code": {
                    "forge_packages": env.get("forge_packages", {}),
                    "torch": env.get("torch"),
                    "git": env.get("git"),
                },
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(),
            },
        )

    def log_step(self, record: Mapping[str, Any]) -> None:
        """Append one JSON object to ``log.jsonl`` (line-buffered, so a crash loses at most a line)."""
        if self._log is None:
            self._log = open(self.log_path, "a", encoding="utf-8", buffering=1)  # kept open for the run
        self._log.write(json.dumps(record, default=float) + "\n")

    def read_log(self) -> list[dict[str, Any]]:
        """Every record of ``log.jsonl``."""
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def write_metrics(self, metrics: Mapping[str, Any]) -> None:
        """Write the run's final ``metrics.json``."""
        _write_json(self.path / "metrics.json", dict(metrics))

    def close(self) -> None:
        """Close the step log."""
        if self._log is not None:
            self._log.close()
            self._log = None


def find_checkpoint(source: str | os.PathLike[str], which: Which = "last") -> Checkpoint:
    """Load the best or newest good checkpoint from a run or checkpoint directory.

    Args:
        source: A run directory, its ``checkpoints/`` folder, or one checkpoint directory.
        which: "last" (newest that verifies; corrupted ones are skipped with a warning) or "best"
            (by the monitored metric; falls back to "last" when no metric was recorded).

    Returns:
        The verified :class:`~forge.core._checkpoint.Checkpoint`.

    Raises:
        CheckpointError: no checkpoint there verifies.
    """
    from forge.core._checkpoint import CheckpointManager, load_checkpoint

    path = Path(source)
    if (path / "manifest.json").exists():
        return load_checkpoint(path)
    root = path / "checkpoints" if (path / "checkpoints").is_dir() else path
    if not root.is_dir():
        raise CheckpointError(f"{source}: no such run or checkpoint directory")
    monitor: str = "val/loss"
    mode: Literal["min", "max"] = "min"
    index = root / "index.json"
    if index.exists():
        data = json.loads(index.read_text(encoding="utf-8"))
        monitor = str(data.get("monitor", monitor))
        mode = "max" if data.get("mode") == "max" else "min"
    manager = CheckpointManager(root, keep_last=None, monitor=monitor, mode=mode)
    chosen = manager.best() if which == "best" else None
    if chosen is not None:
        try:
            return load_checkpoint(chosen)
        except CheckpointError:
            chosen = None
    chosen = manager.latest_good()
    if chosen is None:
        raise CheckpointError(f"{source}: no checkpoint that verifies (looked in {root})")
    return load_checkpoint(chosen)
