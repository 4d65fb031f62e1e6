"""Every serve config field declares its constraint, and a value breaking one is refused when the config is built.

A new numeric, string or choice field without ``gt=/ge=/lt=/le=/one_of=/non_empty=`` fails
``test_every_field_declares_a_constraint`` until it declares one or is added to ``UNCONSTRAINED``
with the reason.
"""

from __future__ import annotations

from typing import Any

import pytest

from forge.core.config import structure
from forge.core.errors import ConfigError
from forge.core.testing import check_constraints, config_classes

PROVIDER = "serve"
MODULES = ("forge.serve.configs", "forge.serve.payloads.configs")
NOT_CONFIGS: dict[str, str] = {}
EXPECTED = {"ServeConfig", "BatchingConfig", "LimitsConfig", "ApiKeyConfig", "CanaryConfig", "JsonTensorConfig"}
"""Classes the scan must find (``forge serve``'s own config is not registered, so it comes from MODULES)."""
UNCONSTRAINED = {
    "ServeConfig.models": "may be empty when factories serve the models; each path is checked when it is loaded",
    "ServeConfig.factories": "may be empty when models are given; each 'module:attr' is checked when imported",
}


CLASSES = config_classes(PROVIDER, MODULES, exclude=NOT_CONFIGS)


def test_every_field_declares_a_constraint() -> None:
    assert EXPECTED <= {c.__name__ for c in CLASSES}  # the scan finds the plugin's configs
    check_constraints(CLASSES, UNCONSTRAINED)


def _error(cls: type, data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        structure(data, cls, where="cfg")
    return str(info.value)


def _config_class(name: str) -> type:
    return next(c for c in CLASSES if c.__name__ == name)


@pytest.mark.parametrize(
    ("cls", "data", "message"),
    [
        ("ServeConfig", {"port": 70000}, "cfg.port: expected a number >= 0 and <= 65535, got 70000"),
        ("ServeConfig", {"port": -1}, "cfg.port: expected a number >= 0 and <= 65535, got -1"),
        ("ServeConfig", {"workers": 0}, "cfg.workers: expected a number >= 1, got 0"),
        ("ServeConfig", {"host": ""}, "cfg.host: expected non-empty, got ''"),
        ("ServeConfig", {"device": ""}, "cfg.device: expected non-empty, got ''"),
        ("ServeConfig", {"checkpoint": "first"}, "cfg.checkpoint: expected one of 'best', 'last', got 'first'"),
        ("ServeConfig", {"log_format": "text"}, "cfg.log_format: expected one of 'json', 'console', got 'text'"),
        ("ServeConfig", {"batching": {"max_batch_size": 0}}, "cfg.batching.max_batch_size: expected a number >= 1"),
        ("ServeConfig", {"batching": {"max_wait_ms": -1.0}}, "cfg.batching.max_wait_ms: expected a number >= 0, got"),
        ("ServeConfig", {"limits": {"request_timeout_s": 0.0}}, "cfg.limits.request_timeout_s: expected a number > 0"),
        ("ServeConfig", {"limits": {"drain_timeout_s": float("inf")}}, "cfg.limits.drain_timeout_s: expected a finite"),
        (
            "ServeConfig",
            {"api_keys": [{"name": "ci", "roles": ["root"], "env": "X"}]},
            "cfg.api_keys.0.roles.0: expected one of 'predict', 'admin', got 'root'",
        ),
        (
            "ServeConfig",
            {"api_keys": [{"name": "ci", "roles": [], "env": "X"}]},
            "cfg.api_keys.0.roles: expected non-empty (one of 'predict', 'admin'), got []",
        ),
        ("ServeConfig", {"api_keys": [{"name": "", "env": "X"}]}, "cfg.api_keys.0.name: expected non-empty, got ''"),
        (
            "ServeConfig",
            {"api_keys": [{"name": "ci", "env": "X", "rate_per_s": 0.0}]},
            "cfg.api_keys.0.rate_per_s: expected a number > 0, got 0.0",
        ),
        (
            "ServeConfig",
            {"canary": {"model": "m", "version": "v", "share": 1.5}},
            "cfg.canary.share: expected a number >= 0 and <= 1, got 1.5",
        ),
        ("ServeConfig", {"canary": {"model": "m", "version": ""}}, "cfg.canary.version: expected non-empty, got ''"),
        ("ServeConfig", {"tls": {"keyfile_password_env": ""}}, "cfg.tls.keyfile_password_env: expected non-empty"),
        ("JsonTensorConfig", {"dtype": "float8"}, "cfg.dtype: expected one of 'float16', 'bfloat16'"),
        (
            "JsonTensorConfig",
            {"shape": [-1, -2]},
            "cfg.shape: expected each item to be a number >= -1, got -2 at index 1",
        ),
        ("JsonTensorConfig", {"max_elements": 0}, "cfg.max_elements: expected a number >= 1, got 0"),
    ],
)
def test_a_value_breaking_a_declared_constraint_is_refused_naming_key_value_and_expectation(
    cls: str, data: dict[str, Any], message: str
) -> None:
    assert message in _error(_config_class(cls), data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"canary": {"model": "m", "version": "v", "min_requests": 300}},
            "cfg.canary: min_requests, window: expected min_requests <= window, got 300 and 200",
        ),
        (
            {"api_keys": [{"name": "ci"}]},
            "env, file: api key 'ci' needs exactly one of 'env' (a variable) or 'file' (a secret file), got env=None "
            "and file=None",
        ),
        (
            {"api_keys": [{"name": "ci", "env": "X", "file": "/run/secret"}]},
            "got env='X' and file='/run/secret'",
        ),
    ],
)
def test_a_cross_field_rule_names_both_keys_and_values(data: dict[str, Any], message: str) -> None:
    assert message in _error(_config_class("ServeConfig"), data)


def test_a_config_built_in_python_is_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"^max_batch_size: expected a number >= 1, got 0$"):
        _config_class("BatchingConfig")(max_batch_size=0)


def test_port_zero_stays_valid_it_picks_a_free_port() -> None:
    assert structure({"port": 0}, _config_class("ServeConfig")).port == 0
