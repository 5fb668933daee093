"""Back-translation by category: the time fluency findings cost and what they change.

Audits the first N documents of ``../shared/bench/wmt-de-en/dev.jsonl`` with the default
back-translated categories (idiom, calque, untranslated) or with fluency added, each in a
fresh process with a cold translation cache and no result cache, and prints one JSON line:
wall and CPU time (the engine's processes apart), time in back-translation, engine calls and texts, and each finding's category,
confidence and verdict inputs (``--dump``) so two runs can be compared.

    .venv/bin/python bench/bench_bt_categories.py --categories default --dump a.json
    .venv/bin/python bench/bench_bt_categories.py --categories all --dump b.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mtaudit.backtranslate import (  # noqa: E402
    DEFAULT_CATEGORIES,
    SUSPECT_CATEGORIES,
    BackTranslator,
)
from mtaudit.ingest import iter_inputs  # noqa: E402
from mtaudit.model import Document  # noqa: E402
from mtaudit.pipeline import AuditOptions, Auditor  # noqa: E402

DEV = ROOT.parent / "shared" / "bench" / "wmt-de-en" / "dev.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--categories", choices=("default", "all"), default="default")
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--dump", type=Path, help="write every finding here (JSON)")
    args = parser.parse_args()
    if not DEV.is_file():
        sys.exit(f"skipped: {DEV} not found (the shared bench data)")
    categories = DEFAULT_CATEGORIES if args.categories == "default" else SUSPECT_CATEGORIES
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "dev.jsonl"
        with DEV.open(encoding="utf-8") as src:
            sample.write_text("".join(itertools.islice(src, args.docs)), encoding="utf-8")
        docs = [d for d in iter_inputs([str(sample)]) if isinstance(d, Document)]
        bt = BackTranslator(args.engine, cache_dir=Path(tmp) / "mt", categories=categories)
        auditor = Auditor(AuditOptions(mt=args.engine), backtranslator=bt)
        for det in auditor.detectors:
            det.preload()
        spent = [0.0]
        annotate = bt.annotate

        def timed(*a, **kw):  # the time inside back-translation, engine start included
            t = time.perf_counter()
            try:
                return annotate(*a, **kw)
            finally:
                spent[0] += time.perf_counter() - t

        bt.annotate = timed  # type: ignore[method-assign]
        start, cpu = time.perf_counter(), time.process_time()
        reports = [auditor.audit(d) for d in docs]
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        engine = bt.engine
        auditor.close()
        bt.close()  # reaps the Apertium stages: their CPU time is counted below
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    findings = [
        {
            "doc": r.document.id,
            "code": f.code,
            "category": f.category,
            "start": f.start,
            "confidence": f.confidence,
            "back_translated": "back_translation" in f.evidence,
        }
        for r in reports
        for f in r.findings
    ]
    verdicts = {r.document.id: (r.verdict, r.mt_probability) for r in reports}
    out = {
        "categories": sorted(categories),
        "engine": engine.signature,
        "documents": len(docs),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "engine_cpu_s": round(children.ru_utime + children.ru_stime, 2),
        "back_translation_s": round(spent[0], 2),
        "engine_calls": engine.calls,
        "engine_texts": engine.texts_translated,
        "findings": len(findings),
        "back_translated": sum(f["back_translated"] for f in findings),
    }
    print(json.dumps(out))
    if args.dump:
        args.dump.write_text(json.dumps({"findings": findings, "verdicts": verdicts}))


if __name__ == "__main__":
    main()
