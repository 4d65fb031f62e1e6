"""Graph datasets. Light to import: each name loads (with torch) on first access."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core import lazy_exports

if TYPE_CHECKING:
    from forge.graph.datasets.configs import CyclesTreesConfig as CyclesTreesConfig
    from forge.graph.datasets.configs import EdgeListConfig as EdgeListConfig
    from forge.graph.datasets.configs import KarateClubConfig as KarateClubConfig
    from forge.graph.datasets.configs import SBMConfig as SBMConfig
    from forge.graph.datasets.edgelist import build_edge_list as build_edge_list
    from forge.graph.datasets.karate import FACTIONS as FACTIONS
    from forge.graph.datasets.karate import build_karate_club as build_karate_club
    from forge.graph.datasets.karate import karate_club_graph as karate_club_graph
    from forge.graph.datasets.karate import stratified_node_masks as stratified_node_masks
    from forge.graph.datasets.sbm import build_sbm as build_sbm
    from forge.graph.datasets.sbm import sbm_graph as sbm_graph
    from forge.graph.datasets.synthetic import GraphList as GraphList
    from forge.graph.datasets.synthetic import build_cycles_trees as build_cycles_trees

__getattr__, __dir__ = lazy_exports(__name__, __file__)
