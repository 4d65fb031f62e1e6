"""Text metrics agree with their reference implementations (sacrebleu, rouge-score, torch)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from forge.core import registry
from forge.core.errors import DataError
from forge.nlp.metrics import (
    BLEU,
    ROUGE,
    TokenAccuracy,
    TokenPerplexity,
    corpus_bleu,
    rouge,
    token_accuracy,
    token_perplexity,
    tokenize_13a,
)

try:
    import sacrebleu
except ImportError:  # pragma: no cover - the test extra is missing
    sacrebleu = None
try:
    from rouge_score import rouge_scorer
except ImportError:  # pragma: no cover - the test extra is missing
    rouge_scorer = None

needs_sacrebleu = pytest.mark.skipif(
    sacrebleu is None, reason="sacrebleu (the test extra) is needed for the comparison with the reference BLEU"
)
needs_rouge_score = pytest.mark.skipif(
    rouge_scorer is None, reason="rouge-score (the test extra) is needed for the comparison with the reference ROUGE"
)

# Words that exercise 13a's rules: punctuation, numbers with dots, commas and dashes, entities,
# brackets, apostrophes, capitals, and non-ASCII words that ROUGE's tokenizer drops.
WORDS = [
    "the", "a", "cat", "dog", "sat", "on", "mat", ",", ".", "!", "?", "3.5", "1,000", "1-2", "x-ray",
    "&", "&amp;", "&quot;", "don't", "(x)", "[y]", "The", "A", "Zürich", "東京", "e.g.", "--", "$5", "U.S.",
]
SENTENCE = st.lists(st.sampled_from(WORDS), max_size=14).map(" ".join)
EXAMPLES = settings(max_examples=80, deadline=None, derandomize=True)


@st.composite
def corpora(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    n = draw(st.integers(1, 8))
    hyps = draw(st.lists(SENTENCE, min_size=n, max_size=n))
    refs = draw(st.lists(st.lists(SENTENCE, min_size=n, max_size=n), min_size=1, max_size=3))
    return hyps, refs


@needs_sacrebleu
@EXAMPLES
@given(corpora())
def test_corpus_bleu_equals_sacrebleu(corpus: tuple[list[str], list[list[str]]]) -> None:
    hyps, refs = corpus
    assert corpus_bleu(hyps, refs) == pytest.approx(sacrebleu.corpus_bleu(hyps, refs).score, abs=1e-6)
    lower = sacrebleu.corpus_bleu(hyps, refs, lowercase=True).score
    assert corpus_bleu(hyps, refs, lowercase=True) == pytest.approx(lower, abs=1e-6)


@needs_sacrebleu
@EXAMPLES
@given(corpora())
def test_bleu_metric_accumulates_batches_to_the_corpus_score(corpus: tuple[list[str], list[list[str]]]) -> None:
    hyps, refs = corpus
    metric = BLEU()
    half = len(hyps) // 2
    metric.update(hyps[:half], [r[:half] for r in refs])
    metric.update(hyps[half:], [r[half:] for r in refs])
    assert float(metric.compute()) == pytest.approx(sacrebleu.corpus_bleu(hyps, refs).score, abs=1e-6)


@needs_sacrebleu
def test_bleu_on_a_realistic_corpus_matches_sacrebleu() -> None:
    hyps = ["The cat sat on the mat.", "It's 3.5 km -- far away, isn't it?", "Hello world!"]
    refs = [["The cat is on the mat.", "It is 3.5 km away, isn't it?", "Hello, world!"],
            ["A cat sat on the mat.", "It's 3.5 km far away.", "Hi world!"]]
    assert corpus_bleu(hyps, refs) == pytest.approx(sacrebleu.corpus_bleu(hyps, refs).score, abs=1e-9)
    assert corpus_bleu(["same text here ok"], [["same text here ok"]]) == pytest.approx(100.0)


@needs_sacrebleu
def test_13a_tokenization_matches_sacrebleu() -> None:
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    line = 'He said: "It\'s 1,000.5 -- x-ray &amp; (y)" 2-3 U.S.'
    assert tokenize_13a(line) == Tokenizer13a()(line).split()


@needs_rouge_score
@EXAMPLES
@given(SENTENCE, SENTENCE)
def test_rouge_equals_rouge_score(prediction: str, reference: str) -> None:
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    expected = scorer.score(reference, prediction)
    got = rouge(prediction, reference)
    for name in ("rouge1", "rouge2", "rougeL"):
        assert got[name] == pytest.approx(expected[name].fmeasure, abs=1e-12), name


@needs_rouge_score
def test_rouge_metric_is_the_mean_over_pairs() -> None:
    preds = ["the cat sat on the mat", "a dog ran", ""]
    refs = ["the cat is on the mat", "the dog ran away", "nothing"]
    metric = ROUGE(rouge_type="rouge2")
    metric.update(preds[:2], refs[:2])
    metric.update(preds[2:], refs[2:])
    scorer = rouge_scorer.RougeScorer(["rouge2"])
    expected = sum(scorer.score(r, p)["rouge2"].fmeasure for p, r in zip(preds, refs, strict=True)) / 3
    assert float(metric.compute()) == pytest.approx(expected, abs=1e-12)


def test_mismatched_streams_are_data_errors() -> None:
    with pytest.raises(DataError, match=r"references\[0\] has 1 segments but there are 2"):
        corpus_bleu(["a", "b"], [["a"]])
    with pytest.raises(DataError, match="not one string"):
        corpus_bleu("a b", [["a b"]])
    with pytest.raises(DataError, match="has 1 segments"):
        ROUGE().update(["a", "b"], ["a"])


def test_token_accuracy_and_perplexity_ignore_padding() -> None:
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 7)
    target = torch.randint(0, 7, (3, 5))
    target[0, 3:] = -100
    target[2, 1:] = -100
    keep = target != -100
    expected_acc = float((logits.argmax(-1)[keep] == target[keep]).double().mean())
    flat = logits.reshape(-1, 7).double()
    expected_nll = torch.nn.functional.cross_entropy(flat, target.reshape(-1), ignore_index=-100)
    assert token_accuracy(logits, target) == pytest.approx(expected_acc)
    assert token_perplexity(logits, target) == pytest.approx(math.exp(float(expected_nll)))
    acc, ppl = TokenAccuracy(), TokenPerplexity()
    for i in range(3):  # batches of one: the same as all at once
        acc.update(logits[i : i + 1], target[i : i + 1])
        ppl.update(logits[i].reshape(5, 7), target[i])  # flattened (N, V) works too
    assert float(acc.compute()) == pytest.approx(expected_acc)
    assert float(ppl.compute()) == pytest.approx(math.exp(float(expected_nll)))


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size() -> None:
    assert token_perplexity(torch.zeros(4, 10, 50), torch.randint(0, 50, (4, 10))) == pytest.approx(50.0)


def test_token_metrics_refuse_mismatched_shapes_and_all_padding() -> None:
    with pytest.raises(DataError, match="same leading shape"):
        TokenAccuracy().update(torch.zeros(2, 3, 4), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(DataError, match="every target is ignore_index"):
        token_accuracy(torch.zeros(2, 4), torch.full((2,), -100))


@pytest.mark.parametrize("name", ["nlp.bleu", "nlp.rouge", "nlp.token_accuracy", "nlp.token_perplexity"])
def test_metrics_build_from_the_registry(name: str) -> None:
    metric = registry.build("metric", name)
    assert hasattr(metric, "update") and hasattr(metric, "compute")


def test_bleu_of_a_hand_counted_example() -> None:
    # 1-4-gram matches 5/6, 3/5, 2/4, 1/3, equal lengths (no brevity penalty): 100 * (1/12) ** 0.25
    score = corpus_bleu(["the cat sat on the mat"], [["the cat sat on a mat"]])
    assert score == pytest.approx(100 * (1 / 12) ** 0.25, abs=1e-9)
    # a hypothesis half as long as its reference pays the brevity penalty exp(1 - 2)
    assert corpus_bleu(["a b c d"], [["a b c d e f g h"]]) == pytest.approx(100 * math.exp(-1), abs=1e-9)
