"""Readers: text, Markdown, HTML, JSONL, folders, stdin, encodings and bad input."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import stat
import struct
import threading
import time

import pytest

from mtaudit.ingest import IngestOptions, iter_inputs, make_document, read_jsonl, read_stream
from mtaudit.model import Document, DocumentReport, ExitCode, InputError
from mtaudit.pipeline import Auditor
from mtaudit.report.serialize import line_column


def _audit(doc: Document) -> DocumentReport:
    """One document through a default Auditor, closed after: it starts Apertium stages."""
    with Auditor() as auditor:
        return auditor.audit(doc)


def _items(*paths, **opts):
    return list(iter_inputs([str(p) for p in paths], IngestOptions(**opts) if opts else None))


def test_text_file_is_one_document_with_path_id(tmp_path):
    p = tmp_path / "story.txt"
    p.write_text("Headline\r\n\r\nBody text here.", encoding="utf-8")
    (doc,) = _items(p)
    assert isinstance(doc, Document)
    assert doc.id == str(p) and doc.path == str(p)
    assert doc.text == "Headline\n\nBody text here."


def test_legacy_encoding_is_detected(tmp_path):
    p = tmp_path / "legacy.txt"
    text = "The señor from Málaga said the café would reopen. Déjà vu for the naïve."
    p.write_bytes(text.encode("cp1252"))
    (doc,) = _items(p)
    assert doc.text == text
    assert doc.meta["encoding"] == "cp1252"


def test_utf8_bom_is_stripped(tmp_path):
    p = tmp_path / "bom.txt"
    p.write_bytes(b"\xef\xbb\xbfHello world.")
    (doc,) = _items(p)
    assert doc.text == "Hello world."


@pytest.mark.parametrize(
    "payload, expect",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "binary"),
        (bytes(range(128, 256)) * 8, "invalid UTF-8"),
    ],
)
def test_binary_and_undecodable_files_become_errors(tmp_path, payload, expect):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(payload)
    good = tmp_path / "good.txt"
    good.write_text("A fine article.", encoding="utf-8")
    items = _items(tmp_path)
    errors = [i for i in items if isinstance(i, InputError)]
    docs = [i for i in items if isinstance(i, Document)]
    assert [e.path for e in errors] == [str(bad)]
    assert expect in errors[0].message
    assert [d.path for d in docs] == [str(good)]


def test_missing_path_is_an_error():
    (err,) = _items("/nonexistent/article.txt")
    assert isinstance(err, InputError) and "no such file" in err.message


def test_oversized_file_is_refused_with_its_size(tmp_path):
    p = tmp_path / "huge.txt"
    p.write_text("word " * 1000, encoding="utf-8")
    (err,) = _items(p, max_bytes=100)
    assert isinstance(err, InputError) and "limit" in err.message


def test_empty_file_gives_an_empty_result(tmp_path):
    p = tmp_path / "empty.txt"
    p.write_bytes(b"")
    (doc,) = _items(p)
    report = _audit(doc)
    assert doc.text == "" and report.findings == [] and report.verdict == "clean"


def test_markdown_markup_is_stripped_and_mapped_back(tmp_path):
    source = (
        "# Port *strike* ends\n\n"
        "Workers [returned](<http://example.org/a , b>) on **Tuesday**.\n\n"
        "```\ncode . , block ,\n```\n\n"
        "| col a | col b |\n|---|---|\n| one | two |\n\n"
        "- a list item\n> a quote\n"
    )
    p = tmp_path / "story.md"
    p.write_text(source, encoding="utf-8")
    (doc,) = _items(p)
    assert "#" not in doc.text and "**" not in doc.text and "http" not in doc.text
    assert "code . , block" not in doc.text
    assert "Workers returned on Tuesday." in doc.text
    at = doc.text.index("Tuesday")
    assert source[doc.source_offset(at) :].startswith("Tuesday")
    # Markup that would look like MT punctuation raw ("a , b", ". ,") yields nothing.
    assert _audit(doc).findings == []


def test_markdown_finding_reports_source_line_and_column(tmp_path, cli):
    p = tmp_path / "x.md"
    p.write_text("# Title\n\nIntro line.\n\n**Bold** words, ”the end.\n", encoding="utf-8")
    report = cli("scan", p, "--format", "json", "--select", "MT401").json()
    (f,) = report["documents"][0]["findings"]
    assert (f["line"], f["column"]) == (5, 16)


HTML = """<html><head><title>T</title><script>var x = "Source link , ”bad";</script>
<style>.a{content:" , "}</style></head><body>
<nav><a href="/">Home</a> <a href="/w">World news , ”menu</a></nav>
<article><h1>Central bank raises rates again</h1>
<p>The central bank raised its key rate on Thursday, citing stubborn inflation. Economists had
expected the move after three months of rising prices.</p>
<p>Markets fell after the decision , ”the traders said.</p></article>
<footer>Copyright 2026 Example News</footer></body></html>"""


def test_html_extracts_the_article_and_drops_script_style_nav(tmp_path):
    p = tmp_path / "page.html"
    p.write_text(HTML, encoding="utf-8")
    (doc,) = _items(p)
    assert doc.format == "html"
    assert "Central bank raises rates again" in doc.text
    assert "var x" not in doc.text and "content:" not in doc.text and "menu" not in doc.text
    report = _audit(doc)
    codes = sorted(f.code for f in report.findings)
    assert codes == ["MT401", "MT403"]
    for f in report.findings:
        assert doc.text[f.start : f.end] == f.text


def test_html_without_article_markup_still_yields_text(tmp_path):
    p = tmp_path / "short.htm"
    p.write_text("<p>Short note , ”here.</p>", encoding="utf-8")
    (doc,) = _items(p)
    assert "Short note" in doc.text


def test_jsonl_ids_lines_and_malformed_records(tmp_path):
    p = tmp_path / "feed.jsonl"
    lines = [
        json.dumps({"id": "a1", "text": "First story.", "source": "wire"}),
        "{not json",
        json.dumps({"text": "No id here."}),
        json.dumps({"id": "x", "body": "wrong field"}),
        "",
        json.dumps(["a", "list"]),
        json.dumps({"id": 7, "text": "Numeric id."}),
    ]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = _items(p)
    docs = [i for i in items if isinstance(i, Document)]
    errors = [i for i in items if isinstance(i, InputError)]
    assert [d.id for d in docs] == ["a1", f"{p}:3", "7"]
    assert docs[0].meta["source"] == "wire"
    assert [e.path for e in errors] == [f"{p}:2", f"{p}:4", f"{p}:6"]
    assert "malformed JSON" in errors[0].message
    assert "'text'" in errors[1].message


def test_jsonl_is_streamed_not_loaded():
    """The reader must yield the first document before the stream is exhausted."""

    class Endless(io.RawIOBase):
        def __init__(self):
            self.n = 0

        def readable(self):
            return True

        def readinto(self, b):
            self.n += 1
            if self.n > 1000:
                raise AssertionError("reader consumed the whole stream")
            line = json.dumps({"text": f"Story {self.n}."}).encode() + b"\n"
            b[: len(line)] = line
            return len(line)

    stream = io.BufferedReader(Endless(), buffer_size=64)
    first = next(read_jsonl(stream, "feed.jsonl", IngestOptions()))
    assert first.text == "Story 1."


def test_folder_walk_with_include_and_exclude(tmp_path):
    (tmp_path / "a.txt").write_text("A.", encoding="utf-8")
    (tmp_path / "b.md").write_text("B.", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("C.", encoding="utf-8")
    (tmp_path / "sub" / "skip.bin").write_bytes(b"\x00\x01")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "d.txt").write_text("D.", encoding="utf-8")
    names = lambda items: sorted(i.path.rsplit("/", 1)[-1] for i in items)  # noqa: E731
    assert names(_items(tmp_path)) == ["a.txt", "b.md", "c.txt"]
    assert names(_items(tmp_path, include=("*.txt",))) == ["a.txt", "c.txt"]
    assert names(_items(tmp_path, exclude=("sub/*",))) == ["a.txt", "b.md"]


def test_stdin_stream_in_each_format():
    (doc,) = read_stream(io.BytesIO(b"# Head\n\nBody."), "<stdin>", "markdown", IngestOptions())
    assert doc.text.strip().startswith("Head") and doc.path == "<stdin>"
    docs = list(
        read_stream(
            io.BytesIO(b'{"text": "x"}\n{"text": "y"}\n'), "<stdin>", "jsonl", IngestOptions()
        )
    )
    assert [d.id for d in docs] == ["<stdin>:1", "<stdin>:2"]


# ---------------------------------------------------------------- devices, FIFOs, limits


def _device(path, minor):
    """A character device node in a temp folder: (1, 3) is null, (1, 5) zero (needs root)."""
    try:
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, minor))
    except PermissionError:
        pytest.skip("creating a device node needs root")
    return path


def test_a_named_device_is_read_within_max_bytes(tmp_path):
    zero = _device(tmp_path / "zero", 5)  # endless: an unbounded read never returns
    (err,) = _items(zero, max_bytes=4096)
    assert isinstance(err, InputError) and err.path == str(zero)
    assert "over the" in err.message and "--max-bytes" in err.message
    feed = _device(tmp_path / "zero.jsonl", 5)  # one endless line
    stream = iter_inputs([str(feed)], IngestOptions(max_bytes=4096))
    assert "line is over" in next(stream).message  # then it skips in bounded chunks
    (doc,) = _items(_device(tmp_path / "null", 3))
    assert isinstance(doc, Document) and doc.text == ""


def test_a_named_fifo_is_read_like_stdin(tmp_path):
    fifo = tmp_path / "story.txt"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text("A story from a pipe."))
    writer.start()
    (doc,) = _items(fifo)
    writer.join(timeout=10)
    assert doc.text == "A story from a pipe."


def test_special_files_in_a_folder_are_skipped_and_the_rest_is_read(tmp_path):
    (tmp_path / "a.txt").write_text("A.", encoding="utf-8")
    os.mkfifo(tmp_path / "b.txt")  # nobody writes to it: reading would hang the scan
    _device(tmp_path / "c.txt", 5)
    (tmp_path / "d.txt").write_text("D.", encoding="utf-8")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / "e.md"))
        items = _items(tmp_path)
    finally:
        sock.close()
    docs = [i.path.rsplit("/", 1)[-1] for i in items if isinstance(i, Document)]
    errors = {i.path.rsplit("/", 1)[-1]: i.message for i in items if isinstance(i, InputError)}
    assert docs == ["a.txt", "d.txt"]
    assert errors == {
        "b.txt": "not a regular file (FIFO); skipped",
        "c.txt": "not a regular file (character device); skipped",
        "e.md": "not a regular file (socket); skipped",
    }


def test_scan_reports_a_fifo_in_a_folder_and_the_files_beside_it(cli, tmp_path):
    (tmp_path / "a.txt").write_text("The council met on Friday.", encoding="utf-8")
    os.mkfifo(tmp_path / "b.txt")
    res = cli("scan", tmp_path, "-f", "json")
    assert res.code == ExitCode.USAGE
    report = res.json()
    assert [d["id"] for d in report["documents"]] == [str(tmp_path / "a.txt")]
    assert report["errors"] == [
        {"path": str(tmp_path / "b.txt"), "message": "not a regular file (FIFO); skipped"}
    ]
    assert res.err == f"mtaudit: error: {tmp_path / 'b.txt'}: not a regular file (FIFO); skipped\n"


def test_an_over_long_jsonl_line_is_cut_and_the_next_lines_read(tmp_path):
    p = tmp_path / "feed.jsonl"
    p.write_bytes(b'{"text": "' + b"x" * 50_000 + b'"}\n{"text": "Next story."}\n')
    first, second = _items(p, max_bytes=1000)
    assert isinstance(first, InputError) and first.path == f"{p}:1"
    assert second.text == "Next story." and second.id == f"{p}:2"


# ---------------------------------------------------------------- UTF-16 without a BOM


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_decoded(tmp_path, encoding):
    text = "The señor from Málaga said the talks had failed.\nA second line — with a dash."
    p = tmp_path / "story.txt"
    p.write_bytes(text.encode(encoding))
    (doc,) = _items(p)
    assert isinstance(doc, Document), doc
    assert doc.text == text and doc.meta["encoding"] == encoding


@pytest.mark.parametrize(
    "payload",
    [
        struct.pack("<400H", *range(400)),  # 16-bit integers: NULs at odd offsets
        struct.pack(">400H", *range(400)),
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" * 40,
    ],
)
def test_binary_with_utf16_like_nuls_stays_refused(tmp_path, payload):
    p = tmp_path / "data.txt"
    p.write_bytes(payload)
    (err,) = _items(p)
    assert isinstance(err, InputError) and "binary" in err.message


# ---------------------------------------------------------------- deeply nested HTML


@pytest.mark.parametrize("depth", [300, 5000])
def test_deeply_nested_html_keeps_its_text(tmp_path, depth):
    # libxml2 stops at 256 levels and drops the rest: the whole article, or its body.
    body = "<div>" * depth + "<p>The minister said the talks had failed , ”he said.</p>"
    page = (
        "<html><head><title>Talks fail</title><script>var x = 1;</script></head><body>"
        "<nav>menu</nav><p>An introduction that sits near the top.</p>"
        + body
        + "</div>" * depth
        + "</body></html>"
    )
    p = tmp_path / "deep.html"
    p.write_text(page, encoding="utf-8")
    (doc,) = _items(p)
    assert isinstance(doc, Document)
    assert "An introduction" in doc.text and "The minister said the talks had failed" in doc.text
    assert "var x" not in doc.text and "menu" not in doc.text
    assert "MT401" in {f.code for f in _audit(doc).findings}


# ---------------------------------------------------------------- Markdown, parsed

FRONT_MATTER_STORY = """\
---
title: Port strike ends after three weeks
tags: [politics, economy]
related: "Read more: port workers"
---

Dock workers returned to the port on Tuesday after the union accepted a new pay offer.

{{< related "port-strike-day-one" >}}

{% include newsletter.html %} The operators said traffic would be normal by {{ .Date }}.

Talks had failed twice , ”the union said.
"""


def test_markdown_front_matter_and_shortcodes_are_not_prose():
    doc = make_document(FRONT_MATTER_STORY, "a.md", "markdown")
    for markup in ("tags", "politics", "title", "related", "include", "newsletter", "Date"):
        assert markup not in doc.text, markup
    assert "\nThe operators said traffic would be normal by." in doc.text
    findings = _audit(doc).findings
    # Old reader: "tags: [politics, economy]" was a related-content widget (MT504) and the
    # YAML block an unfluent sentence (MT601).
    assert [f.code for f in findings] == ["MT403", "MT401"]
    # Lines and columns are still the file's.
    f = findings[1]
    line, col = line_column(doc, f.start)
    source_line = FRONT_MATTER_STORY.splitlines()[line - 1]
    assert source_line.startswith("Talks had failed") and source_line[col - 1 :].startswith(" ”")


def test_markdown_toml_front_matter_is_not_prose():
    source = "+++\ntitle = 'Port strike'\ntags = ['politics']\n+++\n\nDock workers returned.\n"
    doc = make_document(source, "a.md", "markdown")
    assert doc.text.strip() == "Dock workers returned."
    at = doc.text.index("Dock")
    assert line_column(doc, at) == (6, 1)


def test_markdown_entities_escapes_and_cells_map_back():
    source = "Profits &amp; losses \\*rose\\* in `Q3`.\n\n| a | b |\n|---|---|\n| one | two |\n"
    doc = make_document(source, "a.md", "markdown")
    assert "Profits & losses *rose* in Q3." in doc.text
    assert "one two" in doc.text
    for word in ("losses", "rose", "Q3", "two"):
        at = source.index(word)
        assert doc.source_offset(doc.text.index(word)) == at, word


class _Stop(Exception):
    pass


def test_a_signal_taken_by_another_thread_still_interrupts_a_fifo_read():
    """SIGTERM may land on any thread (native libraries start their own); the scan's read
    of a silent pipe must still give way to the main thread's handler."""
    from mtaudit.ingest import interruptible

    read_fd, write_fd = os.pipe()
    stream = interruptible(os.fdopen(read_fd, "rb", buffering=0))

    def signal_then_feed() -> None:
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGUSR1)  # only this thread can take it
        time.sleep(5)
        os.write(write_fd, b"late\n")  # ends a read the signal failed to interrupt

    def stop(signum, frame):
        raise _Stop

    previous = signal.signal(signal.SIGUSR1, stop)
    feeder = threading.Thread(target=signal_then_feed, daemon=True)
    feeder.start()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    started = time.monotonic()
    try:
        with pytest.raises(_Stop):
            stream.readline()
        assert time.monotonic() - started < 4, "the read waited for data, not the signal"
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
        signal.signal(signal.SIGUSR1, previous)
        feeder.join()
        stream.close()
        os.close(write_fd)
