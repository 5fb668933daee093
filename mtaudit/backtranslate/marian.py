"""The ``marian`` engine: MarianMT models (transformers + sentencepiece) from local folders.

Never downloads: every load passes ``local_files_only=True``, and a folder is used only if
it already holds ``config.json`` and the sentencepiece models. ``marian:PATH`` accepts

- a model folder (``config.json``, ``source.spm``, ``target.spm``, ``vocab.json``): used for
  every direction, which suits a multilingual model (and the tests' tiny model);
- a folder of per-direction models named ``opus-mt-en-es``, ``en-es`` or
  ``Helsinki-NLP--opus-mt-en-es``;
- a Hugging Face hub cache (``models--Helsinki-NLP--opus-mt-en-es/snapshots/<rev>``).

Plain ``marian`` searches the Hugging Face cache (``$HF_HUB_CACHE``, ``$HF_HOME/hub`` or
``~/.cache/huggingface/hub``). transformers 5 dropped ``pipeline("translation")``, so the
engine tokenizes and calls ``MarianMTModel.generate()`` itself. torch and transformers are
imported on first use only: importing transformers alone takes seconds.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtaudit.backtranslate.engine import Engine, EngineError

INSTALL_HINT = "pip install 'mtaudit[marian]'"
_REQUIRED_FILES = ("config.json", "source.spm", "target.spm", "vocab.json")
# Texts per generate() call: bounds padding waste and peak memory on CPU.
BATCH_SIZE = 16
_MAX_INPUT_TOKENS = 256


def hf_cache_dir() -> Path:
    """Where the Hugging Face hub keeps downloaded models (read only here)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".cache" / "huggingface") / "hub"


def is_model_dir(path: Path) -> bool:
    """Whether ``path`` holds a complete Marian model (weights and tokenizer files)."""
    if not all((path / f).is_file() for f in _REQUIRED_FILES):
        return False
    return any((path / w).is_file() for w in ("model.safetensors", "pytorch_model.bin"))


def _snapshot(repo_dir: Path) -> Path | None:
    """The snapshot a hub-cache ``models--ORG--NAME`` folder's ``refs/main`` points at."""
    snaps = repo_dir / "snapshots"
    ref = repo_dir / "refs" / "main"
    if ref.is_file():
        cand = snaps / ref.read_text(encoding="utf-8").strip()
        if is_model_dir(cand):
            return cand
    found = [p for p in snaps.glob("*") if is_model_dir(p)] if snaps.is_dir() else []
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def find_model(root: Path, src: str, tgt: str) -> Path | None:
    """The model folder for ``src -> tgt`` under ``root`` (see the module docstring)."""
    if is_model_dir(root):
        return root
    for name in (f"opus-mt-{src}-{tgt}", f"{src}-{tgt}", f"Helsinki-NLP--opus-mt-{src}-{tgt}"):
        if is_model_dir(root / name):
            return root / name
    repo = root / f"models--Helsinki-NLP--opus-mt-{src}-{tgt}"
    return _snapshot(repo) if repo.is_dir() else None


def missing_packages() -> list[str]:
    """The Python packages the engine needs that are not installed (no import is done)."""
    return [
        m for m in ("torch", "transformers", "sentencepiece") if not importlib.util.find_spec(m)
    ]


class MarianEngine(Engine):
    """MarianMT through transformers, loaded lazily per direction from local folders."""

    name = "marian"

    def __init__(self, path: str | Path | None = None, device: str = "cpu") -> None:
        super().__init__()
        self.root = Path(path).expanduser() if path else hf_cache_dir()
        self.device = device
        self._models: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._signature: str | None = None

    def available(self) -> bool:
        if missing_packages():
            return False
        if is_model_dir(self.root):
            return True
        langs = ("es", "fr", "de", "it", "pt")
        return any(find_model(self.root, a, b) for x in langs for a, b in (("en", x), (x, "en")))

    def unavailable_reason(self) -> str:
        missing = missing_packages()
        if missing:
            return f"the marian engine needs {', '.join(missing)} ({INSTALL_HINT})"
        return (
            f"no Marian model folder at {self.root} (want config.json, source.spm, "
            "target.spm, vocab.json and the weights; mtaudit never downloads models)"
        )

    def supports(self, src: str, tgt: str) -> bool:
        return find_model(self.root, src, tgt) is not None

    @property
    def signature(self) -> str:
        """transformers' version plus a digest of every model folder's config and weights."""
        if self._signature is None:
            h = hashlib.sha256()
            folders = (
                [self.root]
                if is_model_dir(self.root)
                else sorted(
                    {
                        p
                        for x in ("es", "fr", "de", "it", "pt")
                        for a, b in (("en", x), (x, "en"))
                        if (p := find_model(self.root, a, b)) is not None
                    }
                )
            )
            for folder in folders:
                h.update(str(folder.resolve()).encode())
                h.update((folder / "config.json").read_bytes())
                for w in ("model.safetensors", "pytorch_model.bin"):
                    if (folder / w).is_file():
                        st = (folder / w).stat()
                        h.update(f"{w}:{st.st_size}:{int(st.st_mtime)}".encode())
            try:
                from importlib.metadata import version

                tf = version("transformers")
            except Exception:  # noqa: BLE001 - metadata missing is not an error here
                tf = "unknown"
            self._signature = f"marian:transformers-{tf}|{h.hexdigest()[:10]}"
        return self._signature

    def _load(self, src: str, tgt: str) -> tuple[Any, Any]:
        key = (src, tgt)
        if key in self._models:
            return self._models[key]
        folder = find_model(self.root, src, tgt)
        if folder is None:
            raise EngineError(f"no Marian model for {src}->{tgt} under {self.root}")
        try:
            import torch  # noqa: F401 - fail here, clearly, if torch is broken
            from transformers import MarianMTModel, MarianTokenizer
            from transformers.utils import logging as hf_logging

            # Progress bars and the "install sacremoses" hint would land in the user's
            # terminal report; neither is actionable there.
            hf_logging.disable_progress_bar()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tokenizer = MarianTokenizer.from_pretrained(folder, local_files_only=True)
                model = MarianMTModel.from_pretrained(folder, local_files_only=True)
            model.to(self.device)
            model.eval()
        except Exception as exc:  # noqa: BLE001 - any load failure means "use the fallback"
            raise EngineError(f"cannot load the Marian model in {folder}: {exc}") from None
        self._models[key] = (tokenizer, model)
        return tokenizer, model

    def _translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        import torch

        tokenizer, model = self._load(src, tgt)
        out: list[str] = [""] * len(texts)
        todo = [i for i, t in enumerate(texts) if t.strip()]
        # Sort by length so each generate() batch pads little.
        todo.sort(key=lambda i: len(texts[i]))
        for k in range(0, len(todo), BATCH_SIZE):
            idx = todo[k : k + BATCH_SIZE]
            batch = tokenizer(
                [" ".join(texts[i].split()) for i in idx],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=_MAX_INPUT_TOKENS,
            ).to(self.device)
            # A translation is rarely more than twice its source; the bound also stops a
            # degenerate model from looping up to its configured max_length.
            limit = int(batch["input_ids"].shape[1] * 2) + 8
            with torch.inference_mode():
                generated = model.generate(**batch, max_new_tokens=limit)
            decoded = tokenizer.batch_decode(generated, skip_special_tokens=True)
            for i, text in zip(idx, decoded, strict=True):
                out[i] = " ".join(text.split())
        return out

    def close(self) -> None:
        self._models.clear()
