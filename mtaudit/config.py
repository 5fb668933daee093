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

import fnmatch
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtaudit.model import (
    DEFAULT_FAIL_ON_VERDICT,
    FAIL_ON_VERDICT_CHOICES,
    Severity,
    parse_fail_on_verdict,
)

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
    "baseline",
    "decisions",
)
#: keys of a file's top level only: ``exclude`` says which files are not read at all,
#: so it cannot depend on a file's own overrides
_FILE_ONLY = ("root", "overrides", "per_file", "exclude")
_MT_ENGINES = ("auto", "dictionary", "apertium", "marian", "off")
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


# ---------------------------------------------------------------- line numbers

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'[^\']*\''
_KEY_PART = re.compile(rf"\s*({_BARE}|{_QUOTED})\s*")
_HEADER = re.compile(r"^\s*(\[\[?)(.+?)\]\]?\s*(?:#.*)?$")
_KEY_LINE = re.compile(rf"^\s*((?:{_BARE}|{_QUOTED})(?:\s*\.\s*(?:{_BARE}|{_QUOTED}))*)\s*=")


def _split_key(dotted: str) -> list[str]:
    """``a."b.c".d`` -> ``["a", "b.c", "d"]``."""
    parts, pos = [], 0
    while pos < len(dotted):
        m = _KEY_PART.match(dotted, pos)
        if not m:
            break
        token = m.group(1)
        parts.append(token[1:-1] if token[:1] in "\"'" else token)
        pos = m.end()
        if pos < len(dotted) and dotted[pos] == ".":
            pos += 1
    return parts


class KeyLines:
    """Where each key of a TOML text is defined: ``(table..., key) -> line``.

    A scan of the lines is enough for configuration files: headers set the current table
    (array-of-table headers also count their instances) and ``key = ...`` lines define
    keys in it. Values spread over lines (arrays) are attributed to their key's line.
    """

    def __init__(self, text: str) -> None:
        self._lines: dict[tuple[Any, ...], int] = {}
        table: tuple[Any, ...] = ()
        arrays: dict[tuple[Any, ...], int] = {}
        for lineno, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header and not _KEY_LINE.match(line):
                path = tuple(_split_key(header.group(2)))
                if header.group(1) == "[[":
                    arrays[path] = arrays.get(path, -1) + 1
                    path = (*path, arrays[path])
                else:
                    # A sub-table of the latest array element: [a.b] after [[a]] is a[n].b.
                    path = self._under_arrays(path, arrays)
                table = path
                self._lines.setdefault(table, lineno)
                continue
            key = _KEY_LINE.match(line)
            if key:
                self._lines.setdefault((*table, *_split_key(key.group(1))), lineno)

    @staticmethod
    def _under_arrays(path: tuple[Any, ...], arrays: dict[tuple[Any, ...], int]) -> tuple:
        for n in range(len(path), 0, -1):
            if path[:n] in arrays:
                return (*path[:n], arrays[path[:n]], *path[n:])
        return path

    def line(self, path: Sequence[Any]) -> int | None:
        """The line of ``path``, else of its nearest enclosing key or table."""
        path = tuple(path)
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return None


# ---------------------------------------------------------------- one layer


@dataclass(frozen=True)
class Layer:
    """The settings of one source: a file's top level, one of its overrides, or the CLI.

    ``values`` holds validated, normalised settings (paths absolute); ``files`` is None
    for a layer that applies everywhere, else the globs of an override.
    """

    source: str
    values: Mapping[str, Any]
    files: tuple[str, ...] | None = None
    base: Path = field(default_factory=Path.cwd)

    def applies_to(self, file: Path | None) -> bool:
        """Whether this layer applies to ``file`` (None: stdin, only global layers)."""
        if self.files is None:
            return True
        if file is None:
            return False
        try:
            rel = file.relative_to(self.base).as_posix()
        except ValueError:
            rel = None
        return any(_glob_match(rel, file.name, g) for g in self.files)


def _glob_match(rel: str | None, name: str, pattern: str) -> bool:
    """gitignore-like globs: without '/' a glob matches the file name at any depth; with
    a trailing '/' it names a folder (everything below it); "**/" also matches no folder.
    fnmatch's ``*`` crosses '/', so "opinion/*" covers subfolders too."""
    pattern = pattern.removeprefix("./")
    if pattern.endswith("/"):
        folder = pattern.rstrip("/")
        if rel is None:
            return False
        if "/" not in folder:
            return any(fnmatch.fnmatchcase(part, folder) for part in rel.split("/")[:-1])
        pattern = folder + "/*"
    elif "/" not in pattern:
        return fnmatch.fnmatchcase(name, pattern) or (
            rel is not None and fnmatch.fnmatchcase(rel, pattern)
        )
    if rel is None:
        return False
    return fnmatch.fnmatchcase(rel, pattern) or (
        pattern.startswith("**/") and fnmatch.fnmatchcase(rel, pattern[3:])
    )


@dataclass(frozen=True)
class ConfigFile:
    """One parsed configuration file: its own layer plus its per-file overrides."""

    path: Path
    layer: Layer
    overrides: tuple[Layer, ...] = ()
    root: bool = False
    #: ``exclude``: .gitignore-style patterns, relative to this file's folder
    exclude: tuple[str, ...] = ()

    def layers_for(self, file: Path | None) -> list[Layer]:
        return [self.layer, *(o for o in self.overrides if o.applies_to(file))]


def _key(raw: str) -> str:
    """TOML keys may be spelled fail-on or fail_on (pyproject style uses dashes)."""
    return raw.replace("-", "_")


class _Validator:
    """Checks one file's tables and turns them into :class:`Layer` objects."""

    def __init__(self, path: Path, text: str, prefix: tuple[str, ...]) -> None:
        self.path = path
        self.base = Path(os.path.abspath(path)).parent
        self.lines = KeyLines(text)
        self.prefix = prefix

    def error(self, where: Sequence[Any], message: str) -> ConfigError:
        return ConfigError(self.path, self.lines.line((*self.prefix, *where)), message)

    def file(self, table: Mapping[str, Any]) -> ConfigFile:
        top = {k: v for k, v in table.items() if _key(k) not in _FILE_ONLY}
        root = False
        exclude: tuple[str, ...] = ()
        overrides: list[Layer] = []
        for raw, value in table.items():
            key = _key(raw)
            if key == "root":
                if not isinstance(value, bool):
                    raise self.error([raw], "'root' must be true or false")
                root = value
            elif key == "exclude":
                if not _str_list(value):
                    raise self.error([raw], f"'{raw}' must be a list of .gitignore-style patterns")
                exclude = tuple(value)
            elif key == "overrides":
                overrides.extend(self._overrides(raw, value))
            elif key == "per_file":
                overrides.extend(self._per_file(raw, value))
        return ConfigFile(self.path, self.layer(top, []), tuple(overrides), root, exclude)

    def _overrides(self, raw: str, value: Any) -> list[Layer]:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error([raw], f"'{raw}' must be an array of tables ([[{raw}]])")
        out = []
        for i, entry in enumerate(value):
            where = [raw, i]
            files = entry.get("files")
            if not _str_list(files) or not files:
                raise self.error([*where, "files"], f'each [[{raw}]] needs files = ["glob", ...]')
            body = {k: v for k, v in entry.items() if k != "files"}
            out.append(self.layer(body, where, files=tuple(files)))
        return out

    def _per_file(self, raw: str, value: Any) -> list[Layer]:
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise self.error([raw], f"'{raw}' must map globs to tables of settings")
        return [self.layer(body, [raw, glob], files=(glob,)) for glob, body in value.items()]

    def layer(
        self, table: Mapping[str, Any], where: list[Any], files: tuple[str, ...] | None = None
    ) -> Layer:
        values: dict[str, Any] = {}
        for raw, value in table.items():
            key = _key(raw)
            at = [*where, raw]
            if key not in SETTINGS:
                file_keys = ("root", "exclude", "overrides", "per-file")
                known = ", ".join(SETTINGS + (() if where else file_keys))
                raise self.error(at, f"unknown key '{raw}' (known keys: {known})")
            try:
                values[key] = normalise_setting(key, value, self.base)
            except _SubKeyError as exc:
                raise self.error([*at, exc.sub], f"{raw}.{exc}") from None
            except ValueError as exc:
                raise self.error(at, f"{raw}: {exc}") from None
        label = str(self.path)
        if where:  # e.g. "mtaudit.toml [overrides.1]"
            label += " [" + ".".join(str(w) for w in where) + "]"
        return Layer(label, values, files, self.base)


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


def parse_file(path: Path | str) -> ConfigFile | None:
    """Parse one config file; None for a pyproject.toml without ``[tool.mtaudit]``.

    Raises:
        ConfigError: with path:line on bad TOML, unknown keys, or wrong values.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"cannot read config: {exc}") from None
    is_pyproject = path.name == PYPROJECT
    if is_pyproject and "mtaudit" not in text:
        return None  # cheap: most pyproject.toml files are not about us
    from mtaudit.lexicons import TomlError, parse_toml

    try:
        data = parse_toml(text)
    except TomlError as exc:
        raise ConfigError(path, exc.line, f"invalid TOML: {exc.message}") from None
    prefix: tuple[str, ...] = ()
    if is_pyproject:
        table = data.get("tool", {}).get("mtaudit")
        if table is None:
            return None
        prefix = ("tool", "mtaudit")
    else:
        table = data
    validator = _Validator(path, text, prefix)
    if not isinstance(table, dict):
        raise validator.error([], "[tool.mtaudit] must be a table")
    return validator.file(table)


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


def add_config_arguments(parser: Any, purpose: str = "flags still win") -> None:
    """``--config FILE`` and ``--isolated``, the same for every command that reads config
    files (``parser`` is an argparse parser or argument group)."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help="a config file (mtaudit.toml or pyproject.toml) applied over the discovered "
        f"ones; {purpose}",
    )
    parser.add_argument(
        "--isolated",
        action="store_true",
        help="ignore the user's and the project's config files (--config still applies)",
    )


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
