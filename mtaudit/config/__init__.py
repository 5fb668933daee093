"""Configuration files: ``[tool.mtaudit]`` in ``pyproject.toml`` or a top-level ``mtaudit.toml``.

Layers, from weakest to strongest:

1. the user's file, ``$XDG_CONFIG_HOME/mtaudit/config.toml`` (else ``~/.config/...``);
2. project files, from the project root down to the folder of the scanned file (nearer
   overrides farther). Walking up from a file's folder, every folder's ``mtaudit.toml``
   (else ``pyproject.toml`` with a ``[tool.mtaudit]`` table) is a layer; the walk stops
   at the project root (a folder holding ``.git`` or ``pyproject.toml``) or at a file
   that says ``root = true``;
3. ``--config FILE``;
4. command-line flags.

Each file's ``[[overrides]]`` (``files = [globs]``, relative to the file's folder) and
``[per-file."glob"]`` tables apply right after that file's own keys, to matching files.

Scalars (``fail_on``, ``lm``, ...) are replaced by a stronger layer; ``severity`` tables
are merged key by key; ``lexicons`` and ``vocabulary`` accumulate. ``select``/``ignore``
follow ruff: a layer's ``select`` starts over, its ``ignore`` subtracts from what it
inherited, and inside one layer the most specific entry wins (as :class:`Selection`).

Errors name ``path:line`` (the line of the offending key, found by scanning the text,
since TOML parsers keep no positions) and the CLI exits 2 on them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# One file's parsing and the keys' validation live in sibling modules; every public name
# stays importable from here.
from mtaudit.config.files import ConfigFile, KeyLines, Layer, parse_file
from mtaudit.config.settings import (
    LEXICON_OPTIONS,
    MODELS,
    PATH_KEYS,
    PROJECT_FILE,
    PYPROJECT,
    SETTINGS,
    USER_FILE,
    ConfigError,
    normalise_setting,
    parse_codes,
)
from mtaudit.model import DEFAULT_FAIL_ON_VERDICT

__all__ = [
    "LEXICON_OPTIONS",
    "MODELS",
    "PATH_KEYS",
    "PROJECT_FILE",
    "PYPROJECT",
    "SETTINGS",
    "USER_FILE",
    "Config",
    "ConfigError",
    "ConfigFile",
    "ConfigResolver",
    "KeyLines",
    "Layer",
    "cli_layer",
    "config_file_in",
    "load_config",
    "merge",
    "normalise_setting",
    "parse_codes",
    "parse_file",
    "user_config_path",
]

# ---------------------------------------------------------------- the effective config


@dataclass(frozen=True)
class Config:
    """The effective settings for one file (hashable: one Auditor per distinct Config).

    ``select``/``ignore`` are the final selection (see the module docstring for how layers
    combine); defaults are the CLI's.
    """

    select: tuple[str, ...] = ("MT",)
    ignore: tuple[str, ...] = ()
    severity: tuple[tuple[str, str], ...] = ()
    fail_on: str = "error"
    fail_on_verdict: str = DEFAULT_FAIL_ON_VERDICT
    fail_above: float | None = None
    min_confidence: float = 0.0
    model: str = "default"
    lexicons: tuple[tuple[str, str], ...] = ()
    vocabulary: tuple[str, ...] = ()
    lm: str = "ngram"
    lm_reference: str | None = None
    mt: str = "auto"
    #: the finding categories back-translated (None: idiom, calque and untranslated)
    back_translate: tuple[str, ...] | None = None
    baseline: str | None = None
    decisions: str | None = None
    #: the layers that made it, weakest first (for messages; not part of equality)
    sources: tuple[str, ...] = field(default=(), compare=False)

    def detector_options(self) -> dict[str, Any]:
        """The detectors' options: LM choice, extra lexicons, accepted vocabulary."""
        options: dict[str, Any] = {"lm": self.lm, "lm_reference": self.lm_reference}
        for kind, path in self.lexicons:
            options.setdefault(LEXICON_OPTIONS[kind], []).append(path)
        for key in LEXICON_OPTIONS.values():
            if key in options:
                options[key] = tuple(options[key])
        if self.vocabulary:
            options["vocabulary_files"] = self.vocabulary
        return options


def merge(layers: Iterable[Layer]) -> Config:
    """Combine layers, weakest first, into the effective :class:`Config`."""
    scalars: dict[str, Any] = {}
    severity: dict[str, str] = {}
    lexicons: list[tuple[str, str]] = []
    vocabulary: list[str] = []
    selections: list[tuple[tuple[str, ...] | None, tuple[str, ...] | None]] = []
    sources = []
    for layer in layers:
        v = layer.values
        sources.append(layer.source)
        if "select" in v or "ignore" in v:
            selections.append((v.get("select"), v.get("ignore")))
        severity.update(v.get("severity", ()))
        lexicons.extend(x for x in v.get("lexicons", ()) if x not in lexicons)
        vocabulary.extend(x for x in v.get("vocabulary", ()) if x not in vocabulary)
        scalars.update({k: x for k, x in v.items() if k not in _MERGED})
    select, ignore = _final_selection(selections)
    return Config(
        select=select,
        ignore=ignore,
        severity=tuple(sorted(severity.items())),
        lexicons=tuple(lexicons),
        vocabulary=tuple(vocabulary),
        sources=tuple(sources),
        **scalars,
    )


_MERGED = ("select", "ignore", "severity", "lexicons", "vocabulary")


def _final_selection(
    layers: Sequence[tuple[tuple[str, ...] | None, tuple[str, ...] | None]],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Fold (select, ignore) layers into one select/ignore pair for :class:`Selection`."""
    if not layers:
        return ("MT",), ()
    if len(layers) == 1 and layers[0][0] != ():
        # One layer (the usual case) needs no folding: Selection does the rest.
        select, ignore = layers[0]
        return select if select is not None else ("MT",), ignore or ()
    from mtaudit.detectors import all_rules

    codes = [r.code for r in all_rules()]
    enabled = set(codes)
    for select, ignore in layers:
        entries = [(p, True) for p in select or ()] + [(p, False) for p in ignore or ()]
        base = set() if select is not None else enabled
        now = set()
        for code in codes:
            best = max(((len(p), not on) for p, on in entries if code.startswith(p)), default=None)
            # (length, is_ignore): the longest prefix wins; on a tie ignore wins.
            on = (code in base) if best is None else not best[1]
            if on:
                now.add(code)
        enabled = now
    if enabled == set(codes):
        return ("MT",), ()
    if not enabled:
        return ("MT",), ("MT",)  # a tie goes to ignore: nothing is enabled
    return tuple(c for c in codes if c in enabled), ()


# ---------------------------------------------------------------- discovery


def user_config_path() -> Path:
    """``$XDG_CONFIG_HOME/mtaudit/config.toml``, else ``~/.config/mtaudit/config.toml``."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / USER_FILE


def config_file_in(folder: Path) -> Path | None:
    """The config file a folder holds: mtaudit.toml, else a pyproject.toml (maybe ours)."""
    for name in (PROJECT_FILE, PYPROJECT):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def _display(path: Path) -> Path:
    """``path`` relative to the current folder when it lies below it (shorter messages)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _is_project_root(folder: Path) -> bool:
    return (folder / ".git").exists() or (folder / PYPROJECT).is_file()


def load_config(
    paths: Iterable[Path | str],
    explicit: Path | str | None = None,
    *,
    cli: Mapping[str, Any] | None = None,
    target: Path | str | None = None,
) -> Config:
    """Merge config files (weakest first), then ``explicit`` (``--config``), then ``cli``.

    ``target`` is the file the config is for: it selects the per-file overrides.
    """
    files = [f for f in (parse_file(p) for p in paths) if f is not None]
    if explicit is not None:
        f = parse_file(explicit)
        if f is not None:
            files.append(f)
    file = Path(os.path.abspath(target)) if target is not None else None
    layers = [layer for f in files for layer in f.layers_for(file)]
    if cli:
        layers.append(cli_layer(cli))
    return merge(layers)


def cli_layer(settings: Mapping[str, Any], base: Path | None = None) -> Layer:
    """A layer from command-line values (already named like config keys; None = unset)."""
    base = base or Path.cwd()
    values = {}
    for key, value in settings.items():
        if value is None:
            continue
        try:
            values[key] = normalise_setting(key, value, base)
        except ValueError as exc:
            flag = "--" + key.replace("_", "-")
            raise ValueError(f"{flag}: {exc}") from None
    return Layer("command line", values, None, base)


class ConfigResolver:
    """Finds and merges the configuration of each scanned file, caching per folder.

    Documents of one folder share their project layers; only per-file overrides depend
    on the file itself, so resolving a document is a few glob matches once warm.
    """

    def __init__(
        self,
        explicit: Path | str | None = None,
        cli: Mapping[str, Any] | None = None,
        *,
        isolated: bool = False,
        user_config: Path | None = None,
    ) -> None:
        self.isolated = isolated
        self._parsed: dict[Path, ConfigFile | None] = {}
        self._chains: dict[Path, tuple[ConfigFile, ...]] = {}
        self._configs: dict[tuple[Any, ...], Config] = {}
        self._cli = cli_layer(cli or {})
        self._explicit: ConfigFile | None = None
        if explicit is not None:
            path = Path(explicit)
            if not path.is_file():
                raise ConfigError(path, None, "no such config file")
            self._explicit = self._parse(path) or ConfigFile(path, Layer(str(path), {}))
        self._user: ConfigFile | None = None
        if not isolated:
            user = user_config or user_config_path()
            if user.is_file():
                self._user = self._parse(user)

    def _parse(self, path: Path) -> ConfigFile | None:
        path = Path(os.path.abspath(path))
        if path not in self._parsed:
            self._parsed[path] = parse_file(_display(path))
        return self._parsed[path]

    def chain(self, folder: Path) -> tuple[ConfigFile, ...]:
        """Project config files that apply in ``folder``, farthest first."""
        folder = Path(os.path.abspath(folder))
        if self.isolated:
            return ()
        if folder in self._chains:
            return self._chains[folder]
        found = config_file_in(folder)
        own = self._parse(found) if found else None
        if (own is not None and own.root) or _is_project_root(folder) or folder.parent == folder:
            parent: tuple[ConfigFile, ...] = ()
        else:
            parent = self.chain(folder.parent)
        chain = (*parent, own) if own is not None else parent
        self._chains[folder] = chain
        return chain

    def files_for(self, folder: Path) -> list[ConfigFile]:
        """Every config file for ``folder``, weakest first: user, project chain, explicit."""
        files = [f for f in (self._user, *self.chain(folder), self._explicit) if f is not None]
        seen: set[int] = set()
        out = []
        for f in files:  # the user's file may also be on the chain or be --config
            if id(f) not in seen:
                seen.add(id(f))
                out.append(f)
        return out

    def for_path(self, path: Path | str | None) -> Config:
        """The effective config of a path to scan: a folder's own, or a file's."""
        if path is not None and os.path.isdir(path):
            return self._resolve(None, Path(os.path.abspath(path)))
        return self.for_file(path)

    def for_file(self, path: Path | str | None) -> Config:
        """The effective config of a scanned file (None, '' or '-': stdin, the cwd)."""
        if path is None or str(path) in ("", "-", "<stdin>"):
            return self._resolve(None, Path.cwd())
        file = Path(os.path.abspath(path))
        return self._resolve(file, file.parent)

    def _resolve(self, file: Path | None, folder: Path) -> Config:
        files = self.files_for(folder)
        layers = [layer for f in files for layer in f.layers_for(file)]
        # Cache by which layers apply: files of a folder usually share one Config.
        key = tuple(id(layer) for layer in layers)
        config = self._configs.get(key)
        if config is None:
            config = merge([*layers, self._cli])
            self._configs[key] = config
        return config

    def exclude_specs(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Every parsed file's ``exclude`` patterns with the folder they are relative to.

        Call after :meth:`prefetch`, which parses the files of every scanned folder.
        """
        files = [self._user, *self._parsed.values(), self._explicit]
        seen: set[Path] = set()
        out = []
        for f in files:
            if f is not None and f.exclude and f.path not in seen:
                seen.add(f.path)
                out.append((os.path.abspath(f.path.parent), f.exclude))
        return tuple(out)

    def prefetch(self, paths: Iterable[str]) -> None:
        """Parse every config file under the scanned folders now, so errors come first."""
        for raw in paths:
            if raw == "-":
                continue
            path = Path(raw)
            start = path if path.is_dir() else path.parent
            self.chain(start)
            if path.is_dir() and not self.isolated:
                for dirpath, dirnames, _ in os.walk(path):
                    dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                    self.chain(Path(dirpath))
