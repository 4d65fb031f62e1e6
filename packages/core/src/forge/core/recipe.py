"""Recipes: one file (TOML, YAML or JSON) that says what to train, on what, and how.

Schema (TOML shown; every section but ``scheduler`` and ``metrics`` is required)::

    name = "core.mlp"                 # optional label (run directory names use it)
    description = "..."               # optional
    seed = 0                          # seeds Python/NumPy/torch and loaders (trainer.seed unless set there)
    mode = "research"                 # or "industrial" (trainer.mode unless set there)
    metrics = ["core.accuracy"]       # names, or tables: [{ name = "core.f1", average = "macro" }]

    [model]                           # name + the model's config fields
    name = "core.mlp"
    hidden = [64, 64]

    [data]                            # name + the dataset's config fields + loader fields
    name = "core.synthetic_classification"
    num_samples = 2048
    batch_size = 64                   # loader fields: those of forge.core.data.LoaderConfig
    num_workers = 0

    [loss]                            # name + params
    name = "core.cross_entropy"

    [optimizer]                       # name + params; builds a factory model -> Optimizer
    name = "core.adamw"
    lr = 3e-3

    [scheduler]                       # optional; name + params; factory (optimizer, total_steps)
    name = "core.warmup_cosine"

    [trainer]                         # TrainerConfig fields (forge info trainer core.default)
    max_epochs = 5

Every component is built through :data:`forge.core.registry.registry`; its parameters are checked
against its config class before anything is built, and errors name the key path
(``model.num_classes: expected int, got str 'ten'``). A ``num_classes`` left out of a model or
metric whose config has that field is filled in from the dataset's info.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from forge.core.config import apply_overrides, load_file, structure, unstructure
from forge.core.errors import ConfigError, ForgeError
from forge.core.trainer.config import TrainerConfig

if TYPE_CHECKING:
    from torch import nn

    from forge.core.run import RunDir
    from forge.core.trainer.trainer import FitResult

__all__ = [
    "ComponentRef",
    "Recipe",
    "RunResult",
    "build_loaders",
    "evaluate_run",
    "load_recipe",
    "resolve_recipe_path",
    "resume_run",
    "run_recipe",
    "wilson_interval",
]

_TOP_KEYS = (
    "name",
    "description",
    "seed",
    "mode",
    "model",
    "data",
    "loss",
    "optimizer",
    "scheduler",
    "batch_transform",
    "metrics",
    "trainer",
)
_KIND_OF = {"model": "model", "data": "dataset", "loss": "loss", "optimizer": "optimizer", "scheduler": "scheduler"}


@attrs.frozen
class ComponentRef:
    """A registered component and its parameters, as a recipe section names it.

    Attributes:
        kind: Registry kind ("model", "dataset", "loss", ...).
        name: Qualified registry name ("core.mlp").
        params: Config field values (the registry fills in the rest).
        where: The section's key path in the recipe ("model", "metrics[0]").
    """

    kind: str
    name: str
    params: Mapping[str, Any]
    where: str

    def config(self) -> Any:
        """The component's full config object (registered defaults + params), or None when it has no config class.

        Raises:
            ConfigError: naming ``where.<field>`` for an unknown key or a wrong type.
            RegistryError: the component is not registered.
        """
        from forge.core.registry import registry

        spec = registry.get(self.kind, self.name)
        if spec.config is None:
            return None
        return registry.make_config(self.kind, self.name, self.params, where=self.where)

    def resolved(self) -> dict[str, Any]:
        """``{"name": ..., **every config field}`` (params as given when there is no config class)."""
        cfg = self.config()
        fields = unstructure(cfg) if cfg is not None else dict(self.params)
        return {"name": self.name, **fields}

    def build(self) -> Any:
        """Build the component through the registry."""
        from forge.core.registry import registry

        return registry.build(self.kind, self.name, **dict(self.params))


def _section(data: Mapping[str, Any], key: str, kind: str, *, required: bool = True) -> ComponentRef | None:
    raw = data.get(key)
    if raw is None:
        if required:
            raise ConfigError(f'{key}: required section missing (a table with at least name = "...")')
        return None
    return _ref(raw, kind, key)


def _ref(raw: Any, kind: str, where: str) -> ComponentRef:
    if isinstance(raw, str):
        return ComponentRef(kind, raw.replace("/", "."), {}, where)
    if not isinstance(raw, Mapping):
        raise ConfigError(f'{where}: expected a table with name = "...", got {type(raw).__name__}')
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f'{where}.name: required, a registered {kind} name such as "core.mlp"')
    params = {k: v for k, v in raw.items() if k not in ("name", "params")}
    nested = raw.get("params")
    if nested is not None:
        if not isinstance(nested, Mapping):
            raise ConfigError(f"{where}.params: expected a table, got {type(nested).__name__}")
        params.update(nested)
    return ComponentRef(kind, name.replace("/", "."), params, where)


def _loader_fields() -> tuple[str, ...]:
    from forge.core.data.configs import LoaderConfig

    return tuple(a.name for a in attrs.fields(LoaderConfig))


@attrs.frozen
class Recipe:
    """A parsed, validated recipe.

    Attributes:
        name: Label of the recipe.
        description: Free text.
        model, data, loss, optimizer: The component sections.
        scheduler: The scheduler section, or None.
        batch_transform: A transform applied to whole training batches (mixup, cutmix), or None.
        metrics: Metric sections.
        loader: Loader settings (fields of ``LoaderConfig``) taken from ``[data]``.
        trainer: The trainer config (``seed`` and ``mode`` folded in).
        seed: The run's seed.
        source: Where the recipe came from (for messages).
    """

    name: str
    description: str
    model: ComponentRef
    data: ComponentRef
    loss: ComponentRef
    optimizer: ComponentRef
    scheduler: ComponentRef | None
    batch_transform: ComponentRef | None
    metrics: tuple[ComponentRef, ...]
    loader: Mapping[str, Any]
    trainer: TrainerConfig
    seed: int
    source: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<recipe>") -> Recipe:
        """Parse and check the structure of a recipe (component params are checked by :meth:`validate`).

        Args:
            data: The recipe as plain data.
            source: File or name, used in messages.

        Raises:
            ConfigError: unknown top-level keys, missing sections, bad trainer fields (key path named).
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: a recipe is a table, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_TOP_KEYS))
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)} (known: {', '.join(_TOP_KEYS)})")
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"{source}: seed: expected int, got {type(seed).__name__} {seed!r}")
        model = _section(data, "model", "model")
        data_ref = _section(data, "data", "dataset")
        loss = _section(data, "loss", "loss")
        optimizer = _section(data, "optimizer", "optimizer")
        assert model is not None and data_ref is not None and loss is not None and optimizer is not None
        scheduler = _section(data, "scheduler", "scheduler", required=False)
        batch_transform = _section(data, "batch_transform", "transform", required=False)
        raw_metrics = data.get("metrics", [])
        if isinstance(raw_metrics, (str, Mapping)):
            raw_metrics = [raw_metrics]
        if not isinstance(raw_metrics, Sequence):
            raise ConfigError(f"{source}: metrics: expected a list of names or tables")
        metrics = tuple(_ref(m, "metric", f"metrics[{i}]") for i, m in enumerate(raw_metrics))
        loader_keys = set(_loader_fields())
        loader = {k: v for k, v in data_ref.params.items() if k in loader_keys}
        data_ref = attrs.evolve(data_ref, params={k: v for k, v in data_ref.params.items() if k not in loader_keys})
        trainer_raw = dict(data.get("trainer") or {})
        if not isinstance(data.get("trainer") or {}, Mapping):
            raise ConfigError(f"{source}: trainer: expected a table")
        trainer_raw.setdefault("seed", seed)
        if "mode" in data:
            trainer_raw.setdefault("mode", data["mode"])
        trainer = structure(trainer_raw, TrainerConfig, where="trainer")
        return cls(
            name=str(data.get("name") or Path(source).stem),
            description=str(data.get("description", "")),
            model=model,
            data=data_ref,
            loss=loss,
            optimizer=optimizer,
            scheduler=scheduler,
            batch_transform=batch_transform,
            metrics=metrics,
            loader=loader,
            trainer=trainer,
            seed=seed,
            source=source,
        )

    def loader_config(self) -> Any:
        """The ``LoaderConfig`` of the ``[data]`` loader fields.

        Raises:
            ConfigError: naming ``data.<field>``.
        """
        from forge.core.data.configs import LoaderConfig

        return structure(dict(self.loader), LoaderConfig, where="data")

    def components(self) -> list[ComponentRef]:
        """Every component section, in build order."""
        out = [self.data, self.model, self.loss, self.optimizer]
        out += [ref for ref in (self.scheduler, self.batch_transform) if ref is not None]
        return [*out, *self.metrics]

    def validate(self) -> None:
        """Check every component's params against its config class (nothing is built).

        Raises:
            ConfigError: every bad key path found, joined in one message.
            RegistryError: a component is not registered.
        """
        errors = []
        for ref in self.components():
            try:
                ref.config()
            except ConfigError as exc:
                errors.append(str(exc))
        try:
            self.loader_config()
        except ConfigError as exc:
            errors.append(str(exc))
        if errors:
            raise ConfigError(f"{self.source}: " + "; ".join(errors))

    def with_num_classes(self, num_classes: int | None) -> Recipe:
        """Fill ``num_classes`` into the model and metric params that have such a field but leave it out."""
        if num_classes is None:
            return self

        def fill(ref: ComponentRef) -> ComponentRef:
            from forge.core.registry import registry

            if "num_classes" in ref.params:
                return ref
            spec = registry.get(ref.kind, ref.name)
            cls = registry.config_class(spec)
            has = cls is not None and any(a.name == "num_classes" for a in attrs.fields(cls))
            if not has or "num_classes" in spec.defaults:
                return ref
            return attrs.evolve(ref, params={**ref.params, "num_classes": num_classes})

        return attrs.evolve(
            self,
            model=fill(self.model),
            batch_transform=fill(self.batch_transform) if self.batch_transform is not None else None,
            metrics=tuple(fill(m) for m in self.metrics),
        )

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved recipe (every default filled in), as written to ``config.json``."""
        data = self.data.resolved()
        data.update(unstructure(self.loader_config()))
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "mode": self.trainer.mode,
            "model": self.model.resolved(),
            "data": data,
            "loss": self.loss.resolved(),
            "optimizer": self.optimizer.resolved(),
            "metrics": [m.resolved() for m in self.metrics],
            "trainer": unstructure(self.trainer),
        }
        if self.scheduler is not None:
            out["scheduler"] = self.scheduler.resolved()
        if self.batch_transform is not None:
            out["batch_transform"] = self.batch_transform.resolved()
        return out

    def build_model(self) -> nn.Module:
        """Build the model."""
        model: nn.Module = self.model.build()
        return model


def resolve_recipe_path(path_or_name: str | os.PathLike[str]) -> Path:
    """Find a recipe: an existing file, or a registered recipe name ("vision/digits" == "vision.digits").

    Raises:
        ConfigError: neither a file nor a registered recipe.
    """
    from forge.core.errors import RegistryError
    from forge.core.registry import registry

    path = Path(path_or_name)
    if path.is_file():
        return path
    name = str(path_or_name).replace("/", ".")
    try:
        found: Path = registry.build("recipe", name)
    except RegistryError as exc:
        raise ConfigError(f"recipe {str(path_or_name)!r}: not a file and not a registered recipe ({exc})") from None
    return found


def load_recipe(path_or_name: str | os.PathLike[str], overrides: Iterable[str] = ()) -> Recipe:
    """Read a recipe file or registered recipe, apply ``a.b=value`` overrides and parse it.

    Raises:
        ConfigError: the file, an override or the structure is invalid (key path named).
    """
    path = resolve_recipe_path(path_or_name)
    data = apply_overrides(load_file(path), list(overrides))
    return Recipe.from_dict(data, source=str(path))


@attrs.frozen
class RunResult:
    """What :func:`run_recipe` returns.

    Attributes:
        run_dir: The run directory.
        fit: The trainer's result.
        metrics: Final metrics (validation and, when there is a test split, test).
    """

    run_dir: Path
    fit: FitResult
    metrics: dict[str, float]


def run_recipe(
    path_or_name: str | os.PathLike[str],
    overrides: Iterable[str] = (),
    *,
    run_dir: str | os.PathLike[str] | None = None,
    runs_root: str | os.PathLike[str] = "runs",
) -> RunResult:
    """Train what a recipe describes and write a run directory.

    Args:
        path_or_name: A recipe file or a registered recipe name.
        overrides: ``"trainer.max_epochs=2"``-style overrides.
        run_dir: The run directory (default: a fresh one under ``runs_root``).
        runs_root: Parent of generated run directories.

    Returns:
        A :class:`RunResult`.

    Raises:
        ConfigError: the recipe is invalid (key path named).
        ForgeError: building or training failed.
    """
    from forge.core.run import RunDir

    recipe = load_recipe(path_or_name, overrides)
    run = RunDir.create(run_dir, root=runs_root, name=recipe.name)
    return _execute(recipe, run, resume=False)


def resume_run(run_dir: str | os.PathLike[str], overrides: Iterable[str] = ()) -> RunResult:
    """Continue a run from its newest good checkpoint, with its saved resolved recipe.

    Args:
        run_dir: The run directory to continue.
        overrides: Overrides applied to the saved recipe (e.g. ``trainer.max_epochs=20`` to extend).

    Raises:
        CheckpointError: the run has no loadable checkpoint.
    """
    from forge.core.run import RunDir

    run = RunDir(run_dir)
    data = apply_overrides(run.read_config(), list(overrides))
    recipe = Recipe.from_dict(data, source=str(run.path / "config.json"))
    return _execute(recipe, run, resume=True)


def build_loaders(recipe: Recipe, splits: Any) -> tuple[Any, Any, Any]:
    """Build train/val/test loaders for ``splits`` with the recipe's loader settings and seed."""
    from forge.core.data.loader import build_loader

    cfg = recipe.loader_config()
    train = build_loader(splits.train, cfg, seed=recipe.seed)
    eval_cfg = attrs.evolve(cfg, shuffle=False, drop_last=False)
    val = build_loader(splits.val, eval_cfg, seed=recipe.seed) if splits.val is not None else None
    test = build_loader(splits.test, eval_cfg, seed=recipe.seed) if splits.test is not None else None
    return train, val, test


def _execute(recipe: Recipe, run: RunDir, *, resume: bool) -> RunResult:
    from forge.core.reproducibility import seed_everything
    from forge.core.trainer.trainer import Trainer

    # The data section is checked first; the rest once num_classes is known from the dataset.
    recipe.data.config()
    recipe.loader_config()
    seed_everything(recipe.seed)
    splits = recipe.data.build()
    if splits.train is None:
        raise ForgeError(f"{recipe.source}: data: dataset {recipe.data.name} has no train split")
    recipe = recipe.with_num_classes(splits.info.num_classes)
    recipe.validate()
    resolved = recipe.to_dict()
    if not resume:
        run.write_config(resolved)
    env = run.write_environment()
    run.write_lineage(dataset=splits.lineage(), config=resolved, environment=env)
    seed_everything(recipe.seed)
    model = recipe.build_model()
    loss = recipe.loss.build()
    metrics = {m.name.rsplit(".", 1)[-1]: m.build() for m in recipe.metrics}
    optimizer = recipe.optimizer.build()
    scheduler = recipe.scheduler.build() if recipe.scheduler is not None else None
    train, val, test = build_loaders(recipe, splits)
    if recipe.batch_transform is not None:
        from forge.core.data.loader import BatchTransformLoader

        train = BatchTransformLoader(train, recipe.batch_transform.build(), seed=recipe.seed)
    trainer = Trainer(recipe.trainer, run_dir=run)
    try:
        fit = trainer.fit(
            model,
            train,
            loss_fn=loss,
            optimizer=optimizer,
            scheduler=scheduler,
            val_loader=val,
            metrics=metrics,
            resume_from=run.path if resume else None,
        )
        final = dict(fit.metrics)
        if test is not None:
            final.update({k.replace("val/", "test/", 1): v for k, v in trainer.validate(test).items()})
        run.write_metrics({"step": fit.global_step, "epoch": fit.epoch, "stop_reason": fit.stop_reason, **final})
    finally:
        run.close()
    return RunResult(run_dir=run.path, fit=fit, metrics=final)


def wilson_interval(correct: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (sound near 0 and 1, unlike the normal approximation).

    Args:
        correct: Successes.
        total: Trials (> 0).
        confidence: Two-sided level in (0, 1).

    Returns:
        ``(low, high)``.

    Raises:
        ConfigError: ``total`` <= 0 or ``confidence`` outside (0, 1).
    """
    from statistics import NormalDist

    if total <= 0 or not 0.0 < confidence < 1.0:
        raise ConfigError(f"wilson_interval: need total > 0 and 0 < confidence < 1 (got {total}, {confidence})")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = correct / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * ((p * (1 - p) / total + z * z / (4 * total * total)) ** 0.5) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def evaluate_run(
    run_dir: str | os.PathLike[str],
    *,
    which: Literal["best", "last"] = "best",
    split: Literal["test", "val"] = "test",
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Evaluate a run's checkpoint on its dataset's test (or validation) split.

    Args:
        run_dir: The run directory.
        which: "best" or "last" checkpoint.
        split: "test" (falls back to "val" when absent) or "val".
        confidence: Level of the accuracy's Wilson interval.

    Returns:
        ``{"split", "which", "samples", "loss", "accuracy", "accuracy_ci": [low, high], "confidence"}``.

    Raises:
        CheckpointError: no loadable checkpoint.
        ForgeError: the dataset has neither split.
    """
    import torch

    from forge.core.run import RunDir, load_model

    run = RunDir(run_dir)
    recipe = Recipe.from_dict(run.read_config(), source=str(run.path / "config.json"))
    model = load_model(run.path, which)
    splits = recipe.data.build()
    dataset = splits.test if split == "test" and splits.test is not None else splits.val
    used = "test" if split == "test" and splits.test is not None else "val"
    if dataset is None:
        raise ForgeError(f"{run.path}: dataset {recipe.data.name} has no {split} or val split to evaluate on")
    _, val_loader, test_loader = build_loaders(recipe, splits)
    loader = test_loader if used == "test" else val_loader
    loss_fn = recipe.loss.build()
    correct = total = 0
    loss_sum = 0.0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            loss_sum += float(loss_fn(out, y)) * len(y)
            correct += int((out.argmax(dim=-1) == y).sum())
            total += len(y)
    low, high = wilson_interval(correct, total, confidence)
    return {
        "run_dir": str(run.path),
        "split": used,
        "which": which,
        "samples": total,
        "loss": loss_sum / max(total, 1),
        "accuracy": correct / max(total, 1),
        "accuracy_ci": [low, high],
        "confidence": confidence,
    }
