#!/usr/bin/env python3
"""Score the idiom detector on the second Spanish set (tests/data/idioms-second).

The set was written after the back-projection matcher and the lexicons were frozen and
scored once (its README gives the figures). Two measures:

- recall: ``dev-es.tsv`` sentences, each with one idiom of ``idioms-es.toml``, translated by
  Apertium spa-eng (``dev-es.apertium.txt``); a line counts as found when the detector
  reports its idiom (as ``scripts/idiom_recall.py`` counts the dev set);
- idiomatic renderings: ``human-en.tsv``, professional-style English for some of them;
  any idiom finding (MT1xx) on a line is a false alarm.

    python scripts/idiom_second_set.py             # on the saved Apertium output
    python scripts/idiom_second_set.py --misses    # also print what it missed or flagged
    python scripts/idiom_second_set.py --regenerate  # re-run `apertium -u spa-eng` first
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import idiom_recall  # noqa: E402

from mtaudit.detectors.base import Context  # noqa: E402
from mtaudit.detectors.idiom import IdiomDetector  # noqa: E402

SET_DIR = ROOT / "tests" / "data" / "idioms-second"


@dataclass
class Score:
    """What one scoring run found."""

    found: int
    literal: int
    misses: list[tuple[str, str, str]]  # (idiom id, Spanish, Apertium's English)
    renderings: int
    flagged: list[tuple[str, str, list[str]]]  # (idiom id, English, idiom ids reported)

    @property
    def recall(self) -> float:
        return self.found / self.literal if self.literal else 0.0


def read_renderings(path: Path) -> list[tuple[str, str]]:
    """``(idiom id, English sentence)`` pairs of ``human-en.tsv``."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        iid, sep, text = line.partition("\t")
        if not sep or not text.strip():
            raise SystemExit(f"{path}:{n}: expected 'idiom-id<TAB>sentence'")
        out.append((iid.strip(), text.strip()))
    return out


def score(detector: IdiomDetector, set_dir: Path = SET_DIR) -> Score:
    """Recall on the Apertium translations and false alarms on the idiomatic renderings."""
    pairs = idiom_recall.read_dev("es", set_dir)
    translations = (set_dir / "dev-es.apertium.txt").read_text(encoding="utf-8").splitlines()
    if len(translations) != len(pairs):
        raise SystemExit(f"{len(translations)} translations for {len(pairs)} sentences")
    expected = [iid for iid, _ in pairs]
    found, missed, _ = idiom_recall.recall(detector, expected, translations)
    misses = [(expected[i], pairs[i][1], translations[i]) for i in missed]
    renderings = read_renderings(set_dir / "human-en.tsv")
    flagged = []
    for k, (iid, text) in enumerate(renderings):
        ids = sorted(idiom_recall.found_ids(detector, text, f"human-{k}"))
        if ids:
            flagged.append((iid, text, ids))
    literal = sum(1 for iid in expected if not iid.startswith("~"))
    return Score(found, literal, misses, len(renderings), flagged)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--misses", action="store_true", help="print misses and false alarms")
    ap.add_argument("--regenerate", action="store_true", help="re-run Apertium on the set")
    args = ap.parse_args(argv)
    if args.regenerate:
        pairs = idiom_recall.read_dev("es", SET_DIR)
        translations = idiom_recall.apertium_translate([s for _, s in pairs], "spa-eng")
        (SET_DIR / "dev-es.apertium.txt").write_text("\n".join(translations) + "\n", "utf-8")
    s = score(IdiomDetector(Context()))
    print(f"idiom recall on the second Apertium set: {s.found}/{s.literal} = {s.recall:.1%}")
    print(f"idiomatic renderings flagged: {len(s.flagged)} of {s.renderings}")
    if args.misses:
        for iid, spanish, english in s.misses:
            print(f"  MISS {iid}: {spanish}\n       -> {english}")
        for iid, english, ids in s.flagged:
            print(f"  FLAGGED {iid}: {english} ({', '.join(ids)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
