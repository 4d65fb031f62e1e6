"""Optimizers (param groups, kernels, LAMB against a hand computation) and schedulers."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
import torch
from torch import nn

from forge.core._checkpoint import flatten_state, unflatten_state
from forge.core.config import structure
from forge.core.errors import ConfigError
from forge.core.optim import (
    ForgeScheduler,
    Lamb,
    OneCycleScheduler,
    PlateauScheduler,
    StepScheduler,
    TorchSchedulerAdapter,
    WarmupCosineScheduler,
    WarmupScheduler,
    build_adamw,
    build_lamb,
    build_one_cycle,
    build_plateau,
    build_sgd,
    build_step,
    build_warmup,
    build_warmup_cosine,
    parameter_groups,
)
from forge.core.optim._catalog import register_optimizers, register_schedulers
from forge.core.optim._configs import (
    AdamWConfig,
    LambConfig,
    OneCycleConfig,
    PlateauConfig,
    SGDConfig,
    StepConfig,
    WarmupConfig,
    WarmupCosineConfig,
)


def small_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.ReLU(), nn.Linear(4, 2, bias=False))


def train_steps(model: nn.Module, opt: torch.optim.Optimizer, sched: ForgeScheduler | None, n: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        opt.zero_grad()
        model(torch.randn(8, 3, generator=g)).pow(2).mean().backward()
        opt.step()
        if sched is not None:
            sched.step()


def test_parameter_groups_exempt_biases_and_norm_weights() -> None:
    model = small_model()
    first = model.get_submodule("0")
    assert isinstance(first, nn.Linear)
    first.weight.requires_grad_(False)
    groups = parameter_groups(model, 0.1)
    by_name = {g["group"]: g for g in groups}
    assert [p.shape for p in by_name["decay"]["params"]] == [torch.Size([2, 4])]
    assert by_name["decay"]["weight_decay"] == 0.1
    # Linear bias, LayerNorm weight and LayerNorm bias.
    assert len(by_name["no_decay"]["params"]) == 3 and by_name["no_decay"]["weight_decay"] == 0.0
    single = parameter_groups(model, 0.1, no_decay_bias_and_norm=False)
    assert len(single) == 1 and len(single[0]["params"]) == 4


def test_parameter_groups_count_tied_weights_once_and_refuse_frozen_models() -> None:
    emb = nn.Embedding(5, 3)
    head = nn.Linear(3, 5, bias=False)
    head.weight = emb.weight
    groups = parameter_groups(nn.ModuleList([emb, head]), 0.01)
    assert sum(len(g["params"]) for g in groups) == 1
    frozen = nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(ConfigError, match="no trainable parameters"):
        parameter_groups(frozen, 0.01)


def test_adamw_factory_picks_kernels() -> None:
    model = small_model()
    opt = build_adamw(AdamWConfig(lr=0.01))(model)
    assert isinstance(opt, torch.optim.AdamW)
    # Parameters on CPU: foreach (fused is reserved for CUDA under "auto").
    assert opt.defaults["foreach"] is True and not opt.defaults["fused"]
    loop = build_adamw(AdamWConfig(lr=0.01, implementation="for_loop"))(small_model())
    assert loop.defaults["foreach"] is False
    fused = build_adamw(AdamWConfig(lr=0.01, implementation="fused"))(small_model())
    assert fused.defaults["fused"] is True
    a, b = small_model(), small_model()
    train_steps(a, build_adamw(AdamWConfig(lr=0.01))(a), None, 3, 1)
    train_steps(b, build_adamw(AdamWConfig(lr=0.01, implementation="for_loop"))(b), None, 3, 1)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)


def test_sgd_factory_nesterov_and_validation() -> None:
    opt = build_sgd(SGDConfig(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4))(small_model())
    assert isinstance(opt, torch.optim.SGD)
    assert all(g["nesterov"] for g in opt.param_groups)
    assert {g["weight_decay"] for g in opt.param_groups} == {1e-4, 0.0}
    with pytest.raises(ConfigError, match="nesterov"):
        structure({"nesterov": True, "momentum": 0.0}, SGDConfig)


def lamb_reference(
    w: np.ndarray, grads: list[np.ndarray], lr: float, b1: float, b2: float, eps: float, wd: float
) -> np.ndarray:
    """LAMB written out in float64 numpy, straight from the paper's update rule."""
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        u = m_hat / (np.sqrt(v_hat) + eps) + wd * w
        trust = np.linalg.norm(w) / np.linalg.norm(u)
        w = w - lr * trust * u
    return w


def test_lamb_matches_hand_computation() -> None:
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(3, 4))
    grads = [rng.normal(size=(3, 4)) for _ in range(3)]
    param = nn.Parameter(torch.tensor(w0))
    opt = Lamb([param], lr=0.05, betas=(0.9, 0.99), eps=1e-6, weight_decay=0.1)
    for g in grads:
        param.grad = torch.tensor(g)
        opt.step()
    expected = lamb_reference(w0, grads, 0.05, 0.9, 0.99, 1e-6, 0.1)
    np.testing.assert_allclose(param.detach().numpy(), expected, rtol=1e-10, atol=1e-12)
    # The trust ratio makes the step size proportional to ||w||: a 10x larger layer moves 10x more.
    small = nn.Parameter(torch.tensor(w0))
    big = nn.Parameter(torch.tensor(10 * w0))
    opt2 = Lamb([small, big], lr=0.05, weight_decay=0.0)
    small.grad = big.grad = torch.tensor(grads[0])
    opt2.step()
    step_small = torch.linalg.vector_norm(small.detach() - torch.tensor(w0))
    step_big = torch.linalg.vector_norm(big.detach() - torch.tensor(10 * w0))
    assert float(step_big / step_small) == pytest.approx(10.0, rel=1e-9)


def test_lamb_trust_clip_and_zero_weights() -> None:
    p = nn.Parameter(torch.zeros(4))
    opt = build_lamb(LambConfig(lr=0.1, weight_decay=0.0, no_decay_bias_and_norm=False))([p])
    p.grad = torch.ones(4)
    opt.step()
    # ||w|| = 0 gives trust 1, so the first step is the plain Adam step of size lr per element.
    torch.testing.assert_close(p.detach(), torch.full((4,), -0.1), rtol=1e-5, atol=1e-6)
    q = nn.Parameter(torch.full((4,), 100.0))
    clipped = Lamb([q], lr=0.1, weight_decay=0.0, trust_clip=1.0)
    q.grad = torch.ones(4)
    clipped.step()
    torch.testing.assert_close(q.detach(), torch.full((4,), 100.0 - 0.1), rtol=1e-6, atol=1e-5)


def lrs_of(sched: ForgeScheduler, opt: torch.optim.Optimizer, n: int) -> list[float]:
    out = []
    for _ in range(n):
        out.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return out


def sgd(lr: float = 1.0, momentum: float = 0.0) -> torch.optim.Optimizer:
    return torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr, momentum=momentum)


def test_warmup_cosine_values() -> None:
    opt = sgd()
    sched = WarmupCosineScheduler(opt, 14, warmup_steps=4, min_lr=0.1)
    lrs = lrs_of(sched, opt, 16)
    assert lrs[:4] == pytest.approx([0.0, 0.25, 0.5, 0.75])
    assert lrs[4] == pytest.approx(1.0)
    # Halfway through the 10 cosine steps the rate is midway between peak and floor.
    assert lrs[9] == pytest.approx(0.1 + 0.9 * 0.5)
    assert lrs[14:] == pytest.approx([0.1, 0.1])


def test_warmup_cosine_restarts_follow_sgdr() -> None:
    opt = sgd()
    sched = WarmupCosineScheduler(opt, 100, cycle_steps=2, cycle_mult=2.0, cycle_decay=0.5)
    lrs = lrs_of(sched, opt, 15)
    # Cycles of 2, 4, 8 steps start at steps 0, 2, 6, 14 with peaks 1, 0.5, 0.25, 0.125.
    assert [lrs[i] for i in (0, 2, 6, 14)] == pytest.approx([1.0, 0.5, 0.25, 0.125])
    assert lrs[1] == pytest.approx(0.5)
    assert lrs[4] == pytest.approx(0.25)
    reference = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(sgd(), T_0=3, T_mult=1)
    ref_lrs = []
    for _ in range(9):
        ref_lrs.append(reference.get_last_lr()[0])
        reference.optimizer.step()
        reference.step()
    opt = sgd()
    assert lrs_of(WarmupCosineScheduler(opt, 100, cycle_steps=3), opt, 9) == pytest.approx(ref_lrs)


def test_one_cycle_matches_torch() -> None:
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.5, momentum=0.9)
    ours = OneCycleScheduler(opt, 20, max_lr=0.5)
    ref_opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.5, momentum=0.9)
    ref = torch.optim.lr_scheduler.OneCycleLR(ref_opt, max_lr=0.5, total_steps=20)
    for _ in range(20):
        assert ours.get_last_lr()[0] == pytest.approx(ref.get_last_lr()[0])
        assert opt.param_groups[0]["momentum"] == pytest.approx(ref_opt.param_groups[0]["momentum"])
        opt.step()
        ref_opt.step()
        ours.step()
        if ref.last_epoch < 19:
            ref.step()
    adam = torch.optim.AdamW([nn.Parameter(torch.zeros(1))], lr=0.1)
    OneCycleScheduler(adam, 10)
    assert adam.param_groups[0]["betas"][0] == pytest.approx(0.95)


def test_step_scheduler_matches_torch_and_milestones() -> None:
    opt = sgd()
    ours = lrs_of(StepScheduler(opt, step_size=3, gamma=0.5), opt, 10)
    ref_opt = sgd()
    ref = torch.optim.lr_scheduler.StepLR(ref_opt, step_size=3, gamma=0.5)
    assert ours == pytest.approx(lrs_of(TorchSchedulerAdapter(ref), ref_opt, 10))
    opt = sgd()
    assert lrs_of(StepScheduler(opt, step_size=1, gamma=0.1, milestones=(2, 4)), opt, 5) == pytest.approx(
        [1.0, 1.0, 0.1, 0.1, 0.01]
    )


def test_plateau_matches_torch_and_needs_its_metric() -> None:
    values = [1.0, 0.9, 0.95, 0.94, 0.96, 0.97, 0.5, 0.6, 0.7, 0.8]
    opt = sgd()
    ours = PlateauScheduler(opt, monitor="val/loss", patience=1, factor=0.5, cooldown=1)
    ref_opt = sgd()
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(ref_opt, patience=1, factor=0.5, cooldown=1)
    for value in values:
        for _ in range(3):  # optimizer steps without metrics change nothing
            ours.step()
        ours.step({"val/loss": value})
        ref.step(value)
        assert ours.get_last_lr() == pytest.approx(ref.get_last_lr())
    assert ours.get_last_lr()[0] < 1.0
    assert ours.requires_metrics
    with pytest.raises(ConfigError, match="val/loss"):
        ours.step({"val/acc": 0.3})


def test_warmup_wraps_any_scheduler() -> None:
    opt = sgd()
    inner = StepScheduler(opt, step_size=2, gamma=0.1)
    sched = WarmupScheduler(inner, warmup_steps=4, start_factor=0.0)
    assert lrs_of(sched, opt, 8) == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 0.1, 0.1])
    opt = sgd()
    plateau = WarmupScheduler(PlateauScheduler(opt, patience=0, factor=0.5), warmup_steps=2)
    assert plateau.requires_metrics
    plateau.step({"val/loss": 1.0})  # during warmup: ignored
    plateau.step()
    assert plateau.get_last_lr() == [1.0]
    plateau.step({"val/loss": 1.0})
    plateau.step({"val/loss": 1.0})
    assert plateau.get_last_lr() == [0.5]


def json_round_trip(state: dict[str, Any]) -> Any:
    tensors, skeleton = flatten_state(state)
    return unflatten_state({k: v.clone() for k, v in tensors.items()}, json.loads(json.dumps(skeleton)))


@pytest.mark.parametrize(
    "make",
    [
        lambda opt: WarmupCosineScheduler(opt, 20, warmup_steps=3, cycle_steps=4, cycle_mult=2.0),
        lambda opt: OneCycleScheduler(opt, 20),
        lambda opt: WarmupScheduler(StepScheduler(opt, step_size=2, gamma=0.7), warmup_steps=3),
        lambda opt: WarmupScheduler(PlateauScheduler(opt, patience=0), warmup_steps=1),
    ],
    ids=["warmup_cosine", "one_cycle", "warmup_step", "warmup_plateau"],
)
def test_state_dict_round_trip_resumes_exactly(make: Any) -> None:
    def fresh() -> tuple[nn.Module, torch.optim.Optimizer, ForgeScheduler]:
        model = small_model()
        opt = build_adamw(AdamWConfig(lr=0.05))(model)
        return model, opt, make(opt)

    ref_model, ref_opt, ref_sched = fresh()
    train_steps(ref_model, ref_opt, ref_sched, 6, seed=1)
    ref_sched.step({"val/loss": 2.0})
    saved = json_round_trip(
        {"optimizer": ref_opt.state_dict(), "scheduler": ref_sched.state_dict(), "model": ref_model.state_dict()}
    )
    train_steps(ref_model, ref_opt, ref_sched, 5, seed=2)

    model, opt, sched = fresh()
    model.load_state_dict(saved["model"])
    opt.load_state_dict(saved["optimizer"])
    sched.load_state_dict(saved["scheduler"])
    train_steps(model, opt, sched, 5, seed=2)
    assert sched.get_last_lr() == ref_sched.get_last_lr()
    for a, b in zip(model.parameters(), ref_model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_load_state_dict_refuses_another_scheduler() -> None:
    opt = sgd()
    state = StepScheduler(opt, step_size=2, gamma=0.5).state_dict()
    with pytest.raises(ConfigError, match="StepScheduler"):
        PlateauScheduler(opt).load_state_dict(state)


def test_factories_from_config() -> None:
    opt = build_adamw(AdamWConfig())(small_model())
    sched = build_warmup_cosine(structure({"warmup_steps": 2, "min_lr": 1e-5}, WarmupCosineConfig))(opt, 10)
    assert isinstance(sched, WarmupCosineScheduler)
    assert sched.get_last_lr() == [0.0, 0.0]
    assert structure({"max_lr": 0.1}, OneCycleConfig).max_lr == 0.1
    with pytest.raises(ConfigError, match="factor"):
        structure({"factor": 1.5}, PlateauConfig)
    with pytest.raises(ConfigError, match="step_size"):
        structure({"step_size": 0}, StepConfig)


def collect(register_fn: Any) -> dict[str, dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}

    def register(name: str, **kwargs: Any) -> None:
        seen[name] = kwargs

    register_fn(register)
    return seen


def test_catalog_names_resolve_to_real_builders_and_configs() -> None:
    import importlib

    optimizers = collect(register_optimizers)
    schedulers = collect(register_schedulers)
    assert set(optimizers) == {"adamw", "sgd", "lamb"}
    assert set(schedulers) == {"warmup_cosine", "one_cycle", "step", "plateau", "warmup"}
    for spec in [*optimizers.values(), *schedulers.values()]:
        for ref in (spec["builder"], spec["config"]):
            module, _, attr = ref.partition(":")
            assert callable(getattr(importlib.import_module(module), attr))


def test_catalog_and_configs_do_not_import_torch() -> None:
    code = (
        "import sys; import forge.core.optim._catalog, forge.core.optim._configs, forge.core.optim; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_warmup_cosine_value_is_a_closed_form() -> None:
    opt = sgd(lr=2.0)
    sched = WarmupCosineScheduler(opt, 11, warmup_steps=1, min_lr=0.0)
    lrs = lrs_of(sched, opt, 11)
    for step in range(1, 11):
        assert lrs[step] == pytest.approx(1.0 * (1 + math.cos(math.pi * (step - 1) / 10)))


def test_build_warmup_builds_the_wrapped_scheduler_through_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    from forge.core._registry import registry

    calls: list[tuple[str, str, dict[str, Any]]] = []

    def fake_build(kind: str, name: str, /, **overrides: Any) -> Any:
        calls.append((kind, name, overrides))
        return build_step(structure(overrides, StepConfig))

    monkeypatch.setattr(registry, "build", fake_build)
    config = structure(
        {"scheduler": "core.step", "warmup_steps": 2, "options": {"step_size": 1, "gamma": 0.5}}, WarmupConfig
    )
    opt = sgd()
    sched = build_warmup(config)(opt, 10)
    assert calls == [("scheduler", "core.step", {"step_size": 1, "gamma": 0.5})]
    assert lrs_of(sched, opt, 5) == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.25])


def test_optimizer_config_fields_reach_the_optimizer() -> None:
    configs = [
        (AdamWConfig(lr=0.02, betas=(0.8, 0.9), eps=1e-7, weight_decay=0.2, amsgrad=True), torch.optim.AdamW),
        (SGDConfig(lr=0.3, momentum=0.5, dampening=0.1, weight_decay=0.2), torch.optim.SGD),
        (
            LambConfig(lr=0.02, betas=(0.8, 0.9), eps=1e-7, weight_decay=0.2, bias_correction=False, trust_clip=2.0),
            Lamb,
        ),
    ]
    for config, optimizer_class in configs:
        opt = {AdamWConfig: build_adamw, SGDConfig: build_sgd, LambConfig: build_lamb}[type(config)](config)(
            small_model()
        )
        assert isinstance(opt, optimizer_class)
        torch_fields = set(attrs.fields_dict(type(config))) - {"no_decay_bias_and_norm", "implementation"}
        assert {k: opt.defaults[k] for k in torch_fields} == {k: getattr(config, k) for k in torch_fields}


SCHEDULE_FIXTURE = Path(__file__).parent / "fixtures" / "schedules.json"
SCHEDULE_CASES: dict[str, dict[str, Any]] = json.loads(SCHEDULE_FIXTURE.read_text())["cases"]
SCHEDULE_BUILDERS: dict[str, tuple[Any, type]] = {
    "warmup_cosine": (build_warmup_cosine, WarmupCosineConfig),
    "one_cycle": (build_one_cycle, OneCycleConfig),
    "step": (build_step, StepConfig),
    "plateau": (build_plateau, PlateauConfig),
    "warmup": (build_warmup, WarmupConfig),
}


def build_schedule(case: dict[str, Any]) -> tuple[torch.optim.Optimizer, ForgeScheduler]:
    """Two param groups (lr 1 and 0.5, or 1e-3 and 5e-4 for AdamW) under the case's registered scheduler."""
    a, b = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1))
    optimizer: torch.optim.Optimizer
    if case.get("optimizer") == "adamw":
        optimizer = torch.optim.AdamW([{"params": [a], "lr": 1e-3}, {"params": [b], "lr": 5e-4}])
    else:
        optimizer = torch.optim.SGD([{"params": [a], "lr": 1.0}, {"params": [b], "lr": 0.5}], momentum=0.9)
    builder, config_class = SCHEDULE_BUILDERS[case["scheduler"]]
    return optimizer, builder(structure(case["options"], config_class))(optimizer, case["total"])


def drive_schedule(
    case: dict[str, Any], optimizer: torch.optim.Optimizer, sched: ForgeScheduler, start: int, stop: int
) -> tuple[list[list[float]], list[list[float]]]:
    """Each group's (lr, momentum or beta1) used by optimizer steps ``start`` to ``stop``."""
    metrics = {step: m for step, m in case.get("metrics", [])}
    lrs, momenta = [], []
    for step in range(start, stop):
        lrs.append([float(g["lr"]) for g in optimizer.param_groups])
        momenta.append([float(g["betas"][0] if "betas" in g else g["momentum"]) for g in optimizer.param_groups])
        optimizer.step()
        sched.step(metrics.get(step))
    return lrs, momenta


def assert_same_schedule(got: list[list[float]], want: list[list[float]]) -> None:
    assert len(got) == len(want)
    for step, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == pytest.approx(w, rel=1e-9, abs=1e-15), f"step {step}"


@pytest.mark.parametrize("name", sorted(SCHEDULE_CASES))
def test_schedules_match_forge_0_1_and_resume_exactly(name: str) -> None:
    case = SCHEDULE_CASES[name]
    k, n = case["resume_at"], case["steps"]
    optimizer, sched = build_schedule(case)
    lrs, momenta = drive_schedule(case, optimizer, sched, 0, n)
    assert_same_schedule(lrs, case["lr"])
    assert_same_schedule(momenta, case["momentum"])

    # Saved at step k (through the checkpoint's JSON skeleton), loaded into a fresh one: same values.
    optimizer, sched = build_schedule(case)
    drive_schedule(case, optimizer, sched, 0, k)
    saved = json_round_trip({"optimizer": optimizer.state_dict(), "scheduler": sched.state_dict()})
    # A state saved by forge-core 0.1's hand-written schedulers (recorded at step k) resumes the same.
    old = {group: unflatten_state({}, skeleton) for group, skeleton in case["state"].items()}
    for state in (saved, old):
        optimizer, sched = build_schedule(case)
        optimizer.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        lrs, momenta = drive_schedule(case, optimizer, sched, k, n)
        assert_same_schedule(lrs, case["lr"][k:])
        assert_same_schedule(momenta, case["momentum"][k:])


def test_registered_schedules_run_on_torch_schedulers() -> None:
    expected = {
        "one_cycle/defaults": torch.optim.lr_scheduler.OneCycleLR,
        "step/step_size": torch.optim.lr_scheduler.StepLR,
        "step/milestones": torch.optim.lr_scheduler.MultiStepLR,
        "plateau/min_rel": torch.optim.lr_scheduler.ReduceLROnPlateau,
        "warmup_cosine/restarts": torch.optim.lr_scheduler.LRScheduler,
    }
    for name, torch_class in expected.items():
        _, sched = build_schedule(SCHEDULE_CASES[name])
        assert isinstance(sched, TorchSchedulerAdapter) and isinstance(sched.scheduler, torch_class), name
