"""docs/plugins.md stays true: its code blocks are forge-acme's files and its examples run.

Markers in the guide say what each block is: ``<!-- mirrors: PATH -->`` (the block is that file),
``<!-- excerpt: PATH -->`` (its lines appear in that file, in order; ``...`` elides), ``<!-- run -->``
(executed against forge-acme, made importable through a ``*.dist-info`` on ``PYTHONPATH``, without
installing anything) and ``<!-- datasets -->`` (the table of bundled datasets' sample shapes).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "plugins.md"
ACME = ROOT / "tests" / "plugins" / "forge-acme"
_BLOCK = re.compile(r"<!-- (?P<marker>[^>]*?) -->\n```(?P<lang>\w*)\n(?P<code>.*?)```", re.DOTALL)


def blocks(marker: str) -> list[tuple[str, str]]:
    """(argument, code) of every fenced block following ``<!-- marker: argument -->``."""
    text = GUIDE.read_text(encoding="utf-8")
    found = []
    for match in _BLOCK.finditer(text):
        name, _, arg = match["marker"].partition(":")
        if name.strip() == marker:
            found.append((arg.strip(), match["code"]))
    return found


def test_the_guide_marks_its_blocks() -> None:
    mirrored = {path for path, _ in blocks("mirrors")}
    assert {
        "tests/plugins/forge-acme/pyproject.toml",
        "tests/plugins/forge-acme/src/forge_acme/plugin.py",
        "tests/plugins/forge-acme/src/forge_acme/commands.py",
        "tests/plugins/forge-acme/tests/test_acme.py",
    } <= mirrored
    assert len(blocks("excerpt")) >= 2 and len(blocks("run")) >= 1


@pytest.mark.parametrize("path,code", blocks("mirrors"), ids=lambda v: Path(v).name if "/" in v else "")
def test_mirrored_blocks_are_the_example_plugins_files(path: str, code: str) -> None:
    assert code == (ROOT / path).read_text(encoding="utf-8"), f"docs/plugins.md's copy of {path} has drifted"


@pytest.mark.parametrize("path,code", blocks("excerpt"), ids=lambda v: Path(v).name if "/" in v else "")
def test_excerpt_blocks_appear_in_the_example_plugin_in_order(path: str, code: str) -> None:
    lines = [line.rstrip() for line in (ROOT / path).read_text(encoding="utf-8").splitlines()]
    at = 0
    for wanted in (line.rstrip() for line in code.splitlines()):
        if not wanted.strip() or wanted.strip() == "...":
            continue
        assert wanted in lines[at:], f"{path}: {wanted!r} is not in the file (after line {at})"
        at = lines.index(wanted, at) + 1


def test_pyproject_example_bounds_this_core_and_has_the_extra_the_install_line_uses() -> None:
    (_, pyproject), *_ = [b for b in blocks("mirrors") if b[0].endswith("pyproject.toml")]
    project = tomllib.loads(pyproject)["project"]
    major, minor = (int(p) for p in metadata.version("forge-core").split(".")[:2])
    assert f"forge-core>={major}.{minor},<{major}.{minor + 1}" in project["dependencies"]
    extras = re.findall(r"pip install -e '\./forge-acme\[(\w+)\]'", GUIDE.read_text(encoding="utf-8"))
    assert extras and all(extra in project["optional-dependencies"] for extra in extras)
    assert f"forge-core>={major}.{minor},<{major}.{minor + 1}" in GUIDE.read_text(encoding="utf-8")
    assert "forge-core>=0.1,<0.2" not in GUIDE.read_text(encoding="utf-8")


@pytest.fixture
def acme_env(tmp_path: Path) -> dict[str, str]:
    """An environment in which forge-acme looks installed (its source and a dist-info on PYTHONPATH)."""
    dist = tmp_path / "forge_acme-1.2.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: forge-acme\nVersion: 1.2.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[forge.plugins]\nacme = forge_acme.plugin\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_")}
    paths = [str(tmp_path), str(ACME / "src"), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(paths).rstrip(os.pathsep)
    env["FORGE_LOAD_PLUGINS"] = "acme"
    env["FORGE_STRICT_PLUGINS"] = "1"
    return env


def test_the_guides_examples_run_against_the_example_plugin(acme_env: dict[str, str]) -> None:
    code = "\n".join(code for _, code in blocks("run"))
    # and the guide's warning holds: the short name "huber" is ambiguous with core's own
    code += (
        "\nfrom forge.core.errors import RegistryError\n"
        "try:\n    registry.build('loss', 'huber')\nexcept RegistryError as exc:\n"
        "    assert 'core.huber' in str(exc) and 'acme.huber' in str(exc), exc\n"
        "else:\n    raise AssertionError('the short name huber should be ambiguous')\n"
        "from forge.core.testing import check_light_listing\n"
        "check_light_listing('acme', forbidden=('torch', 'click'))\n"
        "from forge.core.testing import check_constraints, config_classes\n"
        "check_constraints(config_classes('acme', ['forge_acme.configs']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=acme_env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_dataset_table_matches_what_the_datasets_yield(monkeypatch: pytest.MonkeyPatch) -> None:
    from forge.core._registry import Registry
    from forge.core.cli._inspect import _dataset_sample, _format_shape

    eps = [
        metadata.EntryPoint(name="core", value="forge.core._plugin", group="forge.plugins"),
        metadata.EntryPoint(name="vision", value="forge.vision.plugin", group="forge.plugins"),
    ]
    reg = Registry(entry_points=eps)
    monkeypatch.setattr(sys.modules["forge.core._registry"], "registry", reg)
    text = GUIDE.read_text(encoding="utf-8")
    table = text[text.index("<!-- datasets -->") :].split("\n\n", 1)[0]
    rows = [line.split("|")[1:-1] for line in table.splitlines()[3:]]
    assert len(rows) >= 4
    for name, task, given, target, sizes in ([c.strip() for c in row] for row in rows):
        sample = _dataset_sample(reg.get("dataset", name.strip("`")))
        assert task.startswith(sample["task"]), name
        if sample["num_classes"] is not None:
            assert f"{sample['num_classes']} classes" in task, name
        assert given.startswith(f"`{_format_shape(sample['input'])}`"), (name, sample["input"])
        shown_target = _format_shape(sample["target"]).split(" (e.g.")[0]
        assert target.startswith(f"`{shown_target}`"), (name, sample["target"])
        assert sizes == " / ".join(str(sample["sizes"][s]) for s in ("train", "val", "test")), name
