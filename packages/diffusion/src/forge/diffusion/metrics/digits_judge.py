"""Judging generated digits: a classifier trained on real digits scores samples for their requested class."""

from __future__ import annotations

import attrs
import numpy as np
import torch
from torch import Tensor

from forge.core.errors import DataError
from forge.diffusion.datasets.digits import load_digits_images
from forge.diffusion.datasets.tensors import stratified_indices

__all__ = ["DigitsJudge", "DigitsScore"]


@attrs.frozen
class DigitsScore:
    """How generated digits look to a classifier of real ones.

    Attributes:
        accuracy: Share of samples classified as the class they were generated for.
        coverage: Share of the 10 classes predicted for at least one sample.
        per_class: Accuracy of each requested class (NaN for classes not requested).
    """

    accuracy: float
    coverage: float
    per_class: tuple[float, ...]


class DigitsJudge:
    """A multinomial logistic regression on the real digits' training split (pixels in [-1, 1]).

    Its accuracy on the real test split (:attr:`real_accuracy`, about 0.96) is the ceiling a
    generator's score can be compared with.

    Args:
        seed: The split seed (the default matches the ``diffusion.digits`` dataset's).
        test_fraction: The held-out share.
    """

    def __init__(self, seed: int = 0, test_fraction: float = 0.2) -> None:
        from sklearn.linear_model import LogisticRegression

        images, labels = load_digits_images()
        train, _, test = stratified_indices(labels, 0.0, test_fraction, seed)
        flat = images.reshape(len(images), -1)
        self.classifier = LogisticRegression(max_iter=2000, C=0.5)
        self.classifier.fit(flat[train], labels[train])
        self.real_accuracy = float(self.classifier.score(flat[test], labels[test]))

    def predict(self, images: Tensor) -> np.ndarray:
        """Predicted classes of ``(N, 1, 8, 8)`` images in [-1, 1].

        Raises:
            DataError: the images are not 8x8 single-channel.
        """
        if images.dim() != 4 or tuple(images.shape[1:]) != (1, 8, 8):
            raise DataError(f"DigitsJudge: expected (N, 1, 8, 8) images, got {tuple(images.shape)}")
        flat = images.detach().float().cpu().clamp(-1, 1).reshape(len(images), -1).numpy()
        return np.asarray(self.classifier.predict(flat), dtype=np.int64)

    def score(self, images: Tensor, requested: Tensor) -> DigitsScore:
        """Score samples generated for classes ``requested``.

        Raises:
            DataError: images and labels differ in number.
        """
        if images.shape[0] != requested.shape[0]:
            raise DataError(f"DigitsJudge: {images.shape[0]} images for {requested.shape[0]} labels")
        pred = torch.from_numpy(self.predict(images))
        want = requested.cpu().long()
        hits = (pred == want).double()
        per_class = tuple(float(hits[want == k].mean()) if bool((want == k).any()) else float("nan") for k in range(10))
        return DigitsScore(float(hits.mean()), len(set(pred.tolist())) / 10.0, per_class)
