#!/usr/bin/env python3
"""Recall of the idiom detector on real MT output, and its false-positive rate on human text.

Recall: ``tests/data/idioms/dev-LANG.tsv`` holds source sentences (``id<TAB>sentence``), each
using one idiom of ``idioms-LANG.toml``; ``dev-LANG.apertium.txt`` holds Apertium's English
translation of each, one a line. A sentence counts as found when the detector reports its
expected idiom id. An id written ``~id`` marks a sentence whose idiom the MT system rendered
idiomatically ("went too far"): it has no literal idiom, is left out of recall, and must not
be flagged (reported as "idiomatic renderings flagged").

    python scripts/idiom_recall.py                 # recall on the saved Apertium output
    python scripts/idiom_recall.py --regenerate    # re-run `apertium -u spa-eng` first
    python scripts/idiom_recall.py --misses        # also print the sentences it missed
    python scripts/idiom_recall.py --precision ../shared/bench/wmt-de-en/dev.jsonl
    python scripts/idiom_recall.py --lint          # data problems found compiling lexicons

Precision: ``--precision FILE.jsonl`` scans the documents whose ``origin`` is in
``--origins`` (human-written English by default) and prints idiom findings per 10,000
words, each finding with its sentence, so false positives can be inspected.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtaudit.detectors.base import Context  # noqa: E402
from mtaudit.detectors.idiom import IdiomDetector  # noqa: E402
from mtaudit.model import Document, Finding  # noqa: E402
from mtaudit.segment import segment  # noqa: E402

DEV_DIR = ROOT / "tests" / "data" / "idioms"
# Apertium pairs into English; only Spanish is installed here.
APERTIUM_PAIRS = {"es": "spa-eng"}


def read_dev(lang: str, dev_dir: Path = DEV_DIR) -> list[tuple[str, str]]:
    """``(expected idiom id, source sentence)`` pairs of ``dev-LANG.tsv`` (ids may start "~")."""
    pairs = []
    path = dev_dir / f"dev-{lang}.tsv"
    if not path.exists():
        raise SystemExit(f"{path}: no dev set for {lang!r}")
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        iid, sep, sentence = line.partition("\t")
        if not sep or not sentence.strip() or not iid.strip():
            raise SystemExit(f"{path}:{n}: expected 'idiom-id<TAB>sentence'")
        pairs.append((iid.strip(), sentence.strip()))
    return pairs


def literal_ids(expected: Sequence[str]) -> list[str | None]:
    """The idiom id expected to be flagged per line, or None for a "~" (idiomatic) line."""
    return [None if iid.startswith("~") else iid for iid in expected]


def apertium_translate(sentences: Sequence[str], pair: str) -> list[str]:
    """Translate all sentences in ONE apertium process (one sentence a line)."""
    if shutil.which("apertium") is None:
        raise SystemExit("apertium is not installed (Debian: apt-get install apertium-eng-spa)")
    # Newlines are kept by apertium, so line i of the output translates line i.
    clean = [" ".join(s.split()) for s in sentences]
    proc = subprocess.run(
        ["apertium", "-u", pair],
        input="\n".join(clean) + "\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    out = proc.stdout.rstrip("\n").split("\n")
    if len(out) != len(clean):
        raise SystemExit(f"apertium returned {len(out)} lines for {len(clean)} sentences")
    return [line.strip() for line in out]


def detect(detector: IdiomDetector, text: str, doc_id: str = "dev") -> list[Finding]:
    """Idiom findings for one text."""
    doc = Document(doc_id, text)
    return list(detector.detect(doc, segment(text)))


def found_ids(detector: IdiomDetector, text: str, doc_id: str = "dev") -> set[str]:
    """Idiom ids reported for ``text``, counting equally good alternatives.

    A literal shared by idioms of two languages ("swallow toads") is reported once, with
    the other idiom in ``evidence["also"]``.
    """
    return {
        iid
        for f in detect(detector, text, doc_id)
        for iid in [f.evidence["idiom_id"], *f.evidence.get("also", [])]
    }


def recall(
    detector: IdiomDetector, expected: Sequence[str], translations: Sequence[str]
) -> tuple[int, list[int], list[int]]:
    """Evaluate a dev set.

    Returns:
        (literal lines found, indices of missed literal lines, indices of "~" lines that
        were flagged for their idiom anyway).
    """
    misses, wrongly_flagged = [], []
    found = 0
    for i, (iid, text) in enumerate(zip(expected, translations, strict=True)):
        ids = found_ids(detector, text, str(i))
        if iid.startswith("~"):
            if iid[1:] in ids:
                wrongly_flagged.append(i)
        elif iid in ids:
            found += 1
        else:
            misses.append(i)
    return found, misses, wrongly_flagged


def precision(
    detector: IdiomDetector, path: Path, origins: Iterable[str], show: bool = True
) -> tuple[int, int, int]:
    """Scan the JSONL documents of ``origins``: (findings, words, documents)."""
    wanted = set(origins)
    findings = words = docs = 0
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("origin") not in wanted:
                continue
            text = rec["text"]
            docs += 1
            words += len(text.split())
            seg = segment(text)
            for f in detector.detect(Document(str(rec.get("id", docs)), text), seg):
                findings += 1
                if show:
                    s = seg.sentence_at(f.start)
                    context = text[s.start : s.end] if s else text[f.start : f.end]
                    print(f"  {f.code} {f.evidence['idiom_id']} score={f.evidence['score']}")
                    print(f"     {f.text!r} in: {context[:240]}")
    return findings, words, docs


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lang", default="es", help="dev set language (default es)")
    ap.add_argument("--dev-dir", type=Path, default=DEV_DIR)
    ap.add_argument("--regenerate", action="store_true", help="re-run Apertium on the dev set")
    ap.add_argument("--misses", action="store_true", help="print the sentences missed")
    ap.add_argument("--min", type=float, default=0.0, help="exit 1 when recall is below this")
    ap.add_argument("--precision", type=Path, metavar="JSONL", help="scan human-written news")
    ap.add_argument("--origins", default="original-en,human-translation-de")
    ap.add_argument("--lint", action="store_true", help="print lexicon data problems")
    args = ap.parse_args(argv)

    detector = IdiomDetector(Context())
    if args.lint:
        for issue in detector.index.issues:
            print(issue)
        print(f"{len(detector.index.issues)} data problems")

    if args.precision:
        t0 = time.perf_counter()
        n, words, docs = precision(detector, args.precision, args.origins.split(","))
        rate = n / words * 10_000 if words else 0.0
        print(
            f"idiom findings on {args.origins}: {n} in {words} words ({docs} documents) = "
            f"{rate:.2f} per 10,000 words [{time.perf_counter() - t0:.1f}s]"
        )
        return 0

    pairs = read_dev(args.lang, args.dev_dir)
    out_path = args.dev_dir / f"dev-{args.lang}.apertium.txt"
    if args.regenerate:
        if args.lang not in APERTIUM_PAIRS:
            raise SystemExit(f"no Apertium pair into English for {args.lang!r}")
        sentences = [s for _, s in pairs]
        translations = apertium_translate(sentences, APERTIUM_PAIRS[args.lang])
        (args.dev_dir / f"dev-{args.lang}.txt").write_text(
            "\n".join(sentences) + "\n", encoding="utf-8"
        )
        out_path.write_text("\n".join(translations) + "\n", encoding="utf-8")
        print(f"wrote {out_path} ({len(translations)} lines)")
    if not out_path.exists():
        raise SystemExit(f"{out_path} is missing; run with --regenerate")
    translations = out_path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    if len(translations) != len(pairs):
        raise SystemExit(
            f"{out_path}: {len(translations)} lines for {len(pairs)} dev sentences; "
            "run with --regenerate"
        )
    expected = [iid for iid, _ in pairs]
    known = {i["id"] for i in detector.index.idioms}
    unknown = sorted({iid.lstrip("~") for iid in expected} - known)
    if unknown:
        print(f"warning: dev ids not in the lexicons: {', '.join(unknown)}", file=sys.stderr)
    found, misses, flagged = recall(detector, expected, translations)
    literal = found + len(misses)
    idiomatic = len(expected) - literal
    print(f"idiom recall on Apertium dev set: {found}/{literal} = {found / literal:.1%}")
    print(
        f"  ({idiomatic} sentences Apertium renders idiomatically, left out; "
        f"{len(flagged)} of them flagged; over all {len(expected)} sentences: "
        f"{found / len(expected):.1%})"
    )
    if args.misses:
        for i in misses:
            print(f"  MISS {expected[i]}: {pairs[i][1]}\n       -> {translations[i]}")
        for i in flagged:
            print(f"  FLAGGED {expected[i]}: {translations[i]}")
    return 1 if literal and found / literal < args.min else 0


if __name__ == "__main__":
    sys.exit(main())
