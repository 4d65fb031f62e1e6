"""forge-core: interfaces, registry, configuration, logging, trainer and CLI of the forge SDK.

This module is the public face: what it lists in ``__all__`` is what users and plugins call, and
everything in an underscore-prefixed module behind it may move between releases. Importing it
imports no torch; each name is imported on first use::

    from forge.core import registry, run_recipe, load_model

    model = registry.build("model", "core.mlp", in_features=16, num_classes=3)
    result = run_recipe("core/mlp", ["trainer.max_epochs=2"])
    trained = load_model(result.run_dir)

Subpackages with faces of their own: :mod:`forge.core.data`, :mod:`forge.core.trainer`,
:mod:`forge.core.losses`, :mod:`forge.core.metrics`, :mod:`forge.core.optim`,
:mod:`forge.core.evaluator`; public modules: :mod:`forge.core.config` (config classes and
files), :mod:`forge.core.errors`, :mod:`forge.core.hookspecs` (the plugin hooks) and
:mod:`forge.core.testing` (the conformance kit for plugin authors).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from forge.core._deprecated import install_module_aliases
from forge.core._lazy import lazy_exports as lazy_exports

if TYPE_CHECKING:
    from forge.core._checkpoint import Checkpoint as Checkpoint
    from forge.core._checkpoint import CheckpointManager as CheckpointManager
    from forge.core._checkpoint import load_checkpoint as load_checkpoint
    from forge.core._checkpoint import save_checkpoint as save_checkpoint
    from forge.core._checkpoint import verify_checkpoint as verify_checkpoint
    from forge.core._deprecated import ForgeDeprecationWarning as ForgeDeprecationWarning
    from forge.core._lazy import lazy_exports as lazy_exports
    from forge.core._logging import configure_logging as configure_logging
    from forge.core._logging import get_logger as get_logger
    from forge.core._plugins import PLUGIN_API_VERSION as PLUGIN_API_VERSION
    from forge.core._plugins import SUPPORTED_PLUGIN_APIS as SUPPORTED_PLUGIN_APIS
    from forge.core._plugins import PluginInfo as PluginInfo
    from forge.core._plugins import PluginSettings as PluginSettings
    from forge.core._recipe import ComponentRef as ComponentRef
    from forge.core._recipe import Recipe as Recipe
    from forge.core._recipe import ResolvedRecipe as ResolvedRecipe
    from forge.core._recipe import load_recipe as load_recipe
    from forge.core._recipe import resolve_recipe_path as resolve_recipe_path
    from forge.core._registry import ComponentSpec as ComponentSpec
    from forge.core._registry import Registry as Registry
    from forge.core._registry import registry as registry
    from forge.core._reproducibility import capture_environment as capture_environment
    from forge.core._reproducibility import configure_determinism as configure_determinism
    from forge.core._reproducibility import seed_everything as seed_everything
    from forge.core._run import RunDir as RunDir
    from forge.core._run import find_checkpoint as find_checkpoint
    from forge.core._runner import RunResult as RunResult
    from forge.core._runner import build_loaders as build_loaders
    from forge.core._runner import load_model as load_model
    from forge.core._runner import resume_run as resume_run
    from forge.core._runner import run_recipe as run_recipe
    from forge.core.errors import CheckpointError as CheckpointError
    from forge.core.errors import ConfigError as ConfigError
    from forge.core.errors import DataError as DataError
    from forge.core.errors import ExportError as ExportError
    from forge.core.errors import ForgeError as ForgeError
    from forge.core.errors import PluginError as PluginError
    from forge.core.errors import RegistryError as RegistryError
    from forge.core.errors import SchemaError as SchemaError
    from forge.core.evaluator import evaluate_run as evaluate_run
    from forge.core.trainer import FitResult as FitResult
    from forge.core.trainer import Trainer as Trainer
    from forge.core.trainer import TrainerConfig as TrainerConfig

try:
    __version__ = version("forge-core")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

install_module_aliases()
__getattr__, __dir__ = lazy_exports(__name__, __file__)
