"""The transform base class, dict (de)serialization and :class:`Compose`.

A transform is a small object configured by a frozen attrs config. It takes a float image tensor
``(C, H, W)`` or a batch ``(N, C, H, W)`` on any device and returns the same layout; random
transforms draw independent parameters for every image of a batch. Random numbers come from the
``generator`` passed to the call (a CPU :class:`torch.Generator`, so a seed gives the same result on
every device), or from torch's global generator when none is given.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Generic, TypeVar, cast

import attrs
import torch
from torch import Tensor

from forge.core.config import structure, unstructure
from forge.core.data import Transform as CoreTransform
from forge.core.data import config_from_args
from forge.core.errors import ConfigError, DataError
from forge.vision.transforms.configs import ComposeConfig

__all__ = ["Compose", "Transform", "transform_from_dict"]

C = TypeVar("C")

_BY_NAME: dict[str, type[Transform[Any]]] = {}
# Modules whose import registers the built-in transform classes in _BY_NAME.
_BUILTIN_MODULES = (
    "forge.vision.transforms.geometric",
    "forge.vision.transforms.color",
    "forge.vision.transforms.autoaugment",
)


class Transform(CoreTransform, Generic[C]):
    """Base class of the vision transforms.

    A subclass of core's serializable transform, so core's pipelines and ``to_config()`` /
    ``from_config()`` (``{"name": ..., "params": {...}}``) accept vision transforms too.

    Subclasses set ``name`` (the qualified registry name, e.g. ``"vision.resize"``) and
    ``config_class``, and implement :meth:`apply_batch`.

    Args:
        config: The config object; leave it out and pass the config fields as keyword arguments.
        **params: The config fields, when ``config`` is not given.

    Raises:
        ConfigError: if a parameter is unknown or invalid, or both a config and parameters are given.
    """

    name: ClassVar[str]
    config_class: ClassVar[type[Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            _BY_NAME[cls.name] = cls

    def __init__(self, config: C | None = None, /, **params: Any) -> None:
        self.config: C = config_from_args(self.name, self.config_class, config, params)

    def __call__(self, images: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        """Transform one image ``(C, H, W)`` or a batch ``(N, C, H, W)``.

        Args:
            images: Floating-point image tensor, values nominally in [0, 1].
            generator: CPU generator for the random draws; torch's global one when None.

        Returns:
            The transformed tensor, with the same number of dimensions as ``images``.

        Raises:
            DataError: if ``images`` is not a floating-point 3-D or 4-D tensor.
        """
        batch = as_batch(images, self.name)
        out = self.apply_batch(batch, generator)
        return out[0] if images.dim() == 3 else out

    def apply_batch(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Transform a batch ``(N, C, H, W)``; subclasses implement this.

        Args:
            images: The batch, already validated.
            generator: CPU generator for random draws, or None for torch's global one.

        Returns:
            The transformed batch.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement apply_batch")

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"name": ..., **config fields}`` (plain data, JSON and TOML safe)."""
        data: dict[str, Any] = {"name": self.name}
        data.update(unstructure(self.config))
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "") -> Transform[Any] | Compose:
        """Build a transform from :meth:`to_dict` output; the inverse of :meth:`to_dict`.

        Args:
            data: A mapping with ``name`` and the config fields.
            where: Key path of ``data`` in a larger config, for error messages.

        Returns:
            The transform (of the class ``name`` names).

        Raises:
            ConfigError: if the name is unknown or a field is invalid.
        """
        return transform_from_dict(data, where=where)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self)) and type(other) is type(self) and other.config == self.config

    def __hash__(self) -> int:
        return hash((type(self), self.config))

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{a.name}={getattr(self.config, a.name)!r}" for a in attrs.fields(cast(Any, type(self.config)))
        )
        return f"{type(self).__name__}({fields})"


def as_batch(images: Tensor, where: str) -> Tensor:
    """Check that ``images`` is a float ``(C, H, W)`` or ``(N, C, H, W)`` tensor; return it as a batch.

    Args:
        images: The tensor to check.
        where: Name of the caller, for the error message.

    Returns:
        A 4-D view of ``images``.

    Raises:
        DataError: if the tensor has the wrong rank or dtype.
    """
    if not isinstance(images, Tensor):
        raise DataError(f"{where}: expected a torch.Tensor, got {type(images).__name__}")
    if images.dim() not in (3, 4):
        raise DataError(
            f"{where}: expected an image (C, H, W) or a batch (N, C, H, W), got shape {tuple(images.shape)}"
        )
    if not images.is_floating_point():
        raise DataError(f"{where}: expected a floating-point tensor with values in [0, 1], got {images.dtype}")
    return images if images.dim() == 4 else images.unsqueeze(0)


def transform_from_dict(data: Mapping[str, Any], *, where: str = "") -> Transform[Any] | Compose:
    """Build any transform from its serialized dict.

    Vision transforms are looked up directly; other names go through the forge registry
    (``registry.build("transform", name, **params)``), so a Compose may hold any plugin's transform.

    Args:
        data: ``{"name": ..., **params}``.
        where: Key path of ``data`` in a larger config, for error messages.

    Returns:
        The transform.

    Raises:
        ConfigError: if ``name`` is missing or unknown, or a parameter is invalid.
    """
    label = where or "<transform>"
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        raise ConfigError(f"{label}: a transform must be a table with a string 'name', got {data!r}")
    name = str(data["name"])
    params = {k: v for k, v in data.items() if k != "name"}
    if set(params) == {"params"} and isinstance(params["params"], Mapping):
        # core's to_config() form: {"name": ..., "params": {...}}
        params = dict(params["params"])
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    cls = _BY_NAME.get(name)
    if cls is not None:
        config = structure(params, cls.config_class, where=label)
        return cls(config)
    if name == Compose.name:
        return Compose(structure(params, ComposeConfig, where=label))
    from forge.core import registry

    built = registry.build("transform", name, **params)
    if not callable(built):
        raise ConfigError(f"{label}: transform {name!r} built a {type(built).__name__}, which is not callable")
    return built  # type: ignore[no-any-return]  # a registered transform from another plugin


class Compose:
    """Apply transforms in order; serializes to ``{"name": "vision.compose", "transforms": [...], "seed": ...}``.

    Args:
        transforms: The transforms, or a :class:`ComposeConfig` whose dicts are built into them.
        seed: Seed of a generator owned by this Compose, used when a call passes no generator.
            The generator advances on every call, so a seeded Compose gives the same sequence of
            augmentations run after run (:meth:`state_dict` saves its position). forge's vision
            datasets do not use that advancing stream: they call a seeded Compose with a generator
            of each image's own, seeded from ``(seed, epoch, sample index)``
            (:mod:`forge.vision.datasets.seeding`), so the draws are the same in any DataLoader
            worker and after a resume.

    Raises:
        ConfigError: if a transform dict is invalid, or ``seed`` is given with a config.

    Example::

        aug = Compose([RandomResizedCrop(size=32), RandomHorizontalFlip()], seed=0)
        batch = aug(torch.rand(8, 3, 64, 64))
    """

    name: ClassVar[str] = "vision.compose"

    def __init__(self, transforms: Iterable[Any] | ComposeConfig = (), *, seed: int | None = None) -> None:
        if isinstance(transforms, ComposeConfig):
            if seed is not None:
                raise ConfigError("vision.compose: give the seed inside the ComposeConfig, not as an argument")
            seed = transforms.seed
            items: list[Any] = [
                transform_from_dict(d, where=f"vision.compose.transforms[{i}]")
                for i, d in enumerate(transforms.transforms)
            ]
        else:
            items = list(transforms)
        for i, t in enumerate(items):
            if not callable(t) or not hasattr(t, "to_dict"):
                raise ConfigError(
                    f"vision.compose.transforms[{i}]: {type(t).__name__} is not a serializable transform "
                    "(it needs __call__ and to_dict)"
                )
        self.transforms: list[Any] = items
        self.seed = seed
        self._generator: torch.Generator | None = None
        if seed is not None:
            self._generator = torch.Generator().manual_seed(seed)

    @property
    def config(self) -> ComposeConfig:
        """The config this Compose serializes to."""
        return ComposeConfig(transforms=tuple(t.to_dict() for t in self.transforms), seed=self.seed)

    def reseed(self, seed: int) -> None:
        """Restart this Compose's generator from ``seed`` (e.g. once per DataLoader worker).

        Args:
            seed: The new seed.
        """
        self.seed = seed
        self._generator = torch.Generator().manual_seed(seed)

    def state_dict(self) -> dict[str, Any]:
        """The position of this Compose's own generator: ``{"seed", "generator"}`` (None when unseeded)."""
        state = None if self._generator is None else self._generator.get_state()
        return {"seed": self.seed, "generator": state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output, so the next call draws what it would have drawn.

        Raises:
            DataError: the state belongs to a Compose with another seed.
        """
        if state.get("seed") != self.seed:
            raise DataError(
                f"vision.compose: the state is of a Compose seeded {state.get('seed')!r}, this one has {self.seed!r}"
            )
        if self._generator is not None and state.get("generator") is not None:
            self._generator.set_state(state["generator"])

    def __call__(self, images: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        """Apply every transform in order.

        Args:
            images: Image ``(C, H, W)`` or batch ``(N, C, H, W)``.
            generator: Generator for random draws; this Compose's own seeded one when None.

        Returns:
            The transformed tensor.
        """
        gen = generator if generator is not None else self._generator
        for t in self.transforms:
            images = t(images, generator=gen)
        return images

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain data: the name, every transform's dict, and the seed."""
        data: dict[str, Any] = {"name": self.name}
        data.update(unstructure(self.config))
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "") -> Compose:
        """Build a Compose from :meth:`to_dict` output.

        Args:
            data: ``{"name": "vision.compose", "transforms": [...], "seed": ...}`` (name optional).
            where: Key path for error messages.

        Returns:
            The Compose.

        Raises:
            ConfigError: if a field or a transform is invalid.
        """
        params = {k: v for k, v in data.items() if k != "name"}
        return cls(structure(params, ComposeConfig, where=where or cls.name))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Compose) and other.to_dict() == self.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))

    def __len__(self) -> int:
        return len(self.transforms)

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}], seed={self.seed!r})"


def sample_uniform(n: int, low: float, high: float, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """Draw ``n`` floats uniformly from [low, high) on the CPU generator, returned on ``device``.

    Drawing on the CPU keeps results identical across devices for the same seed.
    """
    values = torch.rand(n, generator=generator, dtype=torch.float64)
    return (low + (high - low) * values).to(device=device, dtype=torch.float32)


def sample_bernoulli(n: int, p: float, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """Draw ``n`` booleans that are True with probability ``p`` (CPU generator, returned on ``device``)."""
    return (torch.rand(n, generator=generator) < p).to(device)


def build_compose(config: ComposeConfig) -> Compose:
    """Registry builder of ``vision.compose``.

    Args:
        config: The Compose config.

    Returns:
        The Compose.
    """
    return Compose(config)
