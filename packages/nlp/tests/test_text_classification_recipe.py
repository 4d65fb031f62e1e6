"""The nlp/text-classification recipe: its shipped data is what the generator makes, and it trains."""

from __future__ import annotations

import csv
import io
import random
from importlib import resources
from pathlib import Path

import pytest

from forge.core import registry

DATA_FILE = "text-classification.csv"
TOPICS = {
    "sport": (
        ["the striker", "our goalkeeper", "the home team", "the coach", "a young sprinter", "the referee"],
        ["scored twice in", "was sent off during", "celebrated after", "trained hard before", "lost badly in"],
        ["the cup final", "the derby", "the marathon", "the penalty shootout", "the league match"],
    ),
    "weather": (
        ["heavy rain", "a cold front", "the storm", "thick fog", "a heatwave", "strong wind"],
        ["is expected over", "swept across", "will clear from", "brought snow to", "lingered above"],
        ["the northern hills", "the coast", "the valley", "the city tonight", "the islands by morning"],
    ),
    "food": (
        ["the chef", "my grandmother", "the bakery", "a street vendor", "the new bistro", "our cook"],
        ["slowly roasted", "served warm", "baked fresh", "seasoned with herbs", "fried in butter"],
        ["the lamb stew", "a lemon tart", "the sourdough bread", "spicy noodles", "the mushroom soup"],
    ),
}
ENDINGS = ["", " today", " again", " this week", " as usual", " once more"]


def generate(n: int = 300, seed: int = 12) -> str:
    """The shipped CSV: ``n`` template sentences, topics in rotation, words drawn from ``seed``."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["text", "label"])
    names = sorted(TOPICS)
    for i in range(n):
        topic = names[i % len(names)]
        subjects, verbs, objects = TOPICS[topic]
        sentence = f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}{rng.choice(ENDINGS)}."
        writer.writerow([sentence[0].upper() + sentence[1:], topic])
    return out.getvalue()


def test_shipped_data_is_the_generators_output() -> None:
    shipped = resources.files("forge.nlp.recipes").joinpath(DATA_FILE).read_text(encoding="utf-8")
    assert shipped == generate()


def test_recipe_is_registered_and_names_the_shipped_data() -> None:
    from forge.nlp.recipes import recipe_text

    spec = registry.get("recipe", "nlp.text-classification")
    assert spec.provider == "nlp"
    text = recipe_text("text-classification")
    assert f'path = "forge.nlp.recipes:{DATA_FILE}"' in text
    assert 'name = "nlp.encoder_classifier"' in text


def test_recipe_trains_a_few_steps_and_beats_chance(tmp_path: Path) -> None:
    if not any(s.name == "nlp.encoder_classifier" for s in registry.list("model")):
        pytest.skip("nlp.encoder_classifier is not registered (forge-nlp's models are missing)")
    import torch

    from forge.core import run_recipe

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: one thread is faster than two fighting other processes
    try:
        result = run_recipe(
            "nlp.text-classification",
            ["trainer.max_steps=40", "trainer.val_every_n_steps=20", "trainer.checkpoint.keep_best=0"],
            run_dir=tmp_path / "run",
        )
    finally:
        torch.set_num_threads(threads)
    assert result.fit.global_step == 40
    assert result.metrics["test/accuracy"] > 0.6  # three balanced topics: chance is 1/3
    # the run's tokenizer is rebuilt from its config and data, kept in the run, and encodes as in training
    from forge.nlp.datasets import build_text_classification, tokenizer_from_run
    from forge.nlp.datasets.configs import TextClassificationConfig

    tok = tokenizer_from_run(tmp_path / "run")
    assert (tmp_path / "run" / "tokenizer" / "tokenizer.json").is_file()
    splits = build_text_classification(TextClassificationConfig(
        path=f"forge.nlp.recipes:{DATA_FILE}", label_names=("food", "sport", "weather"), vocab_size=512, max_length=48,
        val_fraction=0.15, test_fraction=0.15,
    ))
    ids, _ = splits.train[0]  # type: ignore[index]
    text = splits.train.rows[0].text  # type: ignore[union-attr]
    assert tok.encode(text) == [i for i in ids.tolist() if i != tok.pad_id]
    assert tokenizer_from_run(tmp_path / "run").encode(text) == tok.encode(text)  # loaded from the run now
