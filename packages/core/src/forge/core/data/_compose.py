"""Composable transforms that serialize to config and back exactly.

A transform is a callable that also knows its own config: ``to_config()`` returns
``{"name": <registry name>, "params": <its config as plain data>}`` and :func:`from_config`
rebuilds it, so ``from_config(t.to_config()).to_config() == t.to_config()`` for every transform
forge ships. The pipeline used for a model is therefore plain JSON stored in its run directory,
and it feeds the cache key (:mod:`forge.core.data._cache`).

Names resolve in this order: ``"package.module:attr"`` imports the attribute (a transform class
taking its config, or any factory taking the params as keywords: no registry needed); otherwise
the name is looked up in forge's registry (kind ``"transform"``) when the registry is importable,
falling back to core's own transforms.

Light: no torch at import time.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from forge.core._plugins import import_object
from forge.core.config import structure, unstructure
from forge.core.data._configs import ComposeConfig
from forge.core.errors import ConfigError, DataError, PluginError

__all__ = ["BUILTIN_TRANSFORMS", "Compose", "Transform", "build_compose", "from_config", "to_config"]

#: Core's transforms by qualified name: (builder "module:attr", config "module:Class").
BUILTIN_TRANSFORMS: Mapping[str, tuple[str, str]] = {
    "core.compose": ("forge.core.data._compose:build_compose", "forge.core.data._configs:ComposeConfig"),
    "core.pii_scrub": ("forge.core.data._pii:PIIScrubber", "forge.core.data._configs:PIIScrubConfig"),
    "core.normalize_text": ("forge.core.data._text:NormalizeText", "forge.core.data._configs:NormalizeTextConfig"),
    "core.normalize": ("forge.core.data._tensor_transforms:Normalize", "forge.core.data._configs:NormalizeConfig"),
    "core.random_crop": ("forge.core.data._tensor_transforms:RandomCrop", "forge.core.data._configs:RandomCropConfig"),
    "core.random_hflip": (
        "forge.core.data._tensor_transforms:RandomHorizontalFlip",
        "forge.core.data._configs:RandomHorizontalFlipConfig",
    ),
}


C = TypeVar("C")


class Transform(abc.ABC):
    """Base class of serializable transforms.

    Subclasses set the class attribute ``name`` (the registry name, e.g. ``"core.pii_scrub"``),
    take their attrs config as the only constructor argument, keep it as ``self.config`` and
    implement ``__call__``.
    """

    name: ClassVar[str]
    config: Any

    @abc.abstractmethod
    def __call__(self, sample: Any) -> Any:
        """Apply the transform to one sample and return the result."""

    def to_config(self) -> dict[str, Any]:
        """Return ``{"name": ..., "params": ...}``, plain JSON-able data that :func:`from_config` reads."""
        return {"name": self.name, "params": unstructure(self.config)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"


def config_from_args(name: str, config_class: type[C], config: C | None, params: Mapping[str, Any]) -> C:
    """The config a transform's constructor was given: a config object, or keyword parameters.

    Transforms take ``Transform(config)`` or ``Transform(**params)``; this resolves either form.

    Raises:
        ConfigError: both forms were given, the object has the wrong type, or the parameters are invalid
            (named after the transform ``name``).
    """
    if config is None:
        try:
            return config_class(**params)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name}: {exc}") from None
    if params:
        raise ConfigError(f"{name}: give either a config object or keyword parameters, not both")
    if not isinstance(config, config_class):
        raise ConfigError(f"{name}: expected a {config_class.__name__}, got {type(config).__name__}")
    return config


def _import(ref: str) -> Any:
    try:
        return import_object(ref, what="transform")
    except PluginError as exc:
        raise ConfigError(str(exc)) from exc


def to_config(transform: Callable[..., Any]) -> dict[str, Any]:
    """Return the config of a serializable transform.

    Raises:
        DataError: When the callable has no ``to_config`` (a lambda or plain function cannot be
            written into a run directory; wrap it in a :class:`Transform`).
    """
    method = getattr(transform, "to_config", None)
    if method is None:
        raise DataError(
            f"transform {transform!r} cannot be serialized: it has no to_config(); "
            "subclass forge.core.data._compose.Transform"
        )
    config = method()
    if not isinstance(config, dict):
        raise DataError(f"{transform!r}.to_config() returned {type(config).__name__}, expected dict")
    return config


def _build_builtin(name: str, params: Mapping[str, Any]) -> Any:
    builder_ref, config_ref = BUILTIN_TRANSFORMS[name]
    config = structure(dict(params), _import(config_ref), where=f"transform {name}")
    return _import(builder_ref)(config)


def _registry() -> Any | None:
    # The registry is optional here so that pipelines can be rebuilt by tools that ship only the
    # data package; core's own transforms are then found in BUILTIN_TRANSFORMS.
    try:
        from forge.core._registry import registry
    except ImportError:
        return None
    return registry


def from_config(config: Mapping[str, Any]) -> Any:
    """Rebuild a transform from ``{"name": ..., "params": ...}``.

    Args:
        config: The mapping :meth:`Transform.to_config` produced (``params`` may be absent).

    Returns:
        The transform.

    Raises:
        ConfigError: When the mapping is malformed, the name is unknown or the params are invalid.
        RegistryError: When the registry is importable and knows no transform of that name (its
            message suggests close names).
    """
    if not isinstance(config, Mapping) or "name" not in config:
        raise ConfigError(f"a transform config needs a 'name' key, got {config!r}")
    unknown = set(config) - {"name", "params"}
    if unknown:
        raise ConfigError(f"transform config {config['name']!r} has unknown keys {sorted(unknown)}")
    name = str(config["name"])
    params = dict(config.get("params") or {})
    if ":" in name:
        target = _import(name)
        config_class = getattr(target, "config_class", None)
        if config_class is not None:
            return target(structure(params, config_class, where=f"transform {name}"))
        return target(**params)
    registry = _registry()
    if registry is not None:
        from forge.core.errors import RegistryError

        try:
            return registry.build("transform", name, **params)
        except RegistryError:
            if name not in BUILTIN_TRANSFORMS:
                raise
    if name in BUILTIN_TRANSFORMS:
        return _build_builtin(name, params)
    raise ConfigError(f"unknown transform {name!r}; core provides {sorted(BUILTIN_TRANSFORMS)}")


class Compose(Transform):
    """Apply transforms in order; serializes as the list of its transforms' configs.

    Example:
        >>> pipe = Compose([NormalizeText(NormalizeTextConfig()), PIIScrubber(PIIScrubConfig())])
        >>> from_config(pipe.to_config()).to_config() == pipe.to_config()
        True
    """

    name: ClassVar[str] = "core.compose"

    def __init__(self, transforms: Iterable[Callable[[Any], Any]]) -> None:
        """Args:
        transforms: The callables to apply, in order. Each must have ``to_config`` for the
            pipeline to serialize (applying works regardless).
        """
        self.transforms: list[Callable[[Any], Any]] = list(transforms)

    @property
    def config(self) -> ComposeConfig:
        """The pipeline's config, computed from its transforms."""
        return ComposeConfig(transforms=[to_config(t) for t in self.transforms])

    @classmethod
    def from_compose_config(cls, config: ComposeConfig) -> Compose:
        """Build a pipeline from its config (the registry builder of ``core.compose``)."""
        return cls(from_config(t) for t in config.transforms)

    @classmethod
    def from_configs(cls, configs: Sequence[Mapping[str, Any]]) -> Compose:
        """Build a pipeline from a list of transform configs."""
        return cls(from_config(c) for c in configs)

    def __call__(self, sample: Any) -> Any:
        """Apply every transform in order to ``sample``."""
        for transform in self.transforms:
            sample = transform(sample)
        return sample

    def __len__(self) -> int:
        return len(self.transforms)

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


def build_compose(config: ComposeConfig) -> Compose:
    """Registry builder of ``core.compose``: the pipeline described by ``config``."""
    return Compose.from_compose_config(config)
