"""Fixtures of forge-serve's tests: a tiny trained run directory and real server processes on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vision/digits run trained for two steps (a real ResNet-18 run directory, 8x8 grayscale)."""
    pytest.importorskip("forge.vision", reason="forge-vision provides the model of the run-directory tests")
    from forge.core import run_recipe

    run_dir = tmp_path_factory.mktemp("runs") / "digits"
    run_recipe("vision/digits", ["trainer.max_steps=2", "trainer.max_epochs=1"], run_dir=run_dir)
    return run_dir


class ServerProcess:
    """A ``python -m forge.serve`` process on a loopback port, its log captured to a file."""

    def __init__(self, args: list[str], tmp: Path, env: dict[str, str] | None = None) -> None:
        self.port_file = tmp / "port"
        self.log_path = tmp / "server.log"
        self._log = self.log_path.open("wb")
        full_env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
            **(env or {}),
        }
        full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "forge.serve", *args, "--port", "0", "--port-file", str(self.port_file)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=full_env,
        )
        self.url = ""

    def wait_ready(self, timeout: float = 90.0) -> ServerProcess:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            if self.port_file.exists() and not self.url:
                self.url = f"http://127.0.0.1:{self.port_file.read_text().strip()}"
            if self.url:
                try:
                    ready = httpx.get(f"{self.url}/readyz", timeout=2)
                except httpx.TransportError:
                    pass
                else:
                    if ready.status_code == 200:
                        return self
                    if "failed to load" in ready.text:
                        raise AssertionError(f"server failed to load its models: {ready.text}\n{self.log()}")
            time.sleep(0.2)
        raise AssertionError(f"server not ready within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def access_log(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.log().splitlines():
            if line.startswith("{") and '"forge.serve.access"' in line:
                entries.append(json.loads(line))
        return entries

    def terminate(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Any]:
    """Start server processes; every one is stopped (SIGTERM, then SIGKILL) when the test ends."""
    started: list[ServerProcess] = []

    def start(args: list[str], env: dict[str, str] | None = None, name: str = "srv") -> ServerProcess:
        folder = tmp_path / f"{name}{len(started)}"
        folder.mkdir()
        server = ServerProcess(args, folder, env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.terminate()
