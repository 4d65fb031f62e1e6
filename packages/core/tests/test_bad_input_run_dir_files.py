"""Every file forge reads from a trained run directory, damaged (cut, garbled, deleted), is named with what still works.

One tiny run of ``core/mlp`` is trained once; each test damages a copy of it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from forge.core._checkpoint import read_index, rebuild_index
from forge.core._run import RunDir, find_checkpoint
from forge.core._runner import run_recipe, saved_recipe
from forge.core.cli import cli
from forge.core.errors import CheckpointError, ConfigError
from forge.core.hub import read_run

DAMAGES = ("truncate", "garbage", "delete")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished two-epoch run (checkpoints at steps 2 and 4) with a config history."""
    path = tmp_path_factory.mktemp("trained") / "run"
    run_recipe(
        "core/mlp",
        ["data.num_samples=96", "trainer.max_epochs=2", "trainer.progress=false", "trainer.checkpoint.keep_last=3"],
        run_dir=path,
    )
    run = RunDir(path)
    changed = run.read_config()
    changed["trainer"]["max_epochs"] = 3
    run.update_config(changed, reason="resume", step=4)
    run.update_config(dict(changed, description="again"), reason="resume", step=4)
    return path


@pytest.fixture()
def run(trained: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(data[:10] + b'\xff\x00{"]' + data[16:])
    else:
        path.unlink()


def _forge(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=True)


# ----------------------------------------------------------------------------------------------
# checkpoints/index.json: refused with the command that rebuilds it; the command rebuilds it
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["truncate", "garbage"])
def test_a_damaged_index_names_the_rebuild_command_which_restores_it(run: Path, how: str) -> None:
    index = run / "checkpoints" / "index.json"
    before = read_index(index)
    best = find_checkpoint(run, "best").path.name
    _damage(index, how)
    with pytest.raises(CheckpointError) as info:
        find_checkpoint(run, "best")
    text = str(info.value)
    assert text.startswith(f"{index} is damaged") and f"`forge checkpoints rebuild-index {run}`" in text
    result = _forge("checkpoints", "rebuild-index", str(run))
    assert result.exit_code == 0, result.output
    assert "rebuilt (replacing the damaged one) from 2 verified checkpoint(s)" in result.output
    assert "kept     step-000002" in result.output and "kept     step-000004" in result.output
    assert (run / "checkpoints" / "index.json.damaged").read_bytes() != index.read_bytes()
    after = read_index(index)
    assert (after["monitor"], after["mode"]) == (before["monitor"], before["mode"])
    assert [(e.name, e.metrics) for e in after["checkpoints"]] == [(e.name, e.metrics) for e in before["checkpoints"]]
    assert find_checkpoint(run, "best").path.name == best


def test_a_deleted_index_is_rebuilt_from_the_checkpoints_alone(run: Path) -> None:
    index = run / "checkpoints" / "index.json"
    before = read_index(index)
    index.unlink()
    result = rebuild_index(run)
    assert (result.previous, result.written, result.damaged_copy) == ("missing", True, None)
    # The manifests hold the metrics each checkpoint was saved with: nothing is lost.
    assert [(e.name, e.metrics) for e in read_index(index)["checkpoints"]] == [
        (e.name, e.metrics) for e in before["checkpoints"]
    ]


def test_a_good_index_is_never_replaced_by_one_knowing_less(run: Path) -> None:
    index = run / "checkpoints" / "index.json"
    data = json.loads(index.read_text(encoding="utf-8"))
    data["checkpoints"][0]["metrics"]["val/extra"] = 0.25  # recorded only in the index
    data["monitor"], data["mode"] = "val/accuracy", "max"
    index.write_text(json.dumps(data), encoding="utf-8")
    untouched = index.read_bytes()
    result = _forge("checkpoints", "rebuild-index", str(run))
    assert result.exit_code == 0 and "left unchanged" in result.output
    assert index.read_bytes() == untouched
    # One checkpoint no longer verifies: it is skipped and reported, the other keeps all it had.
    (run / "checkpoints" / "step-000004" / "model.safetensors").write_bytes(b"garbage")
    result = _forge("checkpoints", "rebuild-index", str(run), "--json")
    report = json.loads(result.stdout)
    assert [k["name"] for k in report["kept"]] == ["step-000002"]
    assert report["kept"][0]["metrics"]["val/extra"] == 0.25
    assert report["skipped"][0]["name"] == "step-000004" and "corrupted or truncated" in report["skipped"][0]["error"]
    rebuilt = read_index(index)
    assert (rebuilt["monitor"], rebuilt["mode"]) == ("val/accuracy", "max")
    verify = _forge("checkpoints", "verify", str(run))
    assert verify.exit_code == 1 and "step-000002  ok" in verify.output and "step-000004  FAILED" in verify.output


def test_rebuild_refuses_when_no_checkpoint_verifies_and_changes_nothing(run: Path) -> None:
    index = run / "checkpoints" / "index.json"
    _damage(index, "truncate")
    damaged = index.read_bytes()
    for step in ("step-000002", "step-000004"):
        _damage(run / "checkpoints" / step / "manifest.json", "garbage")
    result = _forge("checkpoints", "rebuild-index", str(run))
    assert result.exit_code != 0 and isinstance(result.exception, CheckpointError)
    assert "no checkpoint verifies" in str(result.exception)
    assert index.read_bytes() == damaged and not (run / "checkpoints" / "index.json.damaged").exists()


# ----------------------------------------------------------------------------------------------
# the other files: metrics, lineage, environment, config history, a checkpoint's manifest, config
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize(
    ("name", "still"),
    [
        ("metrics.json", "forge eval"),
        ("lineage.json", "move lineage.json aside"),
    ],
)
def test_damaged_run_summaries_are_named_with_what_still_works(run: Path, name: str, still: str, how: str) -> None:
    _damage(run / name, how)
    if how == "delete":  # an unfinished run has neither: nothing to refuse
        summary = read_run(run)
        assert (summary.metrics if name == "metrics.json" else summary.lineage) == {}
        return
    with pytest.raises(CheckpointError) as info:
        read_run(run)
    text = str(info.value)
    assert text.startswith(f"{run / name} is damaged") and still in text and "not affected" in text


@pytest.mark.parametrize("how", ["truncate", "garbage"])
def test_damaged_environment_and_config_history_are_named(run: Path, how: str) -> None:
    _damage(run / "environment.json", how)
    with pytest.raises(CheckpointError, match=r"environment\.json is damaged .*move environment\.json aside"):
        RunDir(run).read_environment()
    history = run / "config_history.jsonl"
    assert len(RunDir(run).config_history()) == 2
    lines = history.read_text(encoding="utf-8").splitlines()
    history.write_text(lines[0][: len(lines[0]) // 2] + "\n" + lines[1] + "\n", encoding="utf-8")
    with pytest.raises(
        CheckpointError, match=r"config_history\.jsonl:1: damaged line .*config\.json and the checkpoints"
    ):
        RunDir(run).config_history()
    history.write_text(lines[0] + "\n" + lines[1][:30], encoding="utf-8")  # only the last line cut: skipped
    assert len(RunDir(run).config_history()) == 1


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_checkpoint_manifest_is_skipped_for_the_one_before(run: Path, how: str) -> None:
    manifest = run / "checkpoints" / "step-000004" / "manifest.json"
    _damage(manifest, how)
    assert find_checkpoint(run, "last").path.name == "step-000002"
    verify = _forge("checkpoints", "verify", str(run), "--json")
    rows = {r["checkpoint"]: r for r in json.loads(verify.stdout)}
    assert verify.exit_code == 1 and rows["step-000002"]["ok"] and not rows["step-000004"]["ok"]
    assert "manifest.json" in rows["step-000004"]["error"]
    if how != "delete":
        assert "the run's other checkpoints are not affected" in rows["step-000004"]["error"]


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_config_cannot_resume_but_says_how_to_evaluate(run: Path, how: str) -> None:
    config = run / "config.json"
    _damage(config, how)
    with pytest.raises(CheckpointError) as info:
        saved_recipe(RunDir(run))
    text = str(info.value)
    assert str(config) in text and "forge eval" in text


def test_a_saved_config_that_breaks_a_constraint_says_the_run_cannot_resume(run: Path) -> None:
    config = run / "config.json"
    data = json.loads(config.read_text(encoding="utf-8"))
    data["trainer"]["max_epochs"] = 0
    config.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        saved_recipe(RunDir(run))
    text = str(info.value)
    assert "trainer.max_epochs: expected a number >= 1, got 0" in text
    assert "cannot be resumed until config.json is restored" in text and "forge eval" in text
    assert saved_recipe(RunDir(run), ["trainer.max_epochs=3"]).trainer.max_epochs == 3  # an override mends it
