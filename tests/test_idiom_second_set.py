"""The second Spanish idiom set (tests/data/idioms-second), written after the matcher was
frozen and scored once: its README has the figure (171/175). This keeps the issue's
targets as a regression check, not that figure: recall >= 90% on Apertium's literal
renderings, and no idiom finding on the idiomatic English renderings."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mtaudit.backtranslate.lexical import pair_files
from mtaudit.detectors.base import Context
from mtaudit.detectors.idiom import IdiomDetector

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import idiom_second_set  # noqa: E402


@pytest.mark.skipif(pair_files("es") is None, reason="Debian's apertium-eng-spa is not installed")
def test_second_set_recall_and_idiomatic_renderings():
    with IdiomDetector(Context()) as detector:
        score = idiom_second_set.score(detector)
    assert score.literal >= 150 and score.renderings >= 50
    assert score.recall >= 0.90, score.misses
    assert score.flagged == []
