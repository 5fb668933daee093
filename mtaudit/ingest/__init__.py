"""Input discovery and the readers: .txt, .md, .html/.htm, .jsonl, directories and stdin.

:func:`iter_inputs` yields ``Document`` or ``InputError`` objects, one at a time, so a
scan of a huge corpus never holds more than one document (JSONL is streamed line by
line). An unreadable input becomes an ``InputError`` and the scan goes on.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from mtaudit.ingest.decode import DecodeError, decode_bytes
from mtaudit.model import Document, InputError
from mtaudit.pollfd import readable

FORMATS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
DEFAULT_INCLUDE = tuple(f"*{ext}" for ext in FORMATS)
DEFAULT_MAX_BYTES = 20_000_000  # one article; JSONL files are streamed and not capped

Item = Document | InputError


@dataclass(frozen=True)
class IngestOptions:
    """How to discover and read inputs."""

    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = ()
    stdin_format: str = "text"
    max_bytes: int = DEFAULT_MAX_BYTES
    #: the config's ``exclude`` patterns (.gitignore syntax), each set with the folder it
    #: is relative to; they apply to named files too (pre-commit names every file)
    exclude_specs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: honour .gitignore files (and .git/info/exclude) when walking folders
    gitignore: bool = True


class _Ignores:
    """gitignore-style exclusion: the config's patterns and the .gitignore files found.

    As in git, a deeper .gitignore decides before a shallower one (so it can re-include
    with ``!``), and a file inside an ignored folder stays ignored (the folder is pruned).
    """

    def __init__(self, options: IngestOptions) -> None:
        self.config = [(Path(base), _spec(patterns)) for base, patterns in options.exclude_specs]
        self.gitignores: list[tuple[Path, Any]] = []  # deepest last

    def add_gitignore(self, folder: Path, file: Path) -> None:
        try:
            lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return  # unreadable: as git, go on without it
        self.gitignores.append((folder, _spec(lines)))

    def excluded(self, path: Path, is_dir: bool = False) -> bool:
        path = Path(os.path.abspath(path))
        for base, spec in self.config:
            if (rel := _relative(path, base, is_dir)) is not None and spec.match_file(rel):
                return True
        for base, spec in reversed(self.gitignores):
            rel = _relative(path, base, is_dir)
            if rel is not None and (include := spec.check_file(rel).include) is not None:
                return include
        return False


def _spec(lines: Iterable[str]) -> Any:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


def _relative(path: Path, base: Path, is_dir: bool) -> str | None:
    try:
        rel = path.relative_to(base).as_posix()
    except ValueError:
        return None
    return rel + "/" if is_dir else rel


def _repository_gitignores(root: Path, ignores: _Ignores) -> None:
    """The .gitignore files above ``root`` up to its repository's top, and info/exclude."""
    folders = []
    for folder in Path(os.path.abspath(root)).parents:
        folders.append(folder)
        if (folder / ".git").exists():
            exclude = folder / ".git" / "info" / "exclude"
            if exclude.is_file():
                ignores.add_gitignore(folder, exclude)
            break
    else:
        folders = []  # not in a repository: only the .gitignore files inside the scan count
    for folder in reversed(folders):
        if (folder / ".gitignore").is_file():
            ignores.add_gitignore(folder, folder / ".gitignore")


def iter_inputs(paths: Iterable[str], options: IngestOptions | None = None) -> Iterator[Item]:
    """Yield documents (and errors) for files, directories and ``-`` (stdin)."""
    options = options or IngestOptions()
    for raw in paths:
        if raw == "-":
            yield from read_stream(sys.stdin.buffer, "<stdin>", options.stdin_format, options)
            continue
        path = Path(raw)
        if path.is_dir():
            for file in _walk(path, options):
                yield from read_path(file, options)
        elif path.exists():
            if options.exclude_specs and _Ignores(options).excluded(path):
                continue  # the config excludes it, even by name
            yield from read_path(path, options, explicit=True)
        else:
            yield InputError(raw, "no such file or directory")


def finds_nothing(paths: Iterable[str], options: IngestOptions | None = None) -> bool:
    """Whether every path is an existing folder holding no file the globs match.

    Such a scan would pass as "0 documents": an empty or mistyped folder, or globs that
    match nothing. Stdin and files count as input; a missing path is reported on its own.
    """
    options = options or IngestOptions()
    for raw in paths:
        path = Path(raw)
        if raw == "-" or not path.is_dir() or next(_walk(path, options), None) is not None:
            return False
    return True


def count_inputs(paths: Iterable[str], options: IngestOptions | None = None) -> int | None:
    """How many documents ``paths`` hold, when that is cheap to know (a progress total).

    Files of a folder are counted by walking it (names only, nothing is read); stdin and
    JSONL (one document a line) make the total unknown: None.
    """
    options = options or IngestOptions()
    total = 0
    for raw in paths:
        path = Path(raw)
        if raw == "-":
            return None
        files = _walk(path, options) if path.is_dir() else [path]
        for file in files:
            if format_of(file) == "jsonl":
                return None
            total += 1
    return total


def _walk(root: Path, options: IngestOptions) -> Iterator[Path]:
    """Files under ``root`` matching include and not exclude globs, in sorted order.

    Folders and files the config's ``exclude`` patterns or a .gitignore name are skipped
    (.gitignore files: unless ``options.gitignore`` is off).
    """
    ignores = _Ignores(options)
    if options.gitignore:
        _repository_gitignores(root, ignores)
    for dirpath, dirnames, filenames in os.walk(root):
        folder = Path(dirpath)
        if options.gitignore and ".gitignore" in filenames:
            ignores.add_gitignore(Path(os.path.abspath(folder)), folder / ".gitignore")
        # Hidden folders (.git, .venv) never hold articles; sort for stable output.
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith(".") and not ignores.excluded(folder / d, is_dir=True)
        )
        for name in sorted(filenames):
            file = folder / name
            rel = file.relative_to(root).as_posix()
            if not _matches(name, rel, options.include):
                continue
            if _matches(name, rel, options.exclude) or ignores.excluded(file):
                continue
            yield file


def _matches(name: str, rel: str, globs: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(name, g) or fnmatch.fnmatch(rel, g) for g in globs)


def format_of(path: Path | str) -> str | None:
    """The reader format for a file name, or None if its extension is unknown."""
    return FORMATS.get(Path(path).suffix.lower())


# Non-regular files: what an explicitly named one is. FIFOs (``<(cmd)``, a named pipe) and
# character devices (``/dev/stdin`` on a terminal) are read like stdin, with --max-bytes
# enforced while reading; sockets and block devices are refused. Found by walking a
# folder, any of them is skipped: a FIFO would hang the scan, /dev/zero never ends.
_STREAMED = {stat.S_IFIFO: "FIFO", stat.S_IFCHR: "character device"}
_REFUSED = {stat.S_IFSOCK: "socket", stat.S_IFBLK: "block device"}


def read_path(path: Path, options: IngestOptions, explicit: bool = False) -> Iterator[Item]:
    """Read one file. An explicitly named file of unknown extension is read as text.

    No read is unbounded: a document is read up to ``max_bytes`` + 1 bytes, a JSONL line
    likewise, whatever the file's size claims (a device or FIFO has none).
    """
    fmt = format_of(path) or ("text" if explicit else None)
    if fmt is None:
        return
    try:
        kind = stat.S_IFMT(os.stat(path).st_mode)
        if kind != stat.S_IFREG:
            name = _STREAMED.get(kind) or _REFUSED.get(kind) or "not a file"
            if not explicit or kind not in _STREAMED:
                why = "skipped" if not explicit else "not read"
                yield InputError(str(path), f"not a regular file ({name}); {why}")
                return
            # The open blocks until a FIFO has a writer, as `cat` does; reads then poll.
            fh = interruptible(path.open("rb", buffering=0))
        else:
            # O_NONBLOCK: if the file was swapped for a FIFO since the stat, the open
            # does not wait for a writer (and the fstat below catches it).
            fh = os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb")
        with fh:
            st = os.fstat(fh.fileno())
            if stat.S_IFMT(st.st_mode) != kind:
                yield InputError(str(path), "changed while being read; skipped")
                return
            if fmt == "jsonl":
                yield from read_jsonl(fh, str(path), options)
                return
            if kind == stat.S_IFREG and st.st_size > options.max_bytes:
                yield InputError(str(path), _too_big(options, st.st_size))
                return
            data = fh.read(options.max_bytes + 1)
    except OSError as exc:
        yield InputError(str(path), f"cannot read: {exc.strerror or exc}")
        return
    if len(data) > options.max_bytes:
        yield InputError(str(path), _too_big(options))
        return
    yield from _read_bytes(data, str(path), fmt)


def _too_big(options: IngestOptions, size: int | None = None) -> str:
    what = f"file is {size / 1e6:.1f} MB, over" if size is not None else "input is over"
    return (
        f"{what} the {options.max_bytes / 1e6:.0f} MB limit for one document "
        "(split it, or raise --max-bytes)"
    )


class _PollingReader(io.RawIOBase):
    """A pipe or device whose reads wait in short ``select`` slices.

    A read blocked in the kernel is interrupted by a signal only in the thread the kernel
    delivers it to, and native libraries (OpenBLAS, pocketsphinx) start threads of their
    own: SIGTERM could land on one of them and leave the scan stuck in ``read()`` on a
    silent FIFO, its temp reports never removed. Waiting in slices returns to the
    interpreter often enough for its signal handlers to run.
    """

    SLICE_S = 0.2

    def __init__(self, raw: BinaryIO, owned: bool) -> None:
        self._raw = raw
        self._owned = owned  # stdin stays open for the rest of the process
        self._fd = raw.fileno()

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def readinto(self, buffer: Any) -> int:
        while not readable(self._fd, self.SLICE_S):
            pass
        data = os.read(self._fd, len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed and self._owned:
            self._raw.close()
        super().close()


def interruptible(stream: BinaryIO, owned: bool = True) -> BinaryIO:
    """``stream`` buffered, its reads interruptible by signals if it is a pipe or device.

    Closing the result closes ``stream`` only if ``owned``.
    """
    try:
        kind = stat.S_IFMT(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, io.UnsupportedOperation):  # no descriptor (tests)
        return stream
    if kind not in _STREAMED:
        return stream
    return io.BufferedReader(_PollingReader(stream, owned))


def read_stream(stream: BinaryIO, name: str, fmt: str, options: IngestOptions) -> Iterator[Item]:
    """Read a binary stream (stdin) in the given format."""
    stream = interruptible(stream, owned=False)
    if fmt == "jsonl":
        yield from read_jsonl(stream, name, options)
        return
    data = stream.read(options.max_bytes + 1)
    if len(data) > options.max_bytes:
        yield InputError(name, _too_big(options))
        return
    yield from _read_bytes(data, name, fmt)


def digest(data: bytes) -> str:
    """The fingerprint of an input's bytes as read (``Document.meta["digest"]``)."""
    return hashlib.sha256(data).hexdigest()


def _read_bytes(data: bytes, name: str, fmt: str) -> Iterator[Item]:
    try:
        text, encoding = decode_bytes(data)
    except DecodeError as exc:
        yield InputError(name, str(exc))
        return
    # The digest lets --fix refuse a file that changed after it was read.
    meta = {"encoding": encoding, "digest": digest(data)}
    try:
        yield make_document(text, name, fmt, doc_id=name, meta=meta)
    except ValueError as exc:
        yield InputError(name, str(exc))


def make_document(
    text: str, path: str, fmt: str, doc_id: str | None = None, meta: dict | None = None
) -> Document:
    """Build a Document from decoded text in ``fmt`` (text, markdown or html)."""
    meta = dict(meta or {})
    doc_id = doc_id if doc_id is not None else path
    if fmt == "markdown":
        from mtaudit.ingest.markdown import markdown_to_text

        prose, source_map, comments, lines = markdown_to_text(text)
        meta["source_text"] = text  # for line/column of findings in the .md file
        if comments:
            meta["comments"] = comments
            meta["comment_lines"] = lines
        return Document(doc_id, prose, path, "markdown", meta, source_map)
    if fmt == "html":
        from mtaudit.ingest.html import html_to_text, source_map

        prose, comments = html_to_text(text)
        anchors = source_map(text, prose)
        if anchors:
            meta["source_text"] = text  # for line/column of findings in the .html file
        if comments:
            meta["comments"] = comments
            meta["comment_lines"] = comment_lines(text, mtaudit_only=True)
        return Document(doc_id, prose, path, "html", meta, anchors)
    if fmt != "text":
        raise ValueError(f"unknown format {fmt!r}")
    if "\r\n" in text:
        meta["crlf"] = True  # offsets count the text with LF line ends (--fix restores CRLF)
    return Document(doc_id, text.replace("\r\n", "\n"), path, "text", meta)


def comment_lines(source: str, mtaudit_only: bool = False) -> list[int]:
    """1-based line of each HTML comment in ``source`` (parallel to ``meta["comments"]``).

    Inline suppressions report unused or malformed directives by their line in the file.
    """
    lines = []
    for m in re.finditer(r"<!--(.*?)-->", source, re.DOTALL):
        if mtaudit_only and not m.group(1).strip().lower().startswith("mtaudit"):
            continue
        lines.append(source.count("\n", 0, m.start()) + 1)
    return lines


def read_jsonl(stream: BinaryIO, name: str, options: IngestOptions) -> Iterator[Item]:
    """Stream a JSONL file: one ``{"text": ..., "id"?: ...}`` object a line.

    A malformed line becomes an error naming ``path:LINE``; the other lines still count.
    """
    options = options or IngestOptions()
    for lineno, raw in enumerate(_bounded_lines(stream, options.max_bytes), start=1):
        item = parse_jsonl_line(raw, name, lineno, options)
        if item is not None:
            yield item


def _bounded_lines(stream: BinaryIO, limit: int) -> Iterator[bytes]:
    """The stream's lines, each cut at ``limit`` + 1 bytes (the rest of it is skipped).

    Iterating a file reads a whole line whatever its length; a line with no end (a
    device, a corrupt file) would take all memory. A cut line is still over the limit, so
    :func:`parse_jsonl_line` reports it and the following lines are read as usual.
    """
    while line := stream.readline(limit + 1):
        yield line
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := stream.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass


def parse_jsonl_line(
    raw: bytes, name: str, lineno: int, options: IngestOptions | None = None
) -> Document | InputError | None:
    """One JSONL line -> a Document, an InputError naming ``name:LINENO``, or None if blank.

    Shared by :func:`read_jsonl` and the Ray engine, which reads shards in chunks that
    start mid-file (ids of records without an ``id`` embed the absolute line number).
    """
    options = options or IngestOptions()
    where = f"{name}:{lineno}"
    if not raw.strip():
        return None
    if len(raw) > options.max_bytes:
        return InputError(where, f"line is over the {options.max_bytes / 1e6:.0f} MB limit")
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return InputError(where, f"invalid UTF-8 at byte {exc.start} of the line")
    except json.JSONDecodeError as exc:
        return InputError(where, f"malformed JSON: {exc.msg} (column {exc.colno})")
    if not isinstance(record, dict):
        return InputError(where, "each line must be a JSON object with a 'text' field")
    text = record.get("text")
    if not isinstance(text, str):
        return InputError(where, "missing or non-string 'text' field")
    rid = record.get("id")
    doc_id = str(rid) if isinstance(rid, (str, int)) and rid != "" else where
    meta = {k: v for k, v in record.items() if k not in ("text", "id")}
    meta["line"] = lineno
    fmt = record.get("format", "text")
    try:
        return make_document(
            text, name, fmt if fmt in ("text", "markdown", "html") else "text", doc_id, meta
        )
    except ValueError as exc:
        return InputError(where, str(exc))
