"""forge.core's public face: what it lists, that it stays light, and the deprecated module paths."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

import forge.core
from forge.core import ForgeDeprecationWarning

USER_API = {
    "registry",
    "Recipe",
    "load_recipe",
    "run_recipe",
    "resume_run",
    "load_model",
    "RunDir",
    "Trainer",
    "TrainerConfig",
    "save_checkpoint",
    "load_checkpoint",
    "ForgeError",
    "ConfigError",
    "DataError",
    "CheckpointError",
    "PluginError",
    "RegistryError",
}


def test_the_face_lists_what_users_call_and_every_name_resolves() -> None:
    assert USER_API <= set(forge.core.__all__)
    for name in forge.core.__all__:
        assert getattr(forge.core, name) is not None, name
    assert forge.core.registry.build("model", "core.mlp", in_features=4, num_classes=2) is not None


def test_importing_the_face_imports_no_torch() -> None:
    code = "import sys, forge.core; forge.core.registry.list('model'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_public_name_lives_in_a_module_named_public_by_accident() -> None:
    # every value the face serves is defined in an underscore module or a public subpackage face
    for name in forge.core.__all__:
        module = getattr(getattr(forge.core, name), "__module__", None)
        if isinstance(module, str) and module.startswith("forge.core."):
            assert any(part.startswith("_") for part in module.split(".")) or module in {
                "forge.core.errors",
                "forge.core.trainer",
            }, f"{name} is defined in {module}, which is not an implementation module"


def test_an_old_module_path_warns_and_serves_the_moved_module() -> None:
    from forge.core import _recipe

    expected = r"forge\.core\.recipe .*forge-core 0\.3\.0.*forge\.core exports"
    with pytest.warns(ForgeDeprecationWarning, match=expected) as seen:
        from forge.core.recipe import Recipe  # the old path exists only at run time
    assert Recipe is _recipe.Recipe
    assert seen[0].filename == __file__  # blamed on the importing line, so default filters show it


def test_the_old_registry_module_path_does_not_replace_the_registry_instance() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ForgeDeprecationWarning)
        import forge.core.registry  # the old path, run time only
        from forge.core.registry import registry as old
    from forge.core import registry

    assert old is registry and forge.core.registry is registry
    assert hasattr(registry, "build")


def test_introspecting_an_old_module_path_neither_imports_nor_warns() -> None:
    alias = sys.modules["forge.core.data.compose"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert getattr(alias, "__file__", None) is None
        assert alias.__name__ == "forge.core.data.compose"


def test_a_moved_function_warns_with_its_old_public_path() -> None:
    expected = r"forge\.core\.logging\.configure .*use forge\.core\.configure_logging"
    with pytest.warns(ForgeDeprecationWarning, match=expected):
        from forge.core._logging import configure  # removed name, served by __getattr__
    assert configure is forge.core.configure_logging
