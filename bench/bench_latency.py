"""Per-detector latency on fixed texts: what the unit tests used to time.

Speed is measured here, in ``make bench``, not in unit tests, whose pass or fail must not
depend on how loaded the machine is. Three figures, each the median of several runs after
a warm-up run (lexicons loaded, caches warm):

- calque: a 600-word article made of the calque rule cases (``tests/rules/calque.toml``);
- untranslated: a 600-word article with one stray Spanish phrase per sentence;
- idiom: a run-on "sentence" of 14,000 tokens, and the ratio of its time to a quarter
  of it: about 4 is linear; a quadratic matcher would show about 16.

    python bench/bench_latency.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtaudit.analysis import analyse  # noqa: E402
from mtaudit.detectors.base import Context  # noqa: E402
from mtaudit.model import Document  # noqa: E402


def _median_ms(run: Callable[[], object], repeats: int = 5) -> float:
    run()  # warm-up: lexicons, compiled patterns, frequency caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def _detect(detector, text: str) -> Callable[[], list]:
    doc, seg = Document("bench", text), analyse(text)
    return lambda: list(detector.detect(doc, seg))


def calque_article() -> str:
    """600 words from the calque rule cases, in file order."""
    cases = tomllib.loads((ROOT / "tests" / "rules" / "calque.toml").read_text("utf-8"))
    words: list[str] = []
    for case in cases.get("case", []):
        words += str(case.get("fail_str") or case.get("pass_str") or "").split()
    return " ".join(words[:600])


def bench() -> dict[str, float]:
    from mtaudit.detectors.calque import CalqueDetector
    from mtaudit.detectors.idiom import IdiomDetector
    from mtaudit.detectors.untranslated import UntranslatedDetector

    out: dict[str, float] = {}
    out["calque_600_words_ms"] = _median_ms(_detect(CalqueDetector(Context()), calque_article()))
    sentence = (
        "The government said on Tuesday that the talks with the unions would continue "
        "next week, and that the ley de presupuestos would be approved before summer. "
    )
    out["untranslated_600_words_ms"] = _median_ms(
        _detect(UntranslatedDetector(Context()), sentence * 24)
    )
    idiom = IdiomDetector(Context())
    run_on = "the fire and the firewood were thrown "
    long_ms = _median_ms(_detect(idiom, run_on * 2000), repeats=3)
    short_ms = _median_ms(_detect(idiom, run_on * 500), repeats=3)
    out["idiom_run_on_14k_tokens_ms"] = long_ms
    out["idiom_4x_text_time_ratio"] = long_ms / short_ms if short_ms else float("nan")
    print("== detector latency (median of warm runs; speed lives here, not in unit tests)")
    for name, value in out.items():
        print(f"{name:32s} {value:10.2f}")
    return out


if __name__ == "__main__":
    bench()
