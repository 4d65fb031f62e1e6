"""The nlp/char-lm recipe trains a byte-level GPT through forge's runner, reports perplexity, and samples."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from forge.core import run_recipe
from forge.core.errors import ConfigError
from forge.nlp.generation import main, sample_from_run
from forge.nlp.recipes import RECIPES, recipe_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TINY = [
    "model.d_model=32",
    "model.n_layers=1",
    "model.n_heads=2",
    "model.max_seq_len=32",
    "data.seq_len=32",
    "data.max_files=6",
    "data.max_file_bytes=20000",
    "data.batch_size=8",
    "trainer.max_steps=6",
    "trainer.val_every_n_steps=6",
    "trainer.log_every_n_steps=3",
    "scheduler.warmup_steps=2",
]


def test_recipe_is_shipped_and_wires_gpt_lm_loss_and_perplexity() -> None:
    assert "char-lm" in RECIPES
    recipe = tomllib.loads(recipe_text("char-lm"))
    assert recipe["model"]["name"] == "nlp.gpt" and recipe["model"]["vocab_size"] == 256
    assert recipe["data"]["name"] == "nlp.stdlib_text"
    assert recipe["model"]["max_seq_len"] >= recipe["data"]["seq_len"]
    assert recipe["loss"]["name"] == "nlp.lm_cross_entropy"
    assert recipe["metrics"] == ["core.perplexity"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("char-lm") / "run"
    result = run_recipe("nlp/char-lm", TINY, run_dir=out)
    assert result.fit.global_step == 6
    ppl = result.metrics["val/perplexity"]
    # a model that learned anything beats the uniform 256-way guess; exp(val loss) is the perplexity
    assert math.isfinite(ppl) and 1.0 < ppl < 256.0
    assert ppl == pytest.approx(math.exp(result.metrics["val/loss"]), rel=1e-3)
    return result.run_dir


def test_sampling_from_the_run_continues_the_prompt(run_dir: Path) -> None:
    text = sample_from_run(run_dir, "def ", max_new_tokens=20, seed=1)
    assert text.startswith("def ") and len(text) > len("def ")
    assert sample_from_run(run_dir, "def ", max_new_tokens=20, seed=1) == text  # seeded
    greedy = sample_from_run(run_dir, "import ", max_new_tokens=40, do_sample=False)  # 47 > max_seq_len: slides
    assert greedy.startswith("import ")
    with pytest.raises(ConfigError, match="prompt is empty"):
        sample_from_run(run_dir, "")


def test_command_line_prints_a_sample(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(run_dir), "--prompt", "class ", "--max-new-tokens", "10", "--seed", "3"]) == 0
    assert capsys.readouterr().out.startswith("class ")
