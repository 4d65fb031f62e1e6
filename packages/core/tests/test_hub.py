"""forge.core.hub: runs list/show/compare, the SQLite model registry, lineage and promotion gates."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from forge.core import run_recipe
from forge.core.errors import CheckpointError, ConfigError, RegistryError
from forge.core.evaluator import mcnemar_test
from forge.core.hub import ModelRegistry, compare_runs, gate, list_runs, read_run

SMALL = ["data.num_samples=512"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hub") / "runs"
    good = run_recipe("core/mlp", [*SMALL, "trainer.max_epochs=2"], run_dir=root / "good").run_dir
    weak = run_recipe("core/mlp", [*SMALL, "trainer.max_epochs=1", "optimizer.lr=1e-7"], run_dir=root / "weak").run_dir
    return {"root": root, "good": good, "weak": weak}


def test_list_show_and_compare_runs(runs: dict[str, Path]) -> None:
    listed = list_runs(runs["root"])
    assert {r.path.name for r in listed} == {"good", "weak"}
    good = read_run(runs["good"])
    assert good.model == "core.mlp" and good.status == "finished (max_epochs)"
    assert good.to_json()["data_fingerprint"] == good.lineage["dataset"]["fingerprint"]
    diff = compare_runs(runs["good"], runs["weak"])
    assert diff["config"]["optimizer.lr"] == [0.003, 1e-7]
    assert diff["config"]["trainer.max_epochs"] == [2, 1]
    acc = diff["metrics"]["test/accuracy"]
    assert acc["delta"] == pytest.approx(acc["b"] - acc["a"]) and acc["delta"] < 0
    with pytest.raises(CheckpointError, match="not a run directory"):
        read_run(runs["root"])
    (runs["root"] / "broken").mkdir(exist_ok=True)
    (runs["root"] / "broken" / "config.json").write_text("{trunc")
    with pytest.raises(CheckpointError, match="damaged"):
        read_run(runs["root"] / "broken")
    assert {r.path.name for r in list_runs(runs["root"])} == {"good", "weak"}  # the damaged one is skipped


def test_registry_versions_stages_rollback_and_audit(runs: dict[str, Path], tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path / "models.db")
    v1 = reg.register(runs["weak"], "clusters")
    v2 = reg.register(runs["good"], "clusters", which="last")
    assert (v1.version, v2.version, v1.stage) == (1, 2, "none")
    assert v2.data_fingerprint == read_run(runs["good"]).lineage["dataset"]["fingerprint"]
    assert v2.record["dataset"]["license"] and v2.record["which"] == "last" and len(v2.checkpoint_sha256) == 64
    reg.promote("clusters", 1, reason="first")
    reg.promote("clusters", 2, reason="better")
    assert reg.get("clusters", "production").version == 2
    assert reg.get("clusters", 1).stage == "archived"
    back = reg.rollback("clusters", reason="regression in prod")
    assert back.version == 1 and reg.get("clusters", "production").version == 1
    assert reg.get("clusters", 2).stage == "archived"
    log = reg.audit("clusters")
    assert [e["action"] for e in log][:2] == ["register", "register"]
    assert any(e["detail"].get("reason", "").startswith("rollback from 2") for e in log)
    assert all(e["actor"] and e["at"] for e in log)
    with sqlite3.connect(tmp_path / "models.db") as db, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit")
    with pytest.raises(RegistryError, match="no version 9"):
        reg.get("clusters", 9)
    with pytest.raises(RegistryError, match="registered models: clusters"):
        reg.get("nope")
    with pytest.raises(ConfigError, match="model name"):
        reg.register(runs["good"], "bad name!")


def test_lineage_goes_back_through_a_compressed_parent_to_the_data(runs: dict[str, Path], tmp_path: Path) -> None:
    from forge.core.compress import compress_run

    pruned = compress_run(
        runs["good"],
        "prune",
        out=tmp_path / "pruned",
        options={"sparsity": 0.3, "end_step": 2},
        overrides=["trainer.max_epochs=1"],
    )
    reg = ModelRegistry(tmp_path / "models.db")
    reg.register(pruned.run_dir, "pruned")
    chain = reg.lineage("pruned")
    kinds = [c["kind"] for c in chain]
    assert kinds == ["model", "run", "parent run", "dataset", "code"]
    assert chain[2]["path"] == str(runs["good"].resolve())
    assert chain[3]["license"] and chain[3]["fingerprint"]


def _pairs(only_a: int, only_b: int) -> tuple[list[bool], list[bool]]:
    """Correctness vectors with the given discordant counts (and two concordant pairs)."""
    a = [True] * only_a + [False] * only_b + [True, False]
    return a, [not x for x in a[:-2]] + [True, False]


def test_mcnemar_matches_the_exact_binomial() -> None:
    for (only_a, only_b), p in {(0, 0): 1.0, (0, 6): 2 / 64, (3, 3): 1.0, (1, 9): 2 * (1 + 10) / 1024}.items():
        assert mcnemar_test(*_pairs(only_a, only_b)) == (only_a, only_b, pytest.approx(p))


def test_gate_refuses_a_significantly_worse_candidate(runs: dict[str, Path], tmp_path: Path) -> None:
    refused = gate(runs["weak"], str(runs["good"]), resamples=500)
    assert not refused.passed and refused.interval[1] < 0 and refused.mcnemar_p < 0.01
    assert "promotion refused" in refused.reason
    passed = gate(runs["good"], str(runs["good"]), resamples=500)
    assert passed.passed and passed.delta == 0.0
    # through the registry and the CLI: exit code 1 for the refusal
    db = tmp_path / "models.db"
    reg = ModelRegistry(db)
    reg.promote("clusters", reg.register(runs["good"], "clusters").version)
    from forge.core.cli import cli

    out = CliRunner().invoke(cli, ["gate", str(runs["weak"]), "--against", "clusters", "--registry", str(db)])
    assert out.exit_code == 1, out.output
    ok = CliRunner().invoke(cli, ["gate", str(runs["good"]), "--against", "clusters@production", "--registry", str(db)])
    assert ok.exit_code == 0, ok.output


def test_cli_runs_and_models(runs: dict[str, Path], tmp_path: Path) -> None:
    from forge.core.cli import cli

    runner = CliRunner()
    listed = runner.invoke(cli, ["runs", "list", str(runs["root"]), "--json"])
    assert listed.exit_code == 0 and {Path(r["path"]).name for r in json.loads(listed.output)} >= {"good", "weak"}
    compared = runner.invoke(cli, ["runs", "compare", str(runs["good"]), str(runs["weak"])])
    assert json.loads(compared.output)["config"]["optimizer.lr"] == [0.003, 1e-7]
    db = str(tmp_path / "m.db")
    assert runner.invoke(cli, ["models", "register", str(runs["good"]), "--name", "m", "--registry", db]).exit_code == 0
    assert runner.invoke(cli, ["models", "promote", "m", "1", "--registry", db]).exit_code == 0
    shown = runner.invoke(cli, ["models", "list", "--json", "--registry", db])
    assert json.loads(shown.output)[0]["stage"] == "production"
    lineage = runner.invoke(cli, ["lineage", "m@production", "--registry", db])
    assert json.loads(lineage.output)[0]["ref"] == "m:1"
    missing = runner.invoke(cli, ["models", "rollback", "m", "--registry", db])
    assert missing.exit_code != 0


def test_drift_report_flags_a_shifted_feature_only() -> None:
    import torch

    from forge.core.evaluator import drift_report, ks_test, psi

    g = torch.Generator().manual_seed(0)
    reference = torch.randn(800, 3, generator=g)
    current = torch.randn(400, 3, generator=g)
    current[:, 1] += 1.0
    report = drift_report(reference, current, names=["a", "b", "c"])
    assert report["drifted"] == ["b"] and report["drift"] and report["mmd_p"] < 0.05
    assert report["features"]["b"]["psi"] > 0.2 and report["features"]["a"]["psi"] < 0.1
    same = drift_report(reference[:400], reference[400:])
    assert same["drifted"] == [] and same["mmd_p"] > 0.05
    from scipy import stats

    d, p = ks_test(reference[:, 1], current[:, 1])
    ref = stats.ks_2samp(reference[:, 1].numpy(), current[:, 1].numpy(), method="asymp")
    assert d == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue, rel=0.05, abs=1e-12)
    assert psi(reference[:, 0], reference[:, 0]) == pytest.approx(0.0)


def test_retrain_trigger_requires_a_person_before_the_next_promotion(runs: dict[str, Path], tmp_path: Path) -> None:
    import torch

    from forge.core.hub import check_retrain

    reg = ModelRegistry(tmp_path / "models.db")
    v1 = reg.register(runs["good"], "m")
    reg.promote("m", v1.version)
    g = torch.Generator().manual_seed(0)
    reference = torch.randn(500, 2, generator=g)
    calm = check_retrain(reg, "m", reference, torch.randn(300, 2, generator=g))
    assert not calm.triggered and not reg.approval_required("m")
    fired: list[object] = []
    accuracy = reg.get("m", "production").record["metrics"]["test/accuracy"]
    decision = check_retrain(
        reg,
        "m",
        reference,
        torch.randn(300, 2, generator=g) + 2.0,
        metrics={"test/accuracy": accuracy - 0.1},
        hooks=[fired.append],
    )
    assert decision.triggered and fired == [decision]
    assert any("drift" in r for r in decision.reasons) and any("degraded" in r for r in decision.reasons)
    assert reg.audit("m")[-2]["action"] == "retrain_requested"
    v2 = reg.register(runs["good"], "m")
    with pytest.raises(RegistryError, match="needs a person's approval.*forge models approve m 2"):
        reg.promote("m", v2.version)
    reg.approve("m", v2.version, reason="gate passed, looked at the report")
    assert reg.promote("m", v2.version).stage == "production"
