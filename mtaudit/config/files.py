"""One configuration file: where its keys are (for ``path:line`` errors), its layers and
their per-file globs, and the parser that validates it.

Split from :mod:`mtaudit.config`, which re-exports the public names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtaudit.config.settings import (
    _FILE_ONLY,
    PYPROJECT,
    SETTINGS,
    ConfigError,
    _str_list,
    _SubKeyError,
    normalise_setting,
)

if TYPE_CHECKING:
    import pathspec

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
        """Whether this layer applies to ``file`` (None: stdin, only global layers).

        Globs are .gitignore patterns relative to ``base`` (as ``exclude``, matched with
        pathspec): without '/' a glob matches the file name at any depth, a trailing '/'
        names a folder (everything below it), ``*`` stays within one folder ("opinion/*"
        still covers subfolders: the folder matches), ``**/`` also matches no folder and
        ``!`` re-includes. A file outside ``base`` can only match by its name.
        """
        if self.files is None:
            return True
        if file is None:
            return False
        try:
            rel = file.relative_to(self.base).as_posix()
        except ValueError:
            return self._name_globs.match_file(file.name)
        return self._globs.match_file(rel)

    @cached_property
    def _globs(self) -> pathspec.PathSpec:
        return _spec(self.files or ())

    @cached_property
    def _name_globs(self) -> pathspec.PathSpec:
        return _spec(g for g in self.files or () if "/" not in g.removeprefix("./"))


def _spec(globs: Iterable[str]) -> pathspec.PathSpec:
    import pathspec  # only where a config has overrides: a plain scan starts faster

    # "./wire/*" is how a path is often written; git patterns do not take the "./".
    return pathspec.GitIgnoreSpec.from_lines(g.removeprefix("./") for g in globs)


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
