"""Recipes: one file (TOML, YAML or JSON) that says what to train, on what, and how.

Schema (TOML shown; every section but ``scheduler``, ``metrics`` and ``callbacks`` is required)::

    name = "core.mlp"                 # optional label (run directory names use it)
    description = "..."               # optional
    seed = 0                          # seeds Python/NumPy/torch and loaders (trainer.seed unless set there)
    mode = "research"                 # or "industrial" (trainer.mode unless set there)
    metrics = ["core.accuracy"]       # names, or tables: [{ name = "core.f1", average = "macro" }]
    callbacks = ["core.lr_monitor"]   # names, or tables: [{ name = "core.lr_monitor", every_n_steps = 5 }]

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

    [trainer]                         # optional name (default "core.default") + TrainerConfig fields
    max_epochs = 5

This module is the schema only: a :class:`Recipe` names components; :meth:`Recipe.resolve` turns
each section, once, into its frozen config object (registered defaults + params, checked, errors
naming the key path: ``model.num_classes: expected int, got str 'ten'``), giving a
:class:`ResolvedRecipe` that runs build from and whose :meth:`~ResolvedRecipe.to_dict` is the
resolved recipe a run directory stores. A ``num_classes`` left out of a model or metric whose
config has that field is filled in from the dataset's info (:meth:`Recipe.with_num_classes`).
Running a recipe is :mod:`forge.core._runner`'s job.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from forge.core.config import _field_type, apply_overrides, did_you_mean, load_file, structure, unstructure
from forge.core.data._configs import LoaderConfig
from forge.core.errors import ConfigError, ForgeError, RegistryError
from forge.core.trainer._config import TrainerConfig

__all__ = [
    "Component",
    "ComponentRef",
    "Recipe",
    "ResolvedRecipe",
    "load_recipe",
    "recipe_field_type",
    "resolve_recipe_path",
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
    "callbacks",
    "trainer",
)
_DEFAULT_TRAINER = "core.default"


def __getattr__(name: str) -> Any:
    from forge.core._deprecated import moved_attribute

    return moved_attribute(__name__, name)


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
    also_valid: tuple[str, ...] = ()

    def resolve(self) -> Component:
        """This component with its full config object (registered defaults + params).

        Raises:
            ConfigError: naming ``where.<field>`` for an unknown key (with a "did you mean" hint
                and every key valid there, ``also_valid`` included) or a wrong type or value.
            RegistryError: naming ``where``: the component is not registered.
        """
        from forge.core._registry import registry

        try:
            spec = registry.get(self.kind, self.name)
        except RegistryError as exc:
            raise RegistryError(f"{self.where}: {exc}") from None
        if spec.config is None:
            return Component(self, None)
        cls = registry.config_class(spec)
        if cls is not None and attrs.has(cls):
            self._check_keys([a.name for a in attrs.fields(cls)])
        return Component(self, registry.make_config(self.kind, self.name, self.params, where=self.where))

    def _check_keys(self, fields: Sequence[str]) -> None:
        valid = [*fields, *self.also_valid]
        unknown = sorted({str(key).split(".", 1)[0] for key in self.params} - set(valid))
        if not unknown:
            return
        listed = f"{self.name}'s keys: {', '.join(['name', *fields])}"
        if self.also_valid:
            listed += f"; loader keys: {', '.join(self.also_valid)}"
        raise ConfigError(
            "; ".join(
                f"{self.where}.{key}: unknown key{did_you_mean(key, valid)} (valid here: {listed})" for key in unknown
            )
        )


@attrs.frozen
class Component:
    """A resolved recipe section: what to build, and the config object to build it from.

    Attributes:
        ref: The section as the recipe wrote it.
        config: The frozen config object, or None when the component has no config class (it is
            then built from ``ref.params``).
    """

    ref: ComponentRef
    config: Any

    def to_dict(self) -> dict[str, Any]:
        """``{"name": ..., **every config field}`` (the params as given when there is no config class)."""
        fields = unstructure(self.config) if self.config is not None else dict(self.ref.params)
        return {"name": self.ref.name, **fields}

    def build(self) -> Any:
        """Build the component through the registry from its config object."""
        from forge.core._registry import registry

        if self.config is None:
            return registry.build(self.ref.kind, self.ref.name, **dict(self.ref.params))
        return registry.build(self.ref.kind, self.ref.name, self.config)


def _section(data: Mapping[str, Any], key: str, kind: str, *, required: bool = True) -> ComponentRef | None:
    raw = data.get(key)
    if raw is None:
        if required:
            raise ConfigError(f'{key}: required section missing (a table with at least name = "...")')
        return None
    return _ref(raw, kind, key)


def _sections(data: Mapping[str, Any], key: str, kind: str, source: str) -> tuple[ComponentRef, ...]:
    raw = data.get(key, [])
    if isinstance(raw, (str, Mapping)):
        raw = [raw]
    if not isinstance(raw, Sequence):
        raise ConfigError(f"{source}: {key}: expected a list of names or tables")
    return tuple(_ref(item, kind, f"{key}[{i}]") for i, item in enumerate(raw))


def _ref(raw: Any, kind: str, where: str) -> ComponentRef:
    if isinstance(raw, str):
        return ComponentRef(kind, raw.replace("/", "."), {}, where)
    if not isinstance(raw, Mapping):
        raise ConfigError(f'{where}: expected a table with name = "...", got {type(raw).__name__}')
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f'{where}.name: required, a registered {kind} name such as "core.mlp"')
    bad = [k for k in raw if not isinstance(k, str)]
    if bad:
        raise ConfigError(f"{where}.{bad[0]!r}: keys must be strings")
    params = {k: v for k, v in raw.items() if k not in ("name", "params")}
    nested = raw.get("params")
    if nested is not None:
        if not isinstance(nested, Mapping):
            raise ConfigError(f"{where}.params: expected a table, got {type(nested).__name__}")
        params.update(nested)
    return ComponentRef(kind, name.replace("/", "."), params, where)


@attrs.frozen
class Recipe:
    """A parsed recipe (component params are checked when it is resolved).

    Attributes:
        name: Label of the recipe.
        description: Free text.
        model, data, loss, optimizer: The component sections.
        scheduler: The scheduler section, or None.
        batch_transform: A transform applied to whole training batches (mixup, cutmix), or None.
        metrics: Metric sections.
        callbacks: Callback sections (kind "callback"), handed to the trainer.
        loader: Loader settings (fields of ``LoaderConfig``) taken from ``[data]``.
        trainer: The trainer config (``seed`` and ``mode`` folded in).
        trainer_name: The registered trainer that runs it (``[trainer] name``, default ``core.default``).
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
    callbacks: tuple[ComponentRef, ...]
    loader: Mapping[str, Any]
    trainer: TrainerConfig
    trainer_name: str
    seed: int
    source: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<recipe>") -> Recipe:
        """Parse and check the structure of a recipe (component params are checked by :meth:`resolve`).

        Args:
            data: The recipe as plain data.
            source: File or name, used in messages.

        Raises:
            ConfigError: unknown top-level keys, missing sections, bad trainer fields (key path named).
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: a recipe is a table, got {type(data).__name__}")
        unknown = sorted((str(k) for k in set(data) - set(_TOP_KEYS)), key=str)
        if unknown:
            raise ConfigError(
                f"{source}: "
                + "; ".join(
                    f"{key}: unknown key{did_you_mean(key, _TOP_KEYS)} (known: {', '.join(_TOP_KEYS)})"
                    for key in unknown
                )
            )
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"{source}: seed: expected int, got {type(seed).__name__} {seed!r}")
        if not 0 <= seed <= _MAX_SEED:
            raise ConfigError(f"{source}: seed: expected an int in [0, {_MAX_SEED}], got {seed}")
        for key in ("name", "description"):
            if key in data and data[key] is not None and not isinstance(data[key], str):
                raise ConfigError(f"{source}: {key}: expected str, got {type(data[key]).__name__} {data[key]!r}")
        model = _section(data, "model", "model")
        data_ref = _section(data, "data", "dataset")
        loss = _section(data, "loss", "loss")
        optimizer = _section(data, "optimizer", "optimizer")
        assert model is not None and data_ref is not None and loss is not None and optimizer is not None
        loader_keys = {a.name for a in attrs.fields(LoaderConfig)}
        loader = {k: v for k, v in data_ref.params.items() if k in loader_keys}
        data_ref = attrs.evolve(
            data_ref,
            params={k: v for k, v in data_ref.params.items() if k not in loader_keys},
            also_valid=tuple(a.name for a in attrs.fields(LoaderConfig)),
        )
        trainer_raw = data.get("trainer") or {}
        if not isinstance(trainer_raw, Mapping):
            raise ConfigError(f"{source}: trainer: expected a table, got {type(trainer_raw).__name__} {trainer_raw!r}")
        trainer_raw = dict(trainer_raw)
        trainer_name = trainer_raw.pop("name", _DEFAULT_TRAINER)
        if not isinstance(trainer_name, str) or not trainer_name:
            raise ConfigError(f'{source}: trainer.name: expected a registered trainer name, e.g. "{_DEFAULT_TRAINER}"')
        trainer_raw.setdefault("seed", seed)
        if "mode" in data:
            trainer_raw.setdefault("mode", data["mode"])
        metrics = _sections(data, "metrics", "metric", source)
        _check_metric_names(metrics, source)
        try:
            trainer = structure(trainer_raw, TrainerConfig, where="trainer")
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        return cls(
            name=str(data.get("name") or Path(source).stem),
            description=str(data.get("description", "")),
            model=model,
            data=data_ref,
            loss=loss,
            optimizer=optimizer,
            scheduler=_section(data, "scheduler", "scheduler", required=False),
            batch_transform=_section(data, "batch_transform", "transform", required=False),
            metrics=metrics,
            callbacks=_sections(data, "callbacks", "callback", source),
            loader=loader,
            trainer=trainer,
            trainer_name=trainer_name.replace("/", "."),
            seed=seed,
            source=source,
        )

    def components(self) -> list[ComponentRef]:
        """Every component section, in build order."""
        out = [self.data, self.model, self.loss, self.optimizer]
        out += [ref for ref in (self.scheduler, self.batch_transform) if ref is not None]
        return [*out, *self.metrics, *self.callbacks]

    def resolve(self, *, data: Component | None = None) -> ResolvedRecipe:
        """Resolve every section, once, to its config object (nothing is built).

        Args:
            data: The ``[data]`` section already resolved (a run resolves and builds the dataset
                first, to learn ``num_classes``).

        Raises:
            ConfigError: every bad key path found, joined in one message.
            RegistryError: a component or the trainer is not registered (its section named).
        """
        from forge.core._registry import registry

        done: dict[str, Component] = {"data": data} if data is not None else {}
        errors: list[str] = []
        for ref in self.components():
            try:
                if ref.where not in done:
                    done[ref.where] = ref.resolve()
            except ConfigError as exc:
                errors.append(str(exc))
        try:
            loader = structure(dict(self.loader), LoaderConfig, where="data")
        except ConfigError as exc:
            errors.append(str(exc))
        if errors:
            raise ConfigError(f"{self.source}: " + "; ".join(errors))
        try:
            registry.get("trainer", self.trainer_name)
        except RegistryError as exc:
            raise RegistryError(f"{self.source}: trainer.name: {exc}") from None
        return ResolvedRecipe(
            recipe=self,
            model=done["model"],
            data=done["data"],
            loss=done["loss"],
            optimizer=done["optimizer"],
            scheduler=done["scheduler"] if self.scheduler is not None else None,
            batch_transform=done["batch_transform"] if self.batch_transform is not None else None,
            metrics=tuple(done[m.where] for m in self.metrics),
            callbacks=tuple(done[c.where] for c in self.callbacks),
            loader=loader,
        )

    def validate(self) -> None:
        """Check every section against its config class (:meth:`resolve`, keeping nothing).

        Raises:
            ConfigError: every bad key path found, joined in one message.
            RegistryError: a component is not registered.
        """
        self.resolve()

    def check(self) -> None:
        """Check every section before anything is built: what a run refuses before its directory exists.

        Values the data decides (``num_classes``, ``in_features``) and that the recipe leaves out
        stand in as valid placeholders here; :meth:`with_data` fills and checks them once the
        dataset is built.

        Transform tables nested in a section (``[data.train_transform]``, the items of a
        compose's ``transforms``), which their owner builds only with the data, are checked here
        too, each under its key path.

        Raises:
            ConfigError: every bad key path found, joined in one message.
            RegistryError: a component is not registered.
        """
        from forge.core._registry import registry

        errors: list[str] = []
        for ref in self.components():
            for where, name, params in _nested_tables(ref.params, ref.where):
                try:
                    registry.get("transform", name)
                except RegistryError:
                    continue  # not a transform (a dataset's own "name" field, say): its owner checks it
                try:
                    registry.make_config("transform", name, params, where=where)
                except ConfigError as exc:
                    errors.append(str(exc))
        if errors:
            raise ConfigError(f"{self.source}: " + "; ".join(errors))
        probe = self.with_num_classes(2)
        try:
            spec = registry.get("model", probe.model.name)
        except RegistryError as exc:
            raise RegistryError(f"{self.source}: model: {exc}") from None
        cls = registry.config_class(spec)
        if (
            cls is not None
            and attrs.has(cls)
            and any(a.name == "in_features" for a in attrs.fields(cls))
            and "in_features" not in probe.model.params
            and "in_features" not in spec.defaults
        ):
            probe = attrs.evolve(
                probe, model=attrs.evolve(probe.model, params={**probe.model.params, "in_features": 1})
            )
        probe.resolve()

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved recipe (every default filled in): ``self.resolve().to_dict()``."""
        return self.resolve().to_dict()

    def with_data(self, splits: Any) -> Recipe:
        """Fill what the data decides into the model: ``num_classes`` and the input width.

        ``num_classes`` goes as :meth:`with_num_classes` puts it; a model config with an
        ``in_features`` field that the recipe leaves out gets the width of one training input
        (the product of its dimensions). A value the recipe does set is checked against the data.

        Args:
            splits: The built dataset (:class:`~forge.core.data.DatasetSplits`).

        Raises:
            ConfigError: ``model.in_features`` or ``model.num_classes`` does not fit the data; the
                message names both shapes, the data source and the key to set.
        """
        from forge.core._registry import registry

        info = splits.info
        recipe = self.with_num_classes(info.num_classes)
        spec = registry.get("model", recipe.model.name)
        cls = registry.config_class(spec)
        fields = {a.name for a in attrs.fields(cls)} if cls is not None and attrs.has(cls) else set()
        source = f"dataset {self.data.name} ({info.source})"
        given = recipe.model.params.get("num_classes", spec.defaults.get("num_classes"))
        if (
            "num_classes" in fields
            and info.num_classes is not None
            and isinstance(given, int)
            and given < info.num_classes
        ):
            raise ConfigError(
                f"{self.source}: model.num_classes: {given}, but {source} has {info.num_classes} classes "
                f"(targets 0..{info.num_classes - 1}); set model.num_classes={info.num_classes} or leave it out "
                "to take it from the data"
            )
        if "in_features" not in fields:
            return recipe
        shape = _input_shape(splits)
        if shape is None:
            return recipe
        width = math.prod(shape)
        given = recipe.model.params.get("in_features", spec.defaults.get("in_features"))
        if "in_features" not in recipe.model.params and "in_features" not in spec.defaults:
            return attrs.evolve(
                recipe, model=attrs.evolve(recipe.model, params={**recipe.model.params, "in_features": width})
            )
        if isinstance(given, int) and not isinstance(given, bool) and given != width:
            raise ConfigError(
                f"{self.source}: model.in_features: {given}, but each input of {source} has shape "
                f"{list(shape)} ({width} features); set model.in_features={width} "
                "or leave it out to take it from the data"
            )
        return recipe

    def with_num_classes(self, num_classes: int | None) -> Recipe:
        """Fill ``num_classes`` into the model and metric params that have such a field but leave it out."""
        if num_classes is None:
            return self

        def fill(ref: ComponentRef) -> ComponentRef:
            from forge.core._registry import registry

            if "num_classes" in ref.params:
                return ref
            try:
                spec = registry.get(ref.kind, ref.name)
            except RegistryError as exc:
                raise RegistryError(f"{self.source}: {ref.where}: {exc}") from None
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


_MAX_SEED = 2**32 - 1
_SECTION_KINDS = {
    "model": "model",
    "data": "dataset",
    "loss": "loss",
    "optimizer": "optimizer",
    "scheduler": "scheduler",
    "batch_transform": "transform",
}
_TOP_TYPES: dict[str, Any] = {"seed": int, "mode": str, "name": str, "description": str}


def _check_metric_names(metrics: Sequence[ComponentRef], source: str) -> None:
    """Refuse two metrics that would be reported under the same key (results are keyed by short name)."""
    seen: dict[str, ComponentRef] = {}
    for ref in metrics:
        short = ref.name.rsplit(".", 1)[-1]
        if short in seen:
            first = seen[short]
            raise ConfigError(
                f"{source}: {ref.where}: metric {ref.name!r} would be reported as {short!r}, like {first.where} "
                f"({first.name!r}); results are keyed by the metric's short name, so list each metric once"
            )
        seen[short] = ref


def _input_shape(splits: Any) -> tuple[int, ...] | None:
    """The shape of one training input: from the dataset's schema, else from its first sample."""
    schema = getattr(splits.info, "schema", None)
    spec = schema.fields.get("input") if schema is not None else None
    dims = getattr(spec, "shape", None)
    if dims is not None and len(dims) >= 2 and all(isinstance(d, int) for d in dims[1:]):
        return tuple(int(d) for d in dims[1:])
    train = splits.train
    try:
        sample = train[0] if train is not None and hasattr(train, "__getitem__") else None
    except Exception:  # a dataset that cannot be indexed up front: nothing to infer
        return None
    inputs = sample[0] if isinstance(sample, (tuple, list)) and sample else None
    shape = getattr(inputs, "shape", None)
    return tuple(int(d) for d in shape) if shape is not None else None


def recipe_field_type(data: Mapping[str, Any], path: Sequence[str]) -> Any:
    """The declared type at ``path`` in recipe ``data`` (for reading overrides), or None when unknown."""
    from forge.core._registry import registry

    head, rest = path[0], list(path[1:])
    if not rest:
        return _TOP_TYPES.get(head)
    if rest == ["name"]:
        return str
    if head == "trainer":
        return _field_type(TrainerConfig, rest)
    kind = _SECTION_KINDS.get(head)
    section = data.get(head)
    if kind is None or not isinstance(section, Mapping):
        return None
    if rest[0] == "params":
        rest = rest[1:]
    if head == "data" and rest and any(a.name == rest[0] for a in attrs.fields(LoaderConfig)):
        return _field_type(LoaderConfig, rest)
    name = section.get("name")
    if not isinstance(name, str) or not rest:
        return None
    try:
        cls = registry.config_class(registry.get(kind, name.replace("/", ".")))
    except ForgeError:
        return None
    return _field_type(cls, rest) if cls is not None else None


@attrs.frozen
class ResolvedRecipe:
    """A recipe whose every section is resolved to its frozen config object: what a run builds.

    Attributes:
        recipe: The recipe it was resolved from (its ``trainer`` is the TrainerConfig).
        model, data, loss, optimizer: The resolved component sections.
        scheduler, batch_transform: Resolved sections, or None.
        metrics: Resolved metric sections.
        callbacks: Resolved callback sections.
        loader: The ``LoaderConfig`` of the ``[data]`` loader fields.
    """

    recipe: Recipe
    model: Component
    data: Component
    loss: Component
    optimizer: Component
    scheduler: Component | None
    batch_transform: Component | None
    metrics: tuple[Component, ...]
    callbacks: tuple[Component, ...]
    loader: LoaderConfig

    def to_dict(self) -> dict[str, Any]:
        """The resolved recipe as plain data, as ``config.json`` stores it (read back by :meth:`Recipe.from_dict`)."""
        r = self.recipe
        out: dict[str, Any] = {
            "name": r.name,
            "description": r.description,
            "seed": r.seed,
            "mode": r.trainer.mode,
            "model": self.model.to_dict(),
            "data": {**self.data.to_dict(), **unstructure(self.loader)},
            "loss": self.loss.to_dict(),
            "optimizer": self.optimizer.to_dict(),
            "metrics": [m.to_dict() for m in self.metrics],
            "callbacks": [c.to_dict() for c in self.callbacks],
            "trainer": {"name": r.trainer_name, **unstructure(r.trainer)},
        }
        for key, section in (("scheduler", self.scheduler), ("batch_transform", self.batch_transform)):
            if section is not None:
                out[key] = section.to_dict()
        return out


def resolve_recipe_path(path_or_name: str | os.PathLike[str]) -> Path:
    """Find a recipe: an existing file, or a registered recipe name ("vision/digits" == "vision.digits").

    Raises:
        ConfigError: neither a file nor a registered recipe.
    """
    from forge.core._registry import registry
    from forge.core.errors import RegistryError

    path = Path(path_or_name)
    if path.is_file():
        return path
    name = str(path_or_name).replace("/", ".")
    try:
        found: Path = registry.build("recipe", name)
    except RegistryError as exc:
        raise ConfigError(f"recipe {str(path_or_name)!r}: not a file and not a registered recipe ({exc})") from None
    return found


def _nested_tables(value: Any, where: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(key path, name, other keys)`` of every table with a string ``name`` nested in ``value``."""
    if isinstance(value, Mapping):
        items: Iterable[tuple[Any, Any]] = ((f"{where}.{k}", v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{where}[{i}]", v) for i, v in enumerate(value))
    else:
        return
    for path, item in items:
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            # flat ({name, fields...}) or core.compose's saved form ({name, params: {fields...}})
            wrapped = set(item) == {"name", "params"} and isinstance(item["params"], Mapping)
            params = dict(item["params"]) if wrapped else {k: v for k, v in item.items() if k != "name"}
            yield (f"{path}.params" if wrapped else path), item["name"], params
        yield from _nested_tables(item, path)


def load_recipe(path_or_name: str | os.PathLike[str], overrides: Iterable[str] = ()) -> Recipe:
    """Read a recipe file or registered recipe, apply ``a.b=value`` overrides and parse it.

    Raises:
        ConfigError: the file, an override or the structure is invalid (key path named).
    """
    path = resolve_recipe_path(path_or_name)
    data = apply_overrides(load_file(path), list(overrides), field_type=recipe_field_type)
    return Recipe.from_dict(data, source=str(path))
