"""Text metrics: corpus BLEU, ROUGE-1/2/L, token accuracy and perplexity.

Each comes as a pure function and as a ``torchmetrics.Metric`` (what the registry builds). The
metrics keep sufficient statistics as tensors (n-gram match counts and lengths for BLEU, summed
F-measures for ROUGE, token counts), so an epoch's figure is exact whatever the batching and is
gathered across processes by torchmetrics.

- :func:`corpus_bleu` reproduces ``sacrebleu.corpus_bleu`` with its defaults: mteval-v13a
  tokenization, 4-grams, "exp" smoothing, closest reference length (ties to the shorter), several
  references per hypothesis, score on 0-100.
- :func:`rouge` reproduces ``rouge_score.rouge_scorer.RougeScorer`` without stemming: lowercase,
  every run of non-``[a-z0-9]`` characters is a separator, F-measure of n-gram overlap (ROUGE-1/2)
  or longest common subsequence (ROUGE-L). Stemming is not offered.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import Tensor
from torchmetrics import Metric

from forge.core.errors import DataError
from forge.nlp.metric_configs import BLEUConfig, ROUGEConfig, TokenAccuracyConfig, TokenPerplexityConfig

__all__ = [
    "BLEU",
    "ROUGE",
    "ROUGE_TYPES",
    "TokenAccuracy",
    "TokenPerplexity",
    "bleu_statistics",
    "build_bleu",
    "build_rouge",
    "build_token_accuracy",
    "build_token_perplexity",
    "corpus_bleu",
    "rouge",
    "rouge_tokenize",
    "token_accuracy",
    "token_perplexity",
    "tokenize_13a",
]

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
"""The ROUGE variants :func:`rouge` scores."""

# mteval-v13a's regular expressions, in order (as sacrebleu applies them)
_13A = (
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_VALID = re.compile(r"^[a-z0-9]+$")


def tokenize_13a(line: str) -> list[str]:
    """Tokenize one segment as mteval-v13a (and sacrebleu's default ``13a``) does.

    Returns:
        The tokens.
    """
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = f" {line} "
    for pattern, repl in _13A:
        line = pattern.sub(repl, line)
    return line.split()


def _ngrams(tokens: Sequence[str], max_order: int) -> Counter[tuple[str, ...]]:
    counts: Counter[tuple[str, ...]] = Counter()
    for n in range(1, max_order + 1):
        for i in range(len(tokens) - n + 1):
            counts[tuple(tokens[i : i + n])] += 1
    return counts


def _check_pairs(hypotheses: Sequence[str], references: Sequence[Sequence[str]], where: str) -> None:
    if isinstance(hypotheses, str):
        raise DataError(f"{where}: hypotheses must be a sequence of strings, not one string")
    for r, stream in enumerate(references):
        if isinstance(stream, str):
            raise DataError(
                f"{where}: references[{r}] must be a sequence of strings (one per hypothesis), not a string"
            )
        if len(stream) != len(hypotheses):
            raise DataError(
                f"{where}: references[{r}] has {len(stream)} segments but there are {len(hypotheses)} hypotheses"
            )


def bleu_statistics(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    lowercase: bool = False,
    max_ngram_order: int = 4,
) -> list[int]:
    """Corpus BLEU's sufficient statistics: ``[sys_len, ref_len, correct_1..N, total_1..N]``.

    Args:
        hypotheses: One string per segment.
        references: Reference streams, each one string per segment (sacrebleu's layout).
        lowercase: Lowercase everything first.
        max_ngram_order: Longest n-gram.

    Raises:
        DataError: A reference stream's length differs from the hypotheses'.
    """
    _check_pairs(hypotheses, references, "bleu")
    if not references:
        raise DataError("bleu: at least one reference stream is needed")
    stats = [0] * (2 + 2 * max_ngram_order)
    for i, hyp in enumerate(hypotheses):
        refs = [stream[i] for stream in references]
        ref_counts: Counter[tuple[str, ...]] | None = None
        ref_lens: list[int] = []
        for ref in refs:
            tokens = tokenize_13a((ref.lower() if lowercase else ref).rstrip())
            ref_lens.append(len(tokens))
            counts = _ngrams(tokens, max_ngram_order)
            if ref_counts is None:
                ref_counts = counts
            else:
                for gram, c in counts.items():
                    ref_counts[gram] = max(ref_counts[gram], c)
        assert ref_counts is not None  # references is non-empty
        hyp_tokens = tokenize_13a((hyp.lower() if lowercase else hyp).rstrip())
        hyp_len = len(hyp_tokens)
        closest_diff, closest_len = -1, -1
        for ref_len in ref_lens:
            diff = abs(hyp_len - ref_len)
            if closest_diff == -1 or diff < closest_diff:
                closest_diff, closest_len = diff, ref_len
            elif diff == closest_diff and ref_len < closest_len:
                closest_len = ref_len
        stats[0] += hyp_len
        stats[1] += closest_len
        for gram, c in _ngrams(hyp_tokens, max_ngram_order).items():
            n = len(gram) - 1
            stats[2 + max_ngram_order + n] += c
            if gram in ref_counts:
                stats[2 + n] += min(c, ref_counts[gram])
    return stats


def _bleu_from_statistics(stats: Sequence[int], max_ngram_order: int) -> float:
    sys_len, ref_len = stats[0], stats[1]
    correct = stats[2 : 2 + max_ngram_order]
    total = stats[2 + max_ngram_order :]
    bp = 1.0
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    if not any(correct):
        return 0.0
    precisions = [0.0] * max_ngram_order
    smooth = 1.0
    for n in range(max_ngram_order):
        if total[n] == 0:
            break
        if correct[n] == 0:
            smooth *= 2  # "exp" smoothing (mteval-v13a): 1 / 2^k for the k-th zero precision
            precisions[n] = 100.0 / (smooth * total[n])
        else:
            precisions[n] = 100.0 * correct[n] / total[n]
    if any(p == 0.0 for p in precisions):
        return 0.0  # an order with no n-grams at all: sacrebleu's log(0) stand-in gives exactly 0
    return bp * math.exp(sum(math.log(p) for p in precisions) / max_ngram_order)


def corpus_bleu(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    lowercase: bool = False,
    max_ngram_order: int = 4,
) -> float:
    """Corpus BLEU (0-100), equal to ``sacrebleu.corpus_bleu(hypotheses, references).score``.

    Args:
        hypotheses: One string per segment.
        references: Reference streams: ``references[k][i]`` is the k-th reference of segment ``i``.
        lowercase: Lowercase everything first (sacrebleu's ``lowercase=True``).
        max_ngram_order: Longest n-gram.

    Raises:
        DataError: The streams and the hypotheses differ in length.

    Example:
        >>> round(corpus_bleu(["the cat sat on the mat"], [["the cat sat on the mat"]]), 6)
        100.0
    """
    return _bleu_from_statistics(
        bleu_statistics(hypotheses, references, lowercase=lowercase, max_ngram_order=max_ngram_order),
        max_ngram_order,
    )


def rouge_tokenize(text: str) -> list[str]:
    """rouge-score's default tokenization without stemming: lowercase, split on non-``[a-z0-9]``."""
    return [t for t in _NON_ALNUM.sub(" ", text.lower()).split() if _VALID.match(t)]


def _f(overlap: int, pred: int, target: int) -> float:
    precision = overlap / max(pred, 1)
    recall = overlap / max(target, 1)
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, start=1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge(prediction: str, reference: str) -> dict[str, float]:
    """ROUGE-1, ROUGE-2 and ROUGE-L F-measures of one prediction against its reference.

    Equal to ``RougeScorer(["rouge1", "rouge2", "rougeL"]).score(reference, prediction)``'s
    ``fmeasure`` values.

    Returns:
        ``{"rouge1": f, "rouge2": f, "rougeL": f}``, each in [0, 1].

    Example:
        >>> rouge("the cat sat", "the cat sat down")["rouge1"]
        0.8571428571428571
    """
    pred, ref = rouge_tokenize(prediction), rouge_tokenize(reference)
    out: dict[str, float] = {}
    for n, name in ((1, "rouge1"), (2, "rouge2")):
        p = Counter(tuple(pred[i : i + n]) for i in range(len(pred) - n + 1))
        r = Counter(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1))
        overlap = sum(min(c, p[g]) for g, c in r.items())
        out[name] = _f(overlap, sum(p.values()), sum(r.values()))
    out["rougeL"] = 0.0 if not pred or not ref else _f(_lcs(ref, pred), len(pred), len(ref))
    return out


def _flatten_logits(preds: Tensor, target: Tensor, where: str) -> tuple[Tensor, Tensor]:
    if preds.dim() == target.dim() + 1 and preds.shape[:-1] == target.shape:
        return preds.reshape(-1, preds.shape[-1]), target.reshape(-1)
    raise DataError(
        f"{where}: expected logits (..., V) and targets (...) of the same leading shape, "
        f"got {tuple(preds.shape)} and {tuple(target.shape)}"
    )


def token_accuracy(preds: Tensor, target: Tensor, *, ignore_index: int = -100) -> float:
    """Share of targets (other than ``ignore_index``) equal to the arg-max of ``preds``' last dim.

    Raises:
        DataError: The shapes do not match, or every target is ``ignore_index``.
    """
    logits, labels = _flatten_logits(preds, target, "token_accuracy")
    keep = labels != ignore_index
    if not bool(keep.any()):
        raise DataError("token_accuracy: every target is ignore_index; nothing to score")
    return float((logits[keep].argmax(-1) == labels[keep]).double().mean())


def token_perplexity(preds: Tensor, target: Tensor, *, ignore_index: int = -100) -> float:
    """exp of the mean negative log-likelihood of the targets (other than ``ignore_index``).

    Raises:
        DataError: The shapes do not match, or every target is ``ignore_index``.
    """
    logits, labels = _flatten_logits(preds, target, "token_perplexity")
    keep = labels != ignore_index
    if not bool(keep.any()):
        raise DataError("token_perplexity: every target is ignore_index; nothing to score")
    nll = torch.nn.functional.cross_entropy(logits[keep].double(), labels[keep], reduction="mean")
    return float(nll.exp())


class BLEU(Metric):
    """Corpus BLEU over every ``update(hypotheses, references)`` since the last reset (0-100).

    ``references`` is sacrebleu's layout (a list of reference streams) or, for one reference per
    hypothesis, a plain list of strings.
    """

    higher_is_better = True
    full_state_update = False
    stats: Tensor

    def __init__(self, *, lowercase: bool = False, max_ngram_order: int = 4, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lowercase, self.max_ngram_order = lowercase, max_ngram_order
        self.add_state("stats", default=torch.zeros(2 + 2 * max_ngram_order, dtype=torch.int64), dist_reduce_fx="sum")

    def update(self, hypotheses: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]]) -> None:
        """Add segments. Raises DataError when the lengths disagree."""
        if references and isinstance(references[0], str):
            streams: Sequence[Sequence[str]] = [cast("Sequence[str]", references)]  # one stream, given flat
        else:
            streams = references
        stats = bleu_statistics(hypotheses, streams, lowercase=self.lowercase, max_ngram_order=self.max_ngram_order)
        self.stats += torch.tensor(stats, dtype=torch.int64, device=self.stats.device)

    def compute(self) -> Tensor:
        """The corpus BLEU of everything added."""
        stats: list[int] = [int(v) for v in self.stats.tolist()]
        return torch.tensor(_bleu_from_statistics(stats, self.max_ngram_order), dtype=torch.float64)


class ROUGE(Metric):
    """Mean ROUGE F-measure of ``update(predictions, references)`` pairs since the last reset (0-1)."""

    higher_is_better = True
    full_state_update = False
    total: Tensor
    count: Tensor

    def __init__(self, *, rouge_type: str = "rougeL", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if rouge_type not in ROUGE_TYPES:
            raise DataError(f"rouge: unknown type {rouge_type!r}; known: {', '.join(ROUGE_TYPES)}")
        self.rouge_type = rouge_type
        self.add_state("total", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros((), dtype=torch.int64), dist_reduce_fx="sum")

    def update(self, predictions: Sequence[str], references: Sequence[str]) -> None:
        """Add pairs. Raises DataError when the lengths disagree."""
        _check_pairs(predictions, [references], "rouge")
        total = sum(rouge(p, r)[self.rouge_type] for p, r in zip(predictions, references, strict=True))
        self.total += total
        self.count += len(predictions)

    def compute(self) -> Tensor:
        """The mean F-measure (0 when nothing was added)."""
        return self.total / self.count.clamp(min=1)


class TokenAccuracy(Metric):
    """Token accuracy from logits ``(..., V)`` and targets ``(...)``, leaving ``ignore_index`` out."""

    higher_is_better = True
    full_state_update = False
    correct: Tensor
    count: Tensor

    def __init__(self, *, ignore_index: int = -100, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_index = ignore_index
        self.add_state("correct", default=torch.zeros((), dtype=torch.int64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros((), dtype=torch.int64), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Add a batch. Raises DataError for mismatched shapes."""
        logits, labels = _flatten_logits(preds, target, "token_accuracy")
        keep = labels != self.ignore_index
        self.correct += (logits.argmax(-1)[keep] == labels[keep]).sum()
        self.count += keep.sum()

    def compute(self) -> Tensor:
        """Correct / counted tokens (0 when nothing was counted)."""
        return self.correct.double() / self.count.clamp(min=1)


class TokenPerplexity(Metric):
    """Perplexity from logits ``(..., V)`` and targets ``(...)``, leaving ``ignore_index`` out."""

    higher_is_better = False
    full_state_update = False
    nll: Tensor
    count: Tensor

    def __init__(self, *, ignore_index: int = -100, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_index = ignore_index
        self.add_state("nll", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros((), dtype=torch.int64), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Add a batch. Raises DataError for mismatched shapes."""
        logits, labels = _flatten_logits(preds, target, "token_perplexity")
        keep = labels != self.ignore_index
        if bool(keep.any()):
            nll = torch.nn.functional.cross_entropy(logits[keep].double(), labels[keep], reduction="sum")
            self.nll += nll
            self.count += keep.sum()

    def compute(self) -> Tensor:
        """exp(summed NLL / counted tokens); NaN when nothing was counted."""
        if int(self.count) == 0:
            return torch.tensor(float("nan"), dtype=torch.float64)
        return (self.nll / self.count).exp()


def build_bleu(config: BLEUConfig) -> Metric:
    """Build :class:`BLEU` from its config."""
    return BLEU(
        lowercase=config.lowercase, max_ngram_order=config.max_ngram_order, sync_on_compute=config.sync_on_compute
    )


def build_rouge(config: ROUGEConfig) -> Metric:
    """Build :class:`ROUGE` from its config."""
    return ROUGE(rouge_type=config.rouge_type, sync_on_compute=config.sync_on_compute)


def build_token_accuracy(config: TokenAccuracyConfig) -> Metric:
    """Build :class:`TokenAccuracy` from its config."""
    return TokenAccuracy(ignore_index=config.ignore_index, sync_on_compute=config.sync_on_compute)


def build_token_perplexity(config: TokenPerplexityConfig) -> Metric:
    """Build :class:`TokenPerplexity` from its config."""
    return TokenPerplexity(ignore_index=config.ignore_index, sync_on_compute=config.sync_on_compute)
