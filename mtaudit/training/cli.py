"""``python -m mtaudit.training``: train the document scorer and write its weights file.

Heavy modules (scikit-learn, scipy) load after the command line is parsed, so ``--help``
works without the ``train`` extra, and a missing extra is one clear error.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import mtaudit.training as package
from mtaudit.model_score import DEEP_WEIGHTS_PATH, WEIGHTS_PATH
from mtaudit.training.data import deep_sample, describe_files, load_records
from mtaudit.training.docfeatures import DeepCache, featurize, fluency_featurizer
from mtaudit.training.markers import findings_of
from mtaudit.training.params import DEFAULT_DATA, DEFAULT_MARKERS


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m mtaudit.training",
        description=(package.__doc__ or "").split("\n\n")[0],
    )
    ap.add_argument(
        "--data",
        action="append",
        help="labelled JSONL file (repeatable; default: the four shared WMT sets)",
    )
    ap.add_argument(
        "--markers",
        default=DEFAULT_MARKERS,
        help="JSONL with literal MT ('mt') and human translations of the same texts, for the "
        "marker weights (default: %(default)s)",
    )
    ap.add_argument("--out", default=str(WEIGHTS_PATH))
    ap.add_argument(
        "--deep-out", default=str(DEEP_WEIGHTS_PATH), help="where --deep writes its head"
    )
    ap.add_argument(
        "--deep-cache",
        metavar="FILE",
        help="keep --deep's features in FILE (JSON, by text and LM signature) so a rerun "
        "skips the LM; never committed",
    )
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument(
        "--fluency",
        choices=("auto", "on", "off"),
        default="auto",
        help="use the fluency detector's features (auto: when it loads)",
    )
    ap.add_argument(
        "--deep",
        choices=("auto", "on", "off"),
        default="off",
        help="also fit the machine_deep head on SmolLM2 features and write --deep-out (needs "
        "'make neural'; about 1 s of CPU for each of ~3,300 sampled documents)",
    )
    args = ap.parse_args(argv)
    try:  # scikit-learn and scipy come with the train extra
        from mtaudit.training.build import build_all, write_weights
    except ImportError as exc:
        ap.error(f"training needs the train extra (pip install -e '.[train]'): {exc}")
    data = args.data or list(DEFAULT_DATA)
    try:
        records = load_records(data)
        literal = load_records([args.markers]) if args.markers else []
    except ValueError as exc:
        ap.error(str(exc))
    flu = None if args.fluency == "off" else fluency_featurizer()
    if args.fluency == "on" and flu is None:
        ap.error("--fluency on, but the fluency detector could not be loaded")
    deep = None
    if args.deep != "off":
        from mtaudit import deep as deep_module

        try:
            deep = deep_module.featurizer()
        except deep_module.DeepUnavailable as exc:
            if args.deep == "on":
                ap.error(f"--deep on, but {exc}")
    cache = None
    if deep is not None and args.deep_cache:
        cache = DeepCache(args.deep_cache, deep)
        deep = cache
    docs = featurize(records, flu, deep=deep, deep_mask=deep_sample(records) if deep else None)
    if cache is not None:
        cache.save()
    try:
        weights, deep_weights = build_all(
            records,
            docs,
            findings_of(records),
            args.seed,
            literal,
            findings_of(literal),
            describe_files(
                [*data, *([args.markers] if args.markers else [])], [*records, *literal]
            ),
            fluency_lm=getattr(flu, "lm_signature", None),
            deep_lm=getattr(deep, "lm_signature", None),
        )
    except ValueError as exc:  # e.g. one class only, or one language pair
        ap.error(f"cannot train on {', '.join(data)}: {exc}")
    write_weights(weights, args.out)
    size = Path(args.out).stat().st_size
    print(f"wrote {args.out}: {size / 1024:.0f} KiB, signature {weights['signature'][:16]}")
    if deep_weights is not None:
        write_weights(deep_weights, args.deep_out)
        print(f"wrote {args.deep_out}: signature {deep_weights['signature'][:16]}")
    heads = dict(weights["heads"])
    thresholds = dict(weights["thresholds"])
    if deep_weights is not None:
        heads["machine_deep"] = deep_weights["head"]
        thresholds["machine_deep"] = deep_weights["thresholds"]
    for name, head in heads.items():
        cal = head["calibration"]
        print(
            f"  head {name}: {sum(1 for c in head['ngram_coef'] if c)} n-grams, "
            f"{len(head['dense']['names'])} dense features, held-out ECE {cal['ece_heldout']}"
        )
    for name, th in thresholds.items():
        h = th["heldout"]
        print(
            f"  verdicts ({name}): machine-translated >= {th['machine_translated']}, suspect >= "
            f"{th['suspect']}; held out: MT caught {h['mt_caught']}, human translations "
            f"flagged {h['ht_flagged']}, precision {h['precision_mt_vs_ht']}"
        )
    for cat, m in weights["markers"].items():
        print(
            f"  marker {cat}: weight {m['weight']} (precision {m['precision_at_even_odds']}; per "
            f"10k words: literal MT {m['per_10k_words_literal']}, neural MT "
            f"{m.get('per_10k_words_neural')}, human {m['per_10k_words_human']})"
        )
    return 0
