"""Shared set-up of the cross-package suite.

Plugin packages that the suite installs live under ``tests/plugins/`` with their own tests; those
run in a subprocess once the package is installed, never when this suite is collected.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

collect_ignore_glob = ["plugins/*"]

ROOT = Path(__file__).resolve().parent.parent
ACME = ROOT / "tests" / "plugins" / "forge-acme"


def clean_env() -> dict[str, str]:
    """The environment for subprocesses: no FORGE_* settings leaking in from the caller."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FORGE_")}


def run(*args: str | Path, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run a command with this interpreter's environment, capturing text output."""
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def forge_command() -> str:
    """The installed ``forge`` console script of this interpreter's environment."""
    exe = Path(sys.executable).parent / ("forge.exe" if os.name == "nt" else "forge")
    if not exe.exists():
        pytest.skip("the forge console script is not installed in this environment")
    return str(exe)


Runner = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="session")
def sh() -> Runner:
    """:func:`run`, for tests: ``sh(program, *args, cwd=None)``."""
    return run


@pytest.fixture(scope="session")
def forge_exe() -> str:
    """The path of the installed ``forge`` command."""
    return forge_command()


@pytest.fixture(scope="session")
def installed_plugins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Install forge-acme and a freshly generated ``forge new-plugin demo`` package, once a session.

    One pip call installs both (as wheels, like a user's install; no dependencies and no build
    isolation, so that nothing is downloaded: forge-core, torch and hatchling are already here);
    both are uninstalled at the end.
    """
    where = tmp_path_factory.mktemp("new-plugin")
    scaffold = run(forge_command(), "new-plugin", "demo", "--dir", where)
    demo = where / "forge-demo"
    assert scaffold.returncode == 0 and f"wrote {demo}" in scaffold.stdout, scaffold.stderr
    pip = (sys.executable, "-m", "pip")
    install = run(*pip, "install", "--quiet", "--no-deps", "--no-build-isolation", ACME, demo)
    if install.returncode != 0:
        pytest.fail(f"pip install failed (is hatchling installed here?):\n{install.stdout}\n{install.stderr}")
    try:
        yield {"acme": ACME, "demo": demo}
    finally:
        run(*pip, "uninstall", "--quiet", "--yes", "forge-acme", "forge-demo")
