"""The one content digest: canonical JSON, SHA-256, 64 hex digits, used by every caller."""

from __future__ import annotations

import hashlib
import json

import pytest

from forge.core._deprecated import ForgeDeprecationWarning
from forge.core._digest import canonical_json, digest
from forge.core._run import config_hash
from forge.core.data import digest as public_digest
from forge.core.data._cache import cache_key
from forge.core.errors import DataError


def test_digest_ignores_key_order_and_refuses_what_json_cannot_hold() -> None:
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1})
    assert digest({"a": 1}) != digest({"a": 2})
    for bad in ({"a": float("nan")}, {"a": {1, 2}}, {"a": object()}):
        with pytest.raises(DataError, match="canonical JSON"):
            digest(bad)


def test_digest_is_the_checkpoint_manifest_hash_of_forge_core_0_1() -> None:
    body = {"manifest": {"name": "ünïcode ✓", "lr": 0.1, "n": None}, "files": {"model.safetensors": "ab"}}
    # What forge-core 0.1's checkpoint.py computed; manifests on disk carry this value.
    old = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()
    assert digest(body) == old
    assert canonical_json(body) == json.dumps(body, sort_keys=True, separators=(",", ":"))


def test_every_caller_uses_the_one_digest() -> None:
    config = {"model": {"name": "core.mlp"}, "seed": 0}
    assert public_digest is digest
    assert config_hash(config) == digest(config)
    assert cache_key("abc", [{"name": "x"}]) == digest(
        {"fingerprint": "abc", "pipeline": [{"name": "x"}], "scheme": "cache:v1"}
    )
    assert len(digest(config)) == 64 and int(digest(config), 16) >= 0


def test_old_fingerprint_names_warn_and_still_work() -> None:
    from forge.core.data import fingerprint

    with pytest.warns(ForgeDeprecationWarning, match="forge.core.data.digest"):
        assert fingerprint.fingerprint_config({"a": 1}) == digest({"a": 1})
    with pytest.warns(ForgeDeprecationWarning, match="canonical_json"):
        assert fingerprint.canonical_json({"b": 1, "a": 2}) == '{"a":2,"b":1}'
