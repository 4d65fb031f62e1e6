"""``forge serve``: added to forge's CLI by the plugin, options merged over a config file, bad input refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from forge.core.errors import ConfigError
from forge.serve.command import build_config, serve_command


def test_forge_cli_has_the_serve_command() -> None:
    code = "from forge.core.cli import main; main()"
    out = subprocess.run([sys.executable, "-c", code, "serve", "--help"], capture_output=True, text=True, check=True)
    assert "RUN_DIR_OR_EXPORT" in out.stdout and "--max-batch-size" in out.stdout


def test_options_override_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "serve.toml"
    path.write_text("workers = 3\n[batching]\nmax_batch_size = 4\nqueue_size = 9\n")
    config = build_config(("runs/a",), path, {"batching__max_batch_size": 32, "port": 0, "api_keys": None})
    assert config.models == ("runs/a",) and config.workers == 3 and config.port == 0
    assert config.batching.max_batch_size == 32 and config.batching.queue_size == 9
    with pytest.raises(ConfigError, match="batching.max_batch_size"):
        build_config((), None, {"batching__max_batch_size": 0})
    path.write_text("wokers = 2\n")
    with pytest.raises(ConfigError, match="wokers"):
        build_config((), path, {})


def test_bad_command_lines_are_refused(tmp_path: Path) -> None:
    runner = CliRunner()
    bad_key = runner.invoke(serve_command, [str(tmp_path), "--api-key", "ci:predict:KEY"])
    assert bad_key.exit_code == 2 and "NAME:ROLES:env:VARIABLE" in bad_key.output
    bad_canary = runner.invoke(serve_command, [str(tmp_path), "--canary", "digits:2"])
    assert bad_canary.exit_code == 2 and "MODEL:VERSION:SHARE" in bad_canary.output
    empty = runner.invoke(serve_command, [str(tmp_path), "--port", "0"])
    assert empty.exit_code == 1 and "holds no run directory" in empty.output
    nothing = runner.invoke(serve_command, [])
    assert nothing.exit_code == 2 and "at least one" in nothing.output
