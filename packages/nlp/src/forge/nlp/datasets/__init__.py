"""Text datasets."""

from __future__ import annotations

from forge.nlp.datasets.configs import StdlibTextConfig
from forge.nlp.datasets.stdlib_text import LMWindows, build_stdlib_text, select_files, stdlib_root

__all__ = ["LMWindows", "StdlibTextConfig", "build_stdlib_text", "select_files", "stdlib_root"]
