"""Configuration keys: the names a layer may set, their validation and normalisation.

Split from :mod:`mtaudit.config`, which re-exports the public names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtaudit.model import FAIL_ON_VERDICT_CHOICES, Severity, parse_fail_on_verdict

PROJECT_FILE = "mtaudit.toml"
PYPROJECT = "pyproject.toml"
USER_FILE = Path("mtaudit") / "config.toml"

#: lexicon kinds a ``lexicons`` entry may have -> the detector option that takes it
LEXICON_OPTIONS = {
    "idiom": "idiom_files",
    "calque": "calque_files",
    "boilerplate": "boilerplate_files",
}
#: keys that name files, resolved against the folder of the config file
PATH_KEYS = ("lexicons", "vocabulary", "lm_reference", "baseline", "decisions")
#: every key a layer (a file's top level, an override, the command line) may set
SETTINGS = (
    "select",
    "ignore",
    "severity",
    "fail_on",
    "fail_on_verdict",
    "fail_above",
    "min_confidence",
    "model",
    "lexicons",
    "vocabulary",
    "lm",
    "lm_reference",
    "mt",
    "back_translate",
    "baseline",
    "decisions",
)
#: keys of a file's top level only: ``exclude`` says which files are not read at all,
#: so it cannot depend on a file's own overrides
_FILE_ONLY = ("root", "overrides", "per_file", "exclude")
_MT_ENGINES = ("auto", "dictionary", "apertium", "marian", "off")
#: finding categories the back-translator can annotate (``back_translate``)
BACK_TRANSLATE_CATEGORIES = ("idiom", "calque", "untranslated", "fluency")
#: statistical models: cheap features only, or with neural-LM features (``make neural``)
MODELS = ("default", "deep")
_LM_BACKENDS = ("ngram", "transformers")


class _SubKeyError(ValueError):
    """A problem with one entry of a table setting (its line is the entry's)."""

    def __init__(self, sub: str, message: str) -> None:
        self.sub = sub
        super().__init__(message)


class ConfigError(ValueError):
    """A configuration file is wrong; ``str()`` is ``path:line: message``."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path, self.line, self.message = str(path), line, message
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}" if where else message)


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _probability(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a number between 0 and 1, got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"must be between 0 and 1, got {value}")
    return float(value)


def _codes(value: Any) -> tuple[str, ...]:
    if not _str_list(value):
        raise ValueError(f"must be a list of codes or categories, got {value!r}")
    return parse_codes(value)


def parse_codes(value: Sequence[str]) -> tuple[str, ...]:
    """Code prefixes or categories -> normalised prefixes; ValueError on an unknown one."""
    from mtaudit.detectors import Selection, all_rules

    if not value:
        return ()
    # Selection.build normalises categories to prefixes and rejects malformed tokens;
    # a well-formed prefix must still name at least one code ("MT9" is a typo).
    prefixes = Selection.build(list(value), ()).select
    codes = [r.code for r in all_rules()]
    for token, prefix in zip(value, prefixes, strict=True):
        if not any(c.startswith(prefix) for c in codes):
            raise ValueError(f"unknown code {token!r}; 'mtaudit rules' lists them all")
    return prefixes


def _path(value: Any, base: Path) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"must be a file path, got {value!r}")
    return os.path.normpath(base / os.path.expanduser(value))


def _existing(value: Any, base: Path, what: str) -> str:
    path = _path(value, base)
    if not os.path.isfile(path):
        raise ValueError(f"no such {what} file: {path}")
    return path


def _engine(value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.partition(":")[0] not in choices:
        raise ValueError(f"must be one of {', '.join(choices)} (NAME[:PATH]), got {value!r}")
    return value


def normalise_setting(key: str, value: Any, base: Path) -> Any:
    """Validate one setting and return its normalised value.

    Paths are resolved against ``base`` (the config file's folder, or the current folder
    for command-line values). Raises ValueError with a message naming the problem.
    """
    if key in ("select", "ignore"):
        return _codes(value)
    if key == "severity":
        if not isinstance(value, dict):
            raise ValueError('must be a table of CODE = "info|warning|error"')
        out = {}
        for code, level in value.items():
            try:
                (prefix,) = _codes([code])
                if not isinstance(level, str):
                    raise ValueError(f"expected info, warning or error, got {level!r}")
                out[prefix] = Severity.parse(level).label
            except ValueError as exc:
                raise _SubKeyError(code, f"{code}: {exc}") from None
        return tuple(sorted(out.items()))
    if key == "fail_on":
        if not isinstance(value, str):
            raise ValueError(f"expected info, warning or error, got {value!r}")
        return Severity.parse(value).label
    if key == "fail_on_verdict":
        if not isinstance(value, str):
            raise ValueError(f"expected {', '.join(FAIL_ON_VERDICT_CHOICES)}, got {value!r}")
        parse_fail_on_verdict(value)  # ValueError names the choices
        return value.strip().lower()
    if key == "model":
        if value not in MODELS:
            raise ValueError(f"expected {' or '.join(MODELS)}, got {value!r}")
        return value
    if key in ("fail_above", "min_confidence"):
        return _probability(value)
    if key == "lexicons":
        items = [value] if isinstance(value, str) else value
        if not _str_list(items):
            raise ValueError(f"must be a list of lexicon files, got {value!r}")
        return tuple(_lexicon(_existing(v, base, "lexicon")) for v in items)
    if key == "vocabulary":
        items = [value] if isinstance(value, str) else value
        if not _str_list(items):
            raise ValueError(f"must be a vocabulary file (or a list of them), got {value!r}")
        return tuple(_existing(v, base, "vocabulary") for v in items)
    if key == "lm":
        return _engine(value, _LM_BACKENDS)
    if key == "mt":
        return _engine(value, _MT_ENGINES)
    if key == "back_translate":
        items = [value] if isinstance(value, str) else value
        if not _str_list(items) or not items:
            raise ValueError(f"must be a list of finding categories, got {value!r}")
        found = [v.strip().lower() for v in items]
        wrong = [v for v in found if v not in BACK_TRANSLATE_CATEGORIES]
        if wrong:
            raise ValueError(
                f"cannot back-translate {', '.join(map(repr, wrong))}; categories are "
                f"{', '.join(BACK_TRANSLATE_CATEGORIES)}"
            )
        return tuple(sorted(set(found)))
    if key == "lm_reference":
        return _existing(value, base, "LM reference")
    if key in ("baseline", "decisions"):
        # May not exist yet: `--write-baseline` and `mtaudit review` create them.
        return _path(value, base)
    raise ValueError(f"unknown setting {key!r}")  # pragma: no cover - checked by callers


def _lexicon(path: str) -> tuple[str, str]:
    """(kind, path) of a user lexicon; its [meta] kind says which detector reads it."""
    from mtaudit.lexicons import load_file

    kind = load_file(path).kind  # LexiconError names the lexicon's own path:line
    if kind not in LEXICON_OPTIONS:
        raise ValueError(
            f"{path} is a '{kind}' lexicon; extra lexicons may be {', '.join(LEXICON_OPTIONS)}"
        )
    return kind, path
