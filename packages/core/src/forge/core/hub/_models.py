"""The model registry: named, versioned models with stages, in SQLite, with an append-only audit log.

A version is a run's checkpoint (best or last) registered under a name. It records the run
directory, the checkpoint path and a SHA-256 over its files, the config hash, the dataset's
fingerprint, license and source (from the run's ``lineage.json``, so a dataset's usage
constraints travel with every model derived from it), the code versions, the metrics, and, for a
compressed run, its parent. Stages: ``none`` (just registered), ``staging``, ``production`` (at
most one version per name), ``archived``. Every change is appended to the audit table; triggers
in the database refuse to update or delete audit rows.

The database is ``FORGE_MODEL_REGISTRY`` or ``~/.forge/models.db`` unless a path is given.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from forge.core._digest import directory_sha256
from forge.core._run_files import read_json
from forge.core.errors import ConfigError, RegistryError
from forge.core.hub._runs import read_run

__all__ = ["STAGES", "ModelRegistry", "ModelVersion", "default_path"]

STAGES = ("none", "staging", "production", "archived")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    stage TEXT NOT NULL DEFAULT 'none',
    run_dir TEXT NOT NULL,
    checkpoint TEXT NOT NULL,
    checkpoint_sha256 TEXT NOT NULL,
    config_hash TEXT,
    data_fingerprint TEXT,
    data_license TEXT,
    record TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, key)
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def default_path() -> Path:
    """``FORGE_MODEL_REGISTRY`` or ``~/.forge/models.db``."""
    return Path(os.environ.get("FORGE_MODEL_REGISTRY") or Path.home() / ".forge" / "models.db")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _actor() -> str:
    try:
        return os.environ.get("FORGE_ACTOR") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@attrs.frozen
class ModelVersion:
    """One registered version."""

    name: str
    version: int
    stage: str
    run_dir: str
    checkpoint: str
    checkpoint_sha256: str
    config_hash: str | None
    data_fingerprint: str | None
    data_license: str | None
    record: dict[str, Any]
    created: str

    @property
    def ref(self) -> str:
        """``name:version``."""
        return f"{self.name}:{self.version}"

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        return attrs.asdict(self)


class ModelRegistry:
    """Named, versioned models in a SQLite database.

    Args:
        path: The database file (created with its folder); default :func:`default_path`.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.executescript(_SCHEMA)  # commits by itself, so not inside _db's transaction
        finally:
            db.close()

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    @staticmethod
    def _audit(db: sqlite3.Connection, action: str, name: str, version: int | None, **detail: Any) -> None:
        db.execute(
            "INSERT INTO audit (at, actor, action, name, version, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (_now(), _actor(), action, name, version, json.dumps(detail, sort_keys=True, default=str)),
        )

    @staticmethod
    def _row(row: sqlite3.Row) -> ModelVersion:
        data = dict(row)
        data["record"] = json.loads(data["record"])
        return ModelVersion(**data)

    def register(self, run_dir: str | os.PathLike[str], name: str, *, which: str = "best") -> ModelVersion:
        """Register a run's best or last checkpoint as the next version of ``name`` (stage ``none``).

        Raises:
            ConfigError: a bad name or ``which``.
            CheckpointError: the run has no loadable checkpoint or is not a run directory.
        """
        if not name or not all(c.isalnum() or c in "-_." for c in name):
            raise ConfigError(f"model name {name!r}: use letters, digits, '-', '_' and '.'")
        if which not in ("best", "last"):
            raise ConfigError(f"which {which!r}: expected best or last")
        from forge.core._run import find_checkpoint

        run = read_run(run_dir)
        ckpt = find_checkpoint(run.path, which)  # type: ignore[arg-type]  # checked above
        dataset = run.lineage.get("dataset", {})
        compress = run.path / "compress.json"
        record = {
            "which": which,
            "model": run.model,
            "dataset": {k: dataset.get(k) for k in ("name", "version", "source", "license", "fingerprint")},
            "code": run.lineage.get("code", {}),
            "metrics": run.metrics,
            "parent": read_json(compress, missing={}).get("lineage"),
            "step": ckpt.manifest.get("trainer", {}).get("global_step"),
        }
        with self._db() as db:
            row = db.execute("SELECT MAX(version) FROM versions WHERE name = ?", (name,)).fetchone()
            version = int(row[0] or 0) + 1
            db.execute(
                "INSERT INTO versions (name, version, stage, run_dir, checkpoint, checkpoint_sha256, config_hash, "
                "data_fingerprint, data_license, record, created) VALUES (?, ?, 'none', ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    version,
                    str(run.path.resolve()),
                    str(ckpt.path.resolve()),
                    directory_sha256(ckpt.path),
                    run.lineage.get("config_hash"),
                    dataset.get("fingerprint"),
                    dataset.get("license"),
                    json.dumps(record, sort_keys=True, default=str),
                    _now(),
                ),
            )
            self._audit(db, "register", name, version, run_dir=str(run.path.resolve()), which=which)
        return self.get(name, version)

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        """Every version (of ``name``), by name and version."""
        with self._db() as db:
            if name is None:
                rows = db.execute("SELECT * FROM versions ORDER BY name, version").fetchall()
            else:
                rows = db.execute("SELECT * FROM versions WHERE name = ? ORDER BY version", (name,)).fetchall()
        return [self._row(r) for r in rows]

    def get(self, name: str, version: int | str | None = None) -> ModelVersion:
        """A version by number, by stage name (``production``...), or the latest when None.

        Raises:
            RegistryError: no such model, version or stage.
        """
        with self._db() as db:
            if version is None:
                row = db.execute(
                    "SELECT * FROM versions WHERE name = ? ORDER BY version DESC LIMIT 1", (name,)
                ).fetchone()
            elif isinstance(version, str) and not version.isdigit():
                if version not in STAGES:
                    raise RegistryError(f"{name}: {version!r} is neither a version number nor a stage {STAGES}")
                row = db.execute(
                    "SELECT * FROM versions WHERE name = ? AND stage = ? ORDER BY version DESC LIMIT 1",
                    (name, version),
                ).fetchone()
            else:
                row = db.execute(
                    "SELECT * FROM versions WHERE name = ? AND version = ?", (name, int(version))
                ).fetchone()
        if row is None:
            known = sorted({v.name for v in self.versions()})
            what = f"version {version}" if version is not None else "any version"
            raise RegistryError(f"model {name!r} has no {what} (registered models: {', '.join(known) or 'none'})")
        return self._row(row)

    def set_stage(self, name: str, version: int, stage: str, *, reason: str = "") -> ModelVersion:
        """Move a version to ``stage``; a new production version archives the previous one."""
        if stage not in STAGES:
            raise ConfigError(f"stage {stage!r}: expected one of {', '.join(STAGES)}")
        current = self.get(name, version)
        with self._db() as db:
            if stage == "production":
                for row in db.execute(
                    "SELECT version FROM versions WHERE name = ? AND stage = 'production' AND version != ?",
                    (name, version),
                ).fetchall():
                    db.execute("UPDATE versions SET stage = 'archived' WHERE name = ? AND version = ?", (name, row[0]))
                    self._audit(db, "stage", name, row[0], old="production", new="archived", reason="superseded")
            db.execute("UPDATE versions SET stage = ? WHERE name = ? AND version = ?", (stage, name, version))
            self._audit(db, "stage", name, version, old=current.stage, new=stage, reason=reason)
        return self.get(name, version)

    def record(self, name: str, version: int | None, action: str, **detail: Any) -> None:
        """Append an entry of one's own to the audit log (a retraining request, a deployment...)."""
        with self._db() as db:
            self._audit(db, action, name, version, **detail)

    def require_approval(self, name: str, required: bool = True) -> None:
        """Whether promoting a version of ``name`` to production needs a recorded human approval."""
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO settings (name, key, value) VALUES (?, 'require_approval', ?)",
                (name, json.dumps(required)),
            )
            self._audit(db, "require_approval", name, None, required=required)

    def approval_required(self, name: str) -> bool:
        """True when ``name``'s production promotions need :meth:`approve` first."""
        with self._db() as db:
            row = db.execute(
                "SELECT value FROM settings WHERE name = ? AND key = 'require_approval'", (name,)
            ).fetchone()
        return bool(json.loads(row[0])) if row else False

    def approve(self, name: str, version: int, *, reason: str = "") -> None:
        """Record that a person (``FORGE_ACTOR`` or the login name) approves ``version`` for production."""
        self.get(name, version)
        with self._db() as db:
            self._audit(db, "approve", name, version, reason=reason)

    def promote(self, name: str, version: int, *, reason: str = "") -> ModelVersion:
        """Make ``version`` the production version (the previous one is archived).

        Raises:
            RegistryError: ``name`` requires approval and nobody approved ``version``.
        """
        if self.approval_required(name) and not any(
            e["action"] == "approve" and e["version"] == version for e in self.audit(name)
        ):
            raise RegistryError(
                f"{name}:{version} needs a person's approval before production: forge models approve {name} {version}"
            )
        return self.set_stage(name, version, "production", reason=reason)

    def rollback(self, name: str, *, reason: str = "") -> ModelVersion:
        """Put back the production version that the current one replaced.

        Raises:
            RegistryError: no production version, or none before it.
        """
        current = self.get(name, "production")
        history = [e for e in self.audit(name) if e["action"] == "stage" and e["detail"].get("new") == "production"]
        earlier = [e["version"] for e in history if e["version"] != current.version]
        if not earlier:
            raise RegistryError(f"{name}: no earlier production version to roll back to")
        target = int(earlier[-1])
        self.set_stage(name, current.version, "archived", reason=f"rolled back: {reason}".strip(": "))
        return self.set_stage(name, target, "production", reason=f"rollback from {current.version}: {reason}")

    def audit(self, name: str | None = None) -> list[dict[str, Any]]:
        """The audit log (of ``name``), oldest first."""
        with self._db() as db:
            query = "SELECT * FROM audit" + (" WHERE name = ?" if name else "") + " ORDER BY id"
            rows = db.execute(query, (name,) if name else ()).fetchall()
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]

    def lineage(self, name: str, version: int | str | None = None) -> list[dict[str, Any]]:
        """The chain from a model version back to its data: version, run, parents, dataset."""
        v = self.get(name, version)
        chain: list[dict[str, Any]] = [
            {"kind": "model", "ref": v.ref, "stage": v.stage, "checkpoint_sha256": v.checkpoint_sha256},
            {"kind": "run", "path": v.run_dir, "config_hash": v.config_hash, "checkpoint": v.checkpoint},
        ]
        parent = v.record.get("parent")
        seen = {v.run_dir}
        while parent and parent.get("parent") and parent["parent"] not in seen:
            seen.add(parent["parent"])
            chain.append(
                {"kind": "parent run", "path": parent["parent"], "config_hash": parent.get("parent_config_hash")}
            )
            compress = Path(parent["parent"]) / "compress.json"
            parent = read_json(compress, missing={}).get("lineage")
        chain.append({"kind": "dataset", **v.record.get("dataset", {})})
        chain.append({"kind": "code", **v.record.get("code", {})})
        return chain
