"""Logging: JSON lines, console text, the level switch, redaction, and the JSON file tee."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from forge.core import _logging as flog


@pytest.fixture(autouse=True)
def reset_logging() -> Iterator[None]:
    yield
    flog.configure_logging(fmt="console", level="info")


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines() -> None:
    out = io.StringIO()
    flog.configure_logging(fmt="json", level="info", stream=out)
    flog.get_logger("forge.test", run="r1").info("step_done", step=3, loss=0.5)
    (event,) = json_lines(out)
    assert {
        "event": "step_done",
        "step": 3,
        "loss": 0.5,
        "run": "r1",
        "logger": "forge.test",
        "level": "info",
    }.items() <= event.items()
    assert event["timestamp"].endswith("Z")


def test_console_is_readable_text() -> None:
    out = io.StringIO()
    flog.configure_logging(fmt="console", level="info", stream=out)
    flog.get_logger("forge.test").warning("disk_low", free_gb=3)
    text = out.getvalue()
    assert "disk_low" in text and "free_gb=3" in text and "warning" in text and "forge.test" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


@pytest.mark.parametrize(
    ("level", "written"),
    [("debug", ["d", "i", "w", "e"]), ("info", ["i", "w", "e"]), ("WARNING", ["w", "e"]), ("error", ["e"])],
)
def test_level_switch(level: str, written: list[str]) -> None:
    out = io.StringIO()
    flog.configure_logging(fmt="json", level=level, stream=out)
    log = flog.get_logger("forge.test")
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.error("e")
    assert [e["event"] for e in json_lines(out)] == written


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="log format 'xml'"):
        flog.configure_logging(fmt="xml")  # type: ignore[arg-type]  # the wrong value is the point
    with pytest.raises(ValueError, match="log level 'loud'"):
        flog.configure_logging(level="loud")


def test_a_logger_made_before_configure_follows_it() -> None:
    early = flog.get_logger("forge.early")  # as a module-level logger is, at import time
    out = io.StringIO()
    flog.configure_logging(fmt="json", level="warning", stream=out)
    early.info("hidden")
    early.bind(phase="x").warning("shown", api_key="k")
    (event,) = json_lines(out)
    assert event["event"] == "shown" and event["phase"] == "x" and event["api_key"] == flog.REDACTED


def test_secret_named_keys_are_redacted_at_any_depth() -> None:
    out = io.StringIO()
    flog.configure_logging(fmt="json", level="info", stream=out)
    flog.get_logger("forge.test").info(
        "request",
        token="t0p",
        password="hunter2",
        hf_token="hf_abc",
        apiKey="k1",
        headers={"Authorization": "Bearer xyz", "Accept": "json", "nested": {"client_secret": "s", "ok": 1}},
        items=[{"db_password": "p"}, "plain"],
        tokenizer="bpe",
        max_tokens=128,
        author="someone",
        empty_token=None,
    )
    (event,) = json_lines(out)
    hidden = flog.REDACTED
    assert (event["token"], event["password"], event["hf_token"], event["apiKey"]) == (hidden,) * 4
    assert event["headers"] == {"Authorization": hidden, "Accept": "json", "nested": {"client_secret": hidden, "ok": 1}}
    assert event["items"] == [{"db_password": hidden}, "plain"]
    # ordinary ML vocabulary that merely contains a secret-ish word stays visible
    assert (event["tokenizer"], event["max_tokens"], event["author"]) == ("bpe", 128, "someone")
    assert event["empty_token"] is None
    assert "hunter2" not in out.getvalue() and "Bearer" not in out.getvalue()


def test_emails_are_redacted_everywhere() -> None:
    out = io.StringIO()
    flog.configure_logging(fmt="json", level="info", stream=out)
    flog.get_logger("forge.test").info(
        "mail sent to jane.doe+ml@example.co.uk",
        to=["a.b@corp.example.com", 3],
        meta={"note": "from x_y@host.io today"},
    )
    (event,) = json_lines(out)
    assert event["event"] == "mail sent to <EMAIL>"
    assert event["to"] == ["<EMAIL>", 3]
    assert event["meta"] == {"note": "from <EMAIL> today"}
    assert "@" not in out.getvalue()


def test_exceptions_are_rendered_and_redacted() -> None:
    out = io.StringIO()
    flog.configure_logging(fmt="json", level="info", stream=out)
    try:
        raise RuntimeError("cannot reach bob@example.com")
    except RuntimeError:
        flog.get_logger("forge.test").exception("failed")
    (event,) = json_lines(out)
    assert "RuntimeError: cannot reach <EMAIL>" in event["exception"]


def test_json_file_tee_gets_json_while_the_console_gets_text(tmp_path: Path) -> None:
    out = io.StringIO()
    log_file = tmp_path / "run" / "log.jsonl"
    log_file.parent.mkdir()
    flog.configure_logging(fmt="console", level="info", stream=out, json_file=log_file)
    flog.get_logger("forge.test").info("epoch_end", epoch=1, secret="s3")
    flog.get_logger("forge.test").info("epoch_end", epoch=2)
    lines = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert [(e["event"], e["epoch"]) for e in lines] == [("epoch_end", 1), ("epoch_end", 2)]
    assert lines[0]["secret"] == flog.REDACTED
    assert "epoch_end" in out.getvalue() and "s3" not in out.getvalue()
    assert not out.getvalue().lstrip().startswith("{")
    # reconfiguring closes the old file and appends to the new one
    flog.configure_logging(fmt="json", level="info", stream=out, json_file=log_file)
    flog.get_logger("forge.test").info("again")
    assert len(log_file.read_text(encoding="utf-8").splitlines()) == 3


def test_redact_processor_directly() -> None:
    event = {"event": "x", "Private-Key": "pk", "session_id": "s", "cookies": ["c"], "credentials": {"u": 1}}
    assert flog.redact(None, "info", event) == {
        "event": "x",
        "Private-Key": flog.REDACTED,
        "session_id": flog.REDACTED,
        "cookies": flog.REDACTED,
        "credentials": flog.REDACTED,
    }


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """The root logger, with its handlers and level put back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_plugin_configuring_the_root_logger_cannot_flood_forge_output(
    root_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    out = io.StringIO()
    # pytest's own capture handlers would make basicConfig a no-op anyway: start from a bare root
    root_logger.handlers[:] = []
    flog.configure_logging(fmt="json", level="info", stream=out)
    # what a plugin does at import: basicConfig(DEBUG), or lowering the root level directly
    logging.basicConfig(level=logging.DEBUG)
    root_logger.setLevel(logging.DEBUG)
    noisy = logging.getLogger("thirdparty.http")
    noisy.debug("connection pool chatter")
    noisy.info("more chatter")
    noisy.warning("disk almost full")
    flog.get_logger("forge.test").info("ours")
    events = json_lines(out)
    assert [(e["event"], e["logger"], e["level"]) for e in events] == [
        ("disk almost full", "thirdparty.http", "warning"),
        ("ours", "forge.test", "info"),
    ]
    assert all(e["timestamp"].endswith("Z") for e in events)
    captured = capsys.readouterr()
    assert "chatter" not in captured.err and "chatter" not in captured.out


def test_library_use_before_configure_logs_to_stderr_not_stdout() -> None:
    import subprocess
    import sys

    code = "from forge.core import get_logger\nget_logger('forge.test').warning('hello_there', x=1)\nprint('OUT')\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout == "OUT\n"  # a program using forge as a library keeps its stdout
    assert "hello_there" in result.stderr
