"""Transform pipelines serialize exactly; the cache is keyed by data and pipeline, safe under workers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from torch.utils.data import Dataset

from forge.core.data._cache import CachedDataset, DiskCache, RamCache, cache_key, decode_sample, encode_sample
from forge.core.data._compose import Compose, Transform, from_config
from forge.core.data._configs import (
    LoaderConfig,
    NormalizeConfig,
    NormalizeTextConfig,
    PIIScrubConfig,
    RandomCropConfig,
    RandomHorizontalFlipConfig,
)
from forge.core.data._loader import build_loader
from forge.core.data._pii import PIIScrubber
from forge.core.data._tensor_transforms import Normalize, RandomCrop, RandomHorizontalFlip
from forge.core.data._text import NormalizeText
from forge.core.errors import ConfigError, DataError, RegistryError


def pipeline() -> Compose:
    return Compose(
        [
            Normalize(NormalizeConfig(mean=[0.5, 0.25], std=[0.5, 2.0])),
            RandomCrop(RandomCropConfig(size=[4, 4], padding=1)),
            RandomHorizontalFlip(RandomHorizontalFlipConfig(p=0.3)),
        ]
    )


def test_pipeline_round_trips_exactly_through_json() -> None:
    for pipe in (
        pipeline(),
        Compose([NormalizeText(NormalizeTextConfig("NFKC")), PIIScrubber(PIIScrubConfig(["email"]))]),
    ):
        config = json.loads(json.dumps(pipe.to_config()))
        rebuilt = from_config(config)
        assert isinstance(rebuilt, Compose)
        assert rebuilt.to_config() == pipe.to_config()
        assert [type(t) for t in rebuilt.transforms] == [type(t) for t in pipe.transforms]


def test_rebuilt_pipeline_computes_the_same() -> None:
    x = torch.rand(2, 4, 4)
    pipe = Compose([Normalize(NormalizeConfig(mean=[0.5, 0.25], std=[0.5, 2.0]))])
    assert torch.equal(from_config(pipe.to_config())(x), pipe(x))


class Scale(Transform):
    """A user transform addressed as module:attr."""

    name: ClassVar[str] = "test_compose_cache:Scale"
    config_class: ClassVar[type[NormalizeTextConfig]] = NormalizeTextConfig

    def __init__(self, config: NormalizeTextConfig) -> None:
        self.config = config

    def __call__(self, sample: Any) -> Any:
        return sample


def test_module_attr_names_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    assert isinstance(from_config({"name": "test_compose_cache:Scale", "params": {"form": "NFD"}}), Scale)
    with pytest.raises((ConfigError, RegistryError), match="core.nope"):
        from_config({"name": "core.nope", "params": {}})
    with pytest.raises(ConfigError, match="no_such_module_here"):
        from_config({"name": "no_such_module_here:Thing", "params": {}})
    with pytest.raises(ConfigError, match="has no attribute 'Missing'"):
        from_config({"name": "test_compose_cache:Missing", "params": {}})
    with pytest.raises(ConfigError, match="unknown keys"):
        from_config({"name": "core.random_hflip", "parms": {}})
    with pytest.raises(ConfigError):
        from_config({"name": "core.random_hflip", "params": {"p": "often"}})
    with pytest.raises(DataError, match="cannot be serialized"):
        Compose([lambda s: s]).to_config()


class Source(Dataset[Any]):
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> Any:
        return torch.full((2, 3), float(index)), index


class Counting(Transform):
    name: ClassVar[str] = "test.counting"
    calls = 0

    def __init__(self, factor: float) -> None:
        self.config = NormalizeConfig(mean=[0.0], std=[factor])

    def __call__(self, sample: Any) -> Any:
        Counting.calls += 1
        x, y = sample
        return {"x": x * self.config.std[0], "meta": [y, "tag", 0.1, None, True]}


def test_ram_cache_computes_once() -> None:
    Counting.calls = 0
    cached = CachedDataset(Source(4), Counting(2.0), fingerprint="fp", store="ram")
    first = [cached[i] for i in range(4)]
    second = [cached[i] for i in range(4)]
    assert Counting.calls == 4 and all(a is b for a, b in zip(first, second, strict=True))


def test_key_changes_with_fingerprint_or_pipeline(tmp_path: Path) -> None:
    store = DiskCache(tmp_path)
    Counting.calls = 0
    a = CachedDataset(Source(3), Counting(2.0), fingerprint="fp1", store=store)
    [a[i] for i in range(3)]
    [CachedDataset(Source(3), Counting(2.0), fingerprint="fp1", store=store)[i] for i in range(3)]
    assert Counting.calls == 3  # a second dataset object with the same key reuses the files
    b = CachedDataset(Source(3), Counting(3.0), fingerprint="fp1", store=store)
    c = CachedDataset(Source(3), Counting(2.0), fingerprint="fp2", store=store)
    assert len({a.key, b.key, c.key}) == 3
    assert torch.equal(b[1]["x"], torch.full((2, 3), 3.0))  # never the stale 2.0 entry
    assert store.invalidate(keep=a.key) == sorted([b.key, c.key])
    assert store.keys() == [a.key]
    manifest = json.loads((tmp_path / a.key / "manifest.json").read_text())
    assert manifest["fingerprint"] == "fp1" and manifest["pipeline"]["name"] == "test.counting"


def test_sample_encoding_round_trip() -> None:
    sample = (torch.arange(3), {"a": [1.5, float("inf"), "é"], "b": None}, True, torch.zeros(0))
    tensors, structure = encode_sample(sample)
    out = decode_sample(tensors, structure)
    assert torch.equal(out[0], sample[0]) and out[1] == sample[1] and out[2] is True and out[3].shape == (0,)
    with pytest.raises(DataError, match="set"):
        encode_sample({1, 2})


def test_torn_file_is_a_miss_and_gets_rewritten(tmp_path: Path) -> None:
    store = DiskCache(tmp_path)
    cached = CachedDataset(Source(2), Counting(1.0), fingerprint="fp", store=store)
    cached[0]
    store.path(cached.key, 0).write_bytes(b"\x10\x00garbage")
    Counting.calls = 0
    assert torch.equal(cached[0]["x"], torch.zeros(2, 3)) and Counting.calls == 1
    assert store.get(cached.key, 0) is not None


def test_disk_cache_filled_by_two_workers(tmp_path: Path) -> None:
    store = DiskCache(tmp_path)
    cached = CachedDataset(Source(12), Counting(2.0), fingerprint="fp", store=store)
    config = LoaderConfig(batch_size=3, num_workers=2, persistent_workers=False)
    for _ in range(2):
        batches = list(build_loader(cached, config, seed=0, collate_fn=list))
        assert sorted(s["meta"][0] for b in batches for s in b) == list(range(12))
    files = sorted(p.name for p in (tmp_path / cached.key).iterdir())
    assert files == sorted(["manifest.json"] + [f"{i:08d}.safetensors" for i in range(12)])  # no temp files left
    assert all(store.get(cached.key, i) is not None for i in range(12))


def test_cache_key_is_order_insensitive_for_params() -> None:
    assert cache_key("f", {"a": 1, "b": 2}) == cache_key("f", {"b": 2, "a": 1}) != cache_key("g", {"a": 1, "b": 2})


def test_ram_cache_bound() -> None:
    store = RamCache(max_items=1)
    store.put("k", 0, 1)
    store.put("k", 1, 2)
    assert len(store) == 1 and store.get("k", 1) is None
