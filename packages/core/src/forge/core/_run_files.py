"""The one checked reader of a run directory's JSON files: a damaged file is named, with what still works.

A run directory's files are written atomically (:mod:`forge.core._atomic`), but a disk that filled
up, a copy cut short or a hand edit can still leave one truncated or garbled. Every reader of
forge goes through :func:`read_json` or :func:`read_json_lines`, which raise
:class:`~forge.core.errors.CheckpointError` naming the file, where it broke, and what can still be
done with the run (:func:`what_still_works`): the checkpoints index is rebuilt from the
checkpoints that verify, a lost final-metrics file is rewritten by evaluating again, a damaged
config means the run cannot be resumed but its checkpoints can still be evaluated.

This module never imports torch.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from forge.core.errors import CheckpointError

__all__ = ["MISSING", "read_json", "read_json_lines", "rebuild_index_command", "what_still_works"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""``read_json(..., missing=MISSING)`` (the default): a file that does not exist is an error too."""


def rebuild_index_command(checkpoints: Path) -> str:
    """The command that rebuilds ``checkpoints/index.json`` of the run holding ``checkpoints``."""
    run = checkpoints.parent if checkpoints.name == "checkpoints" else checkpoints
    return f"forge checkpoints rebuild-index {run}"


def what_still_works(path: str | os.PathLike[str]) -> str:
    """What can still be done with a run whose file ``path`` is damaged, in one sentence or two."""
    p = Path(path)
    name = p.name
    if name == "index.json" and p.parent.name == "checkpoints":
        return (
            "the checkpoints themselves are not affected: rebuild the index from those that verify with "
            f"`{rebuild_index_command(p.parent)}` (CheckpointManager.rebuild_index in Python)"
        )
    if name == "manifest.json":
        if p.parent.name.startswith("step-") and p.parent.parent.name == "checkpoints":
            return (
                "this checkpoint cannot be loaded; the run's other checkpoints are not affected "
                f"(`forge checkpoints verify {p.parent.parent.parent}` lists those that verify, and resuming or "
                "evaluating skips this one)"
            )
        return "this checkpoint cannot be loaded; save it again or use another checkpoint"
    run = p.parent
    if name == "config.json":
        return (
            "the run cannot be resumed until config.json is restored; its checkpoints can still be evaluated "
            f"with the recipe it was trained from (`forge config show RECIPE -o {p}`, then `forge eval {run}`)"
        )
    if name == "metrics.json":
        return (
            "the run's final metrics are lost; its config and checkpoints are not affected: "
            f"`forge eval {run}` scores a checkpoint again, and with metrics.json moved aside the run lists as "
            "interrupted"
        )
    if name == "lineage.json":
        return (
            "the record of the run's data and code is lost; its config and checkpoints are not affected: "
            "move lineage.json aside to use the run without it"
        )
    if name == "environment.json":
        return (
            "the record of the software and hardware the run used is lost; nothing else reads it: "
            "move environment.json aside"
        )
    if name == "config_history.jsonl":
        return (
            "the run's earlier configs are lost; config.json and the checkpoints are not affected: "
            "move config_history.jsonl aside to use the run"
        )
    if name == "log.jsonl":
        return (
            "the step log is lost from there on; the checkpoints are not affected: move the file aside to use the run"
        )
    if p.parent.name == "eval":
        return f"this saved evaluation is lost; `forge eval {run.parent}` writes it again"
    return "move the file aside, or restore it from a copy"


def _damaged(path: Path, what: str, recovery: str | None) -> CheckpointError:
    return CheckpointError(f"{path} is damaged ({what}; truncated or edited?); {recovery or what_still_works(path)}")


def read_json(
    path: str | os.PathLike[str],
    *,
    expect: type | tuple[type, ...] = dict,
    missing: Any = MISSING,
    recovery: str | None = None,
) -> Any:
    """Read one JSON file of a run directory, checked.

    Args:
        path: The file.
        expect: The type the top-level value must have (a JSON object by default).
        missing: Returned when the file does not exist; left out, a missing file is an error.
        recovery: What can still be done, when :func:`what_still_works` does not know the file.

    Returns:
        The parsed value.

    Raises:
        CheckpointError: the file is missing (unless ``missing`` is given), unreadable, not UTF-8,
            not JSON or not of type ``expect``; the message names it, where it broke, and what
            can still be done.
    """
    p = Path(path)
    text = _read_text(p, recovery)
    if text is None:
        if missing is not MISSING:
            return missing
        raise CheckpointError(f"{p} is missing; {recovery or what_still_works(p)}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _damaged(p, f"line {exc.lineno}, column {exc.colno}: {exc.msg}", recovery) from None
    except (ValueError, RecursionError) as exc:  # nesting too deep, numbers too long
        raise _damaged(p, f"not valid JSON: {str(exc)[:200]}", recovery) from None
    if not isinstance(data, expect):
        wanted = " or ".join(_json_name(t) for t in (expect if isinstance(expect, tuple) else (expect,)))
        raise _damaged(p, f"expected {wanted}, got {_json_name(type(data))}", recovery)
    return data


def read_json_lines(path: str | os.PathLike[str], *, recovery: str | None = None) -> list[dict[str, Any]]:
    """Every JSON object of a JSON-lines file of a run directory (``log.jsonl``, ``config_history.jsonl``).

    A last line cut short (a process killed while appending it) is left out; damage before it is
    refused. A file that does not exist gives ``[]``.

    Raises:
        CheckpointError: the file is unreadable, or a line before the last is not a JSON object
            (``FILE:LINE`` named, with what can still be done).
    """
    p = Path(path)
    lines = (_read_text(p, recovery) or "").splitlines()
    records: list[dict[str, Any]] = []
    numbered = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    for n, line in numbered:
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as exc:
            if n == numbered[-1][0]:
                break  # the write of the last line was cut short
            what = exc.msg if isinstance(exc, json.JSONDecodeError) else "not valid JSON"
            raise CheckpointError(
                f"{p}:{n}: damaged line ({what}; truncated or edited?); {recovery or what_still_works(p)}"
            ) from None
        if not isinstance(record, dict):
            if n == numbered[-1][0] and not line.rstrip().endswith("}"):
                break  # a cut-short object can still parse (`{"a": 1` cut to `1`)
            raise CheckpointError(
                f"{p}:{n}: expected a JSON object per line, got {_json_name(type(record))}; "
                f"{recovery or what_still_works(p)}"
            )
        records.append(record)
    return records


def _read_text(p: Path, recovery: str | None) -> str | None:
    """The file's text, or None when it does not exist.

    Raises:
        CheckpointError: it is a directory, not UTF-8, or cannot be read (named, with what still works).
    """
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise CheckpointError(f"{p} is a directory, not a file; {recovery or what_still_works(p)}") from None
    except UnicodeDecodeError as exc:
        raise _damaged(p, f"not UTF-8 text: {exc.reason} at byte {exc.start}", recovery) from None
    except OSError as exc:
        raise CheckpointError(
            f"{p} cannot be read ({exc.strerror or exc}); {recovery or what_still_works(p)}"
        ) from None


def _json_name(tp: type) -> str:
    names = {dict: "a JSON object", list: "a JSON array", str: "a string", int: "a number", float: "a number"}
    names[type(None)] = "null"
    names[bool] = "true/false"
    return names.get(tp, tp.__name__)
