"""Graph neural network models. Light to import: each name loads (with torch) on first access."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core import lazy_exports

if TYPE_CHECKING:
    from forge.graph.models.configs import GraphClassifierConfig as GraphClassifierConfig
    from forge.graph.models.configs import LinkPredictorConfig as LinkPredictorConfig
    from forge.graph.models.configs import NodeClassifierConfig as NodeClassifierConfig
    from forge.graph.models.gnn import GraphClassifier as GraphClassifier
    from forge.graph.models.gnn import LinkPredictor as LinkPredictor
    from forge.graph.models.gnn import NodeClassifier as NodeClassifier

__getattr__, __dir__ = lazy_exports(__name__, __file__)
