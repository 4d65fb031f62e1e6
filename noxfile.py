"""Every check forge runs, for people and CI alike: `nox -l` lists them.

torch is pinned to the CPU build that lies on this project's machines (2.13.0 for Python 3.11);
an unpinned torch would pull several GB of CUDA packages. Interpreters that are missing are
skipped, not failed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nox

nox.options.error_on_missing_interpreters = False
nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "typecheck", "tests"]

ROOT = Path(__file__).parent
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
TORCH = "torch==2.13.0"
PACKAGES = ["core", "vision", "nlp", "graph", "diffusion", "serve"]
COVERAGE_FLOOR = 85
# per-package floors that differ from COVERAGE_FLOOR: none at present. forge-serve's tests drive real
# server processes on loopback, which its coverage config measures too (see _cov_config): 91% on 2026-12-04.
COVERAGE_FLOORS: dict[str, int] = {}
TEST_DEPS = ["pytest>=7", "pytest-cov>=7", "hypothesis>=6", "imbalanced-learn>=0.12", "hatchling>=1.21", "pyarrow>=14"]


def _editable(package: str) -> list[str]:
    """``-e packages/<package>``, with its ``test`` extra (peer libraries its tests compare against)."""
    text = (ROOT / "packages" / package / "pyproject.toml").read_text()
    extra = "[test]" if re.search(r"^test\s*=", text, re.MULTILINE) else ""
    return ["-e", f"packages/{package}{extra}"]


def _cov_config(package: str) -> list[str]:
    """``--cov-config`` of a package whose pyproject.toml configures coverage (forge-serve: subprocesses measured)."""
    pyproject = ROOT / "packages" / package / "pyproject.toml"
    return [f"--cov-config={pyproject}"] if "[tool.coverage." in pyproject.read_text() else []


def _install_forge(session: nox.Session, *extra: str) -> None:
    session.install(TORCH)
    session.install(*TEST_DEPS, *extra)
    session.install(*[arg for p in PACKAGES for arg in _editable(p)])


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Each package's tests and the cross-package suite, with a coverage floor per package."""
    _install_forge(session)
    session.env["COVERAGE_FILE"] = str(ROOT / ".coverage")
    session.run("coverage", "erase")
    for pkg in PACKAGES:
        session.run(
            "pytest",
            f"packages/{pkg}/tests",
            f"--cov=forge.{pkg}",
            *_cov_config(pkg),
            "--cov-append",
            "--cov-report=",
            *session.posargs,
        )
    session.run("pytest", "tests", "--cov-append", "--cov-report=", *session.posargs)
    for pkg in PACKAGES:
        session.run(
            "coverage",
            "report",
            f"--include=packages/{pkg}/src/*",
            f"--fail-under={COVERAGE_FLOORS.get(pkg, COVERAGE_FLOOR)}",
            "--skip-covered",
            "--skip-empty",
        )


@nox.session(python=PYTHONS)
@nox.parametrize("package", PACKAGES)
def package(session: nox.Session, package: str) -> None:
    """One package's own tests, installed on its own with forge-core (plugins must not need each other)."""
    session.install(TORCH)
    session.install(*TEST_DEPS)
    session.install(*_editable("core"))
    if package != "core":
        session.install(*_editable(package))
    session.run("pytest", f"packages/{package}/tests", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff over every package, the tests and the benchmarks."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "packages", "tests", "benchmarks", "noxfile.py")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict, package by package."""
    _install_forge(session, "mypy>=1.10", "types-PyYAML")
    for pkg in PACKAGES:
        session.run("mypy", "--strict", f"packages/{pkg}/src")


def _lowest(requirement: str) -> str:
    name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]
    low = re.search(r">=\s*([\w.]+)", requirement)
    marker = requirement.partition(";")[2]
    if marker and not eval_marker(marker):
        return ""
    return f"{name}=={low.group(1)}" if low and name != "torch" else ""


def eval_marker(marker: str) -> bool:
    from packaging.markers import Marker

    return bool(Marker(marker).evaluate())


@nox.session(python="3.11")
def minimums(session: nox.Session) -> None:
    """The tests against the lowest version of every direct dependency that each package allows.

    torch stays at the build on this machine's disk: its lowest allowed release (2.4) exists here
    only as a multi-GB CUDA download.
    """
    if sys.version_info < (3, 11):
        session.skip("reading pyproject.toml needs tomllib (Python 3.11)")
    import tomllib

    pins = set()
    for pkg in PACKAGES:
        meta = tomllib.loads((ROOT / "packages" / pkg / "pyproject.toml").read_text())["project"]
        extras = [req for reqs in meta.get("optional-dependencies", {}).values() for req in reqs]
        pins |= {p for p in map(_lowest, [*meta["dependencies"], *extras]) if p and not p.startswith("forge-")}
    session.install(TORCH)
    session.install(*TEST_DEPS)
    session.install(*sorted(pins))
    session.install("--no-deps", *[arg for p in PACKAGES for arg in ("-e", f"packages/{p}")])
    session.run("python", "-m", "pip", "check", success_codes=[0, 1])
    session.run("pytest", *[f"packages/{p}/tests" for p in PACKAGES], "tests", "-q", *session.posargs)


@nox.session(python="3.11")
def build(session: nox.Session) -> None:
    """Wheels and sdists of every package, metadata check, and a smoke test from the wheels alone."""
    session.install("build>=1", "twine>=5")
    dist = ROOT / "dist"
    for pkg in PACKAGES:
        session.run("python", "-m", "build", "--outdir", str(dist), f"packages/{pkg}")
    files = sorted(str(p) for p in dist.glob("forge_*"))
    session.run("twine", "check", "--strict", *files)
    session.install(TORCH)
    session.install(*sorted(str(p) for p in dist.glob("forge_*.whl")))
    session.run("forge", "--version")
    session.run("forge", "plugins")
    session.run("forge", "list", "models")


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """The API reference from docstrings (pdoc), written to build/docs."""
    _install_forge(session, "pdoc>=14")
    modules = ["forge.core"] + [f"forge.{p}" for p in PACKAGES if p != "core"]
    session.run("pdoc", "-o", str(ROOT / "build" / "docs"), *modules)


@nox.session(python="3.11")
def quickstart(session: nox.Session) -> None:
    """Install every package and run the README's main job on bundled data."""
    _install_forge(session)
    session.run("bash", "scripts/main_job.sh", external=True)


@nox.session(python=PYTHONS)
def fuzz(session: nox.Session) -> None:
    """The bad-input generators at length: many random examples per class (configs, data files, run dirs).

    The test suite runs the same generators with a bounded, seeded number of examples; here
    FORGE_FUZZ=1 selects the long hypothesis profile, and each class's figures (cases tried,
    refused cleanly, tracebacks, silent accepts) are written to build/fuzz-figures.jsonl.
    """
    _install_forge(session)
    report = ROOT / "build" / "fuzz-figures.jsonl"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    session.env["FORGE_FUZZ"] = "1"
    session.env["FORGE_FUZZ_REPORT"] = str(report)
    session.run(
        "pytest",
        "packages/core/tests/test_fuzz_bad_input.py",
        "packages/vision/tests/test_bad_input_image_folder.py",
        "-p",
        "no:cacheprovider",
        *session.posargs,
    )
    session.log(report.read_text(encoding="utf-8") if report.exists() else "no figures written")
