"""Attention maps, rollout (checked against the formula by hand) and the token heatmap."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from forge.core.errors import DataError
from forge.nlp.explain import attention_maps, attention_rollout, save_heatmap, token_importance


class TinyAttention(nn.Module):
    """Two layers of explicit-softmax self-attention with two heads, exposing its probabilities."""

    def __init__(self, vocab: int = 10, dim: int = 8, heads: int = 2, layers: int = 2) -> None:
        super().__init__()
        self.heads = heads
        self.embed = nn.Embedding(vocab, dim)
        self.qk = nn.ModuleList(nn.Linear(dim, 2 * dim) for _ in range(layers))

    def attention_maps(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> list[Tensor]:
        x = self.embed(input_ids)
        b, t, d = x.shape
        maps = []
        for layer in self.qk:
            q, k = layer(x).view(b, t, 2, self.heads, d // self.heads).unbind(2)
            scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / (d // self.heads) ** 0.5
            if attention_mask is not None:
                scores = scores.masked_fill(~attention_mask.bool()[:, None, None, :], float("-inf"))
            probs = scores.softmax(-1)
            maps.append(probs)
            x = x + torch.einsum("bhqk,bkd->bqd", probs, x) / self.heads
        return maps


def test_rollout_matches_a_hand_computed_example() -> None:
    # layer 1: heads [[.5,.5],[.25,.75]] and [[.5,.5],[.75,.25]] -> mean [[.5,.5],[.5,.5]]
    # + I -> [[1.5,.5],[.5,1.5]] -> rows / 2 -> A1 = [[.75,.25],[.25,.75]]
    # layer 2: both heads [[1,0],[0,1]] -> + I -> [[2,0],[0,2]] -> A2 = I
    # layer 3: heads [[0,1],[1,0]] and [[0,1],[0,1]] -> mean [[0,1],[.5,.5]] -> + I -> [[1,1],[.5,1.5]]
    #          -> rows / (2, 2) -> A3 = [[.5,.5],[.25,.75]]
    # rollout = A3 @ A2 @ A1 = [[.5*.75+.5*.25, .5*.25+.5*.75], [.25*.75+.75*.25, .25*.25+.75*.75]]
    #         = [[.5, .5], [.375, .625]]
    layer1 = torch.tensor([[[0.5, 0.5], [0.25, 0.75]], [[0.5, 0.5], [0.75, 0.25]]])
    layer2 = torch.eye(2).expand(2, 2, 2)
    layer3 = torch.tensor([[[0.0, 1.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]])
    maps = [m.unsqueeze(0) for m in (layer1, layer2, layer3)]  # (B=1, heads=2, 2, 2)
    rollout = attention_rollout(maps)
    assert torch.allclose(rollout[0], torch.tensor([[0.5, 0.5], [0.375, 0.625]]), atol=1e-7)
    assert torch.allclose(token_importance(rollout)[0], torch.tensor([0.5, 0.5]))
    # without the residual the product of the head means is taken as is: mean(l3) @ mean(l2) @ mean(l1)
    plain = attention_rollout(maps, residual=False)
    expected = torch.tensor([[0.0, 1.0], [0.5, 0.5]]) @ torch.eye(2) @ torch.tensor([[0.5, 0.5], [0.5, 0.5]])
    assert torch.allclose(plain[0], expected)


def test_rollout_of_a_model_has_stochastic_rows_and_maps_have_every_layer_and_head() -> None:
    torch.manual_seed(0)
    model = TinyAttention(layers=3).train()
    ids = torch.randint(0, 10, (2, 5))
    maps = attention_maps(model, ids)
    assert maps.shape == (3, 2, 2, 5, 5) and model.training  # training mode is restored
    assert torch.allclose(maps.sum(-1), torch.ones(3, 2, 2, 5))
    rollout = attention_rollout(maps)
    assert rollout.shape == (2, 5, 5) and torch.allclose(rollout.sum(-1), torch.ones(2, 5), atol=1e-6)
    single = attention_rollout(maps[:1])
    manual = maps[0].mean(1) + torch.eye(5)
    assert torch.allclose(single, manual / manual.sum(-1, keepdim=True), atol=1e-6)


def test_masked_keys_get_no_attention() -> None:
    model = TinyAttention()
    ids = torch.randint(0, 10, (1, 4))
    mask = torch.tensor([[1, 1, 1, 0]])
    maps = attention_maps(model, ids, mask)
    assert bool((maps[..., 3] == 0).all())


def test_heatmap_png_is_written_with_a_size_set_by_the_tokens(tmp_path: Path) -> None:
    from PIL import Image

    out = save_heatmap(torch.eye(4) * 0.5, ["<bos>", "héllo", "😀", "\n"], tmp_path / "sub" / "map.png",
                       title="layer 0 head 1", cell=10)
    with Image.open(out) as image:
        assert image.format == "PNG"
        pixels = image.convert("RGB")
    width, height = pixels.size
    assert width > 40 and height > 40

    def centre(i: int, j: int) -> tuple[int, int]:  # cells end 4 pixels before the right and bottom edges
        return width - 4 - (4 - j) * 10 + 5, height - 4 - (4 - i) * 10 + 5

    assert pixels.getpixel(centre(3, 3)) == (253, 231, 37)  # the peak: top of the colour ramp
    assert pixels.getpixel(centre(0, 0)) == (253, 231, 37)
    assert pixels.getpixel(centre(3, 0)) == (68, 1, 84)  # zero: bottom of the ramp


def test_bad_inputs_are_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="has no attention_maps"):
        attention_maps(nn.Linear(2, 2), torch.zeros(1, 2, dtype=torch.long))
    with pytest.raises(DataError, match="expected \\(layers, B, heads, T, T\\)"):
        attention_rollout(torch.rand(2, 3, 3))
    with pytest.raises(DataError, match="3 tokens for a 4x4"):
        save_heatmap(torch.rand(4, 4), ["a", "b", "c"], tmp_path / "x.png")


def test_rollout_of_the_registered_encoder_classifier() -> None:
    from forge.core import registry

    if not any(s.name == "nlp.encoder_classifier" for s in registry.list("model")):
        pytest.skip("nlp.encoder_classifier is not registered (forge-nlp's models are missing)")
    torch.manual_seed(0)
    model = registry.build("model", "nlp.encoder_classifier", vocab_size=20, n_layers=2, n_heads=4, d_model=16)
    ids = torch.randint(1, 20, (2, 6))
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    maps = attention_maps(model, ids, mask)
    assert maps.shape == (2, 2, 4, 6, 6)
    assert float(maps[:, 1, :, :, 4:].abs().max()) == 0.0  # padding receives no attention
    rollout = attention_rollout(maps)
    assert torch.allclose(rollout.sum(-1), torch.ones(2, 6), atol=1e-5)
