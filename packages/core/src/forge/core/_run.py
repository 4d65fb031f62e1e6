"""The run directory: everything needed to reproduce, resume, audit or serve a training run.

Layout::

    runs/<run-id>/
        config.toml          the resolved recipe (every default filled in); config.json beside it
        config_history.jsonl earlier versions of the config, when a resume changed it (with the changes)
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
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from forge.core._atomic import write_json
from forge.core._digest import digest
from forge.core._run_files import read_json, read_json_lines
from forge.core.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    from forge.core._checkpoint import Checkpoint

__all__ = ["RunDir", "config_hash", "find_checkpoint"]

Which = Literal["best", "last"]

# The names a run directory's writers use (see the layout above); a folder holding only these is
# the remains of a run, which ``--overwrite`` may empty.
_LAYOUT = frozenset(
    {
        "config.toml",
        "config.json",
        "config_history.jsonl",
        "environment.json",
        "lineage.json",
        "log.jsonl",
        "metrics.json",
        "checkpoints",
        "profile",
    }
)


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
        writer: Whether this process writes the directory. In a multi-process run only rank 0
            does; the other ranks open it with ``writer=False`` (see :meth:`follower`): they read
            it (config, checkpoints) and every write method does nothing.
    """

    def __init__(self, path: str | os.PathLike[str], *, writer: bool = True) -> None:
        self.path = Path(path)
        self.writer = writer
        if writer:
            self.path.mkdir(parents=True, exist_ok=True)
            self.checkpoints_dir.mkdir(exist_ok=True)
        self._log: IO[str] | None = None
        # Set by new(): the directories it made (the run directory first, then missing parents).
        self._made: list[Path] | None = None

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
        return cls(_fresh_path(root, name) if path is None else path)

    @classmethod
    def new(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        root: str | os.PathLike[str] = "runs",
        name: str = "run",
        overwrite: bool = False,
    ) -> RunDir:
        """The directory of a new run: ``path`` (missing or empty), or a fresh one under ``root``.

        A run never writes into another run's directory: that would mix two runs' logs and
        checkpoints under one config.

        Args:
            path: An explicit directory; one that holds files is refused unless ``overwrite``.
            root: Parent of generated run directories.
            name: A label put into generated names (e.g. the recipe name).
            overwrite: Empty ``path`` first when it holds a previous run.

        Returns:
            The run directory; :meth:`discard` removes what this call created.

        Raises:
            ConfigError: ``path`` is not empty and ``overwrite`` is false, or it holds files that are
                not a forge run (never deleted, even with ``overwrite``).
        """
        target = _fresh_path(root, name) if path is None else Path(path)
        if target.is_dir() and any(target.iterdir()):
            _make_room(target, overwrite=overwrite)
        made = [p for p in (target, *target.parents) if not p.exists()]
        run = cls(target)
        run._made = made
        return run

    @classmethod
    def follower(cls, path: str | os.PathLike[str]) -> RunDir:
        """The run directory rank 0 writes, as seen by another rank of the run: read-only."""
        return cls(path, writer=False)

    def discard(self) -> None:
        """Remove what this run wrote, for a run that failed before its first step.

        A directory :meth:`new` made is removed (with the parents it made, when nothing else is in
        them); a directory that existed before is emptied, as it was (or as ``overwrite`` left it).
        A directory not opened by :meth:`new` is left alone.
        """
        self.close()
        if self._made is None or not self.writer:
            return
        if not self._made:
            _empty(self.path)
            return
        shutil.rmtree(self.path, ignore_errors=True)
        for parent in self._made[1:]:
            try:
                parent.rmdir()
            except OSError:  # something else was put there meanwhile
                break

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

        if not self.writer:
            return
        _write_json(self.path / "config.json", dict(config))
        dump(dict(config), self.path / "config.toml")

    def update_config(self, config: Mapping[str, Any], *, reason: str, step: int | None = None) -> dict[str, list[Any]]:
        """Make the recorded config ``config`` (what runs now), keeping the one it replaces.

        When ``config`` differs from ``config.json``, the old version is appended to
        ``config_history.jsonl`` as ``{"time", "reason", "step", "changes", "config"}`` (``changes``
        maps each differing dotted key to ``[old, new]``; ``config`` is the replaced version) and
        ``config.json``/``config.toml`` are rewritten.

        Args:
            config: The resolved recipe about to run.
            reason: Why it changed (``"resume"``).
            step: The optimizer step from which the new config applies.

        Returns:
            The changes, ``{}`` when the config is unchanged (nothing is written then).

        Raises:
            CheckpointError: the run directory has no config.
        """
        old = self.read_config()
        new = json.loads(json.dumps(dict(config), default=str))
        changes = _diff(old, new)
        if not changes or not self.writer:
            return changes
        entry = {
            "time": _dt.datetime.now(_dt.timezone.utc).isoformat(),
            "reason": reason,
            "step": step,
            "changes": changes,
            "config": old,
        }
        with open(self.path / "config_history.jsonl", "a", encoding="utf-8") as history:
            history.write(json.dumps(entry, default=str) + "\n")
        self.write_config(config)
        return changes

    def config_history(self) -> list[dict[str, Any]]:
        """The earlier configs :meth:`update_config` kept, oldest first.

        Raises:
            CheckpointError: ``config_history.jsonl`` is damaged before its last line (named, with
                what still works: the current config and the checkpoints are not affected).
        """
        return read_json_lines(self.path / "config_history.jsonl")

    def read_metrics(self) -> dict[str, Any] | None:
        """The run's final ``metrics.json``, or None when the run has not finished.

        Raises:
            CheckpointError: the file is damaged (named, with what still works).
        """
        data: dict[str, Any] | None = read_json(self.path / "metrics.json", missing=None)
        return data

    def read_lineage(self) -> dict[str, Any] | None:
        """The run's ``lineage.json``, or None when it has none.

        Raises:
            CheckpointError: the file is damaged (named, with what still works).
        """
        data: dict[str, Any] | None = read_json(self.path / "lineage.json", missing=None)
        return data

    def read_environment(self) -> dict[str, Any] | None:
        """The run's ``environment.json``, or None when it has none.

        Raises:
            CheckpointError: the file is damaged (named, with what still works).
        """
        data: dict[str, Any] | None = read_json(self.path / "environment.json", missing=None)
        return data

    def read_config(self) -> dict[str, Any]:
        """The resolved recipe saved by :meth:`write_config`.

        Raises:
            CheckpointError: the run directory has no config, or ``config.json`` is damaged
                (truncated, edited, not UTF-8); the message names it, says how to restore it from
                ``config.toml`` when that parses, and how the checkpoints can still be evaluated.
        """
        path = self.path / "config.json"
        if not path.exists() and not ((self.path / "config.toml").exists() or any(self.checkpoints_dir.glob("step-*"))):
            raise CheckpointError(f"{self.path}: not a run directory (no config.json)")
        try:
            if not path.exists():  # the run's other files are there: config.json was lost
                raise CheckpointError(f"{path} is missing")
            return _read_table(path, "json")
        except CheckpointError as damaged:
            # config.toml holds the same recipe, but a TOML file cut at a line end still parses: it
            # cannot be trusted silently, so the user is told how to restore config.json from it.
            toml = self.path / "config.toml"
            try:
                spare = _read_table(toml, "toml") if toml.is_file() else None
            except CheckpointError:
                spare = None
            evaluate = (
                "Its checkpoints are not affected: to evaluate them, put the recipe it was trained from in place "
                f"of the config (`forge config show RECIPE -o {path}`), then `forge eval {self.path}`"
            )
            if spare is not None:
                raise CheckpointError(
                    f"{damaged}; the run cannot be resumed until config.json is restored. config.toml beside it "
                    f"parses: if it is complete, `forge config show {toml} -o {path}` restores it. {evaluate}"
                ) from None
            raise CheckpointError(
                f"{damaged}; config.toml beside it is missing or damaged too, so the run's recipe is lost and "
                f"the run cannot be resumed. {evaluate}"
            ) from None

    def write_environment(self) -> dict[str, Any]:
        """Capture and write ``environment.json``; returns what was written."""
        from forge.core._reproducibility import capture_environment

        env = capture_environment()
        if self.writer:
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
        if not self.writer:
            return
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
        if not self.writer:
            return
        if self._log is None:
            self._log = open(self.log_path, "a", encoding="utf-8", buffering=1)  # kept open for the run
        self._log.write(json.dumps(record, default=float) + "\n")

    def read_log(self) -> list[dict[str, Any]]:
        """Every record of ``log.jsonl``.

        A last line cut short (a run killed while writing it) is left out; a damaged line before
        it is refused.

        Raises:
            CheckpointError: a line that is not a JSON object (file and line named).
        """
        return read_json_lines(self.log_path)

    def write_metrics(self, metrics: Mapping[str, Any]) -> None:
        """Write the run's final ``metrics.json``."""
        if self.writer:
            _write_json(self.path / "metrics.json", dict(metrics))

    def close(self) -> None:
        """Close the step log."""
        if self._log is not None:
            self._log.close()
            self._log = None


def _diff(old: Any, new: Any, prefix: str = "") -> dict[str, list[Any]]:
    """Dotted key -> ``[old, new]`` for every leaf that differs between two JSON-like configs."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out: dict[str, list[Any]] = {}
        for key in sorted(set(old) | set(new), key=str):
            out.update(_diff(old.get(key), new.get(key), f"{prefix}{key}."))
        return out
    return {} if old == new else {prefix.rstrip("."): [old, new]}


def _read_table(path: Path, fmt: str) -> dict[str, Any]:
    """Read a run-directory config file; a damaged one raises CheckpointError naming it and where."""
    from forge.core.config import loads

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path} cannot be read ({exc})") from None
    try:
        return loads(text, fmt, source=str(path))
    except ConfigError as exc:
        raise CheckpointError(f"{exc} (the file is damaged: truncated or edited?)") from None


def _fresh_path(root: str | os.PathLike[str], name: str) -> Path:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)
    return Path(root) / f"{stamp}-{safe}-{secrets.token_hex(3)}"


def _make_room(path: Path, *, overwrite: bool) -> None:
    """Empty the non-empty ``path`` for a new run when allowed; raise ConfigError otherwise."""
    names = sorted(entry.name + ("/" if entry.is_dir() else "") for entry in path.iterdir())
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    is_run = (path / "config.json").is_file() and (path / "checkpoints").is_dir()
    if not (is_run or all(name.rstrip("/") in _LAYOUT for name in names)):
        raise ConfigError(
            f"{path}: not empty and not a forge run directory (found {shown}); a new run needs an empty "
            f"or new directory, and overwrite never deletes other files: choose another --run-dir"
        )
    if not overwrite:
        raise ConfigError(
            f"{path}: already holds a run (found {shown}); continue it with `forge train --resume {path}` "
            f"(resume_run), replace it with --overwrite (overwrite=True), or choose another --run-dir"
        )
    _empty(path)


def _empty(path: Path) -> None:
    for entry in path.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


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
        from forge.core._checkpoint import read_index

        data = read_index(index)
        monitor = str(data["monitor"])
        mode = "max" if data["mode"] == "max" else "min"
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
