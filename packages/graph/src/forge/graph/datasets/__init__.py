"""Graph datasets."""

from __future__ import annotations

from forge.graph.datasets.configs import KarateClubConfig
from forge.graph.datasets.karate import FACTIONS, build_karate_club, karate_club_graph, stratified_node_masks

__all__ = ["FACTIONS", "KarateClubConfig", "build_karate_club", "karate_club_graph", "stratified_node_masks"]
