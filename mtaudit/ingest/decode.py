"""Bytes -> text: UTF-8 first, a charset detector for legacy encodings, binary refused."""

from __future__ import annotations

import codecs


class DecodeError(ValueError):
    """The bytes are binary or in no encoding we can identify."""


# Control characters other than tab/newline/CR/formfeed never appear in prose.
_CONTROL = set(range(0, 9)) | {11} | set(range(14, 32))


def looks_binary(data: bytes) -> bool:
    """Heuristic used by ``file``/git: a NUL byte, or many control bytes, in the head."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    if not head:
        return False
    controls = sum(1 for b in head if b in _CONTROL)
    return controls / len(head) > 0.05


def _bomless_utf16(data: bytes) -> tuple[str, str] | None:
    """``(text, encoding)`` when ``data`` is UTF-16 without a byte-order mark, else None.

    Windows tools write UTF-16 without a BOM at times. Text in Latin scripts then has a
    NUL as the high byte of most characters: at odd offsets for little-endian, at even
    ones for big-endian, and almost none on the other side. Binary data rarely shows that
    pattern, and when it does its "text" is control characters; so the decoded text must
    also be printable, mostly in the Latin range (as the NULs promised).
    """
    head = data[:8192]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    nul_even, nul_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if nul_odd >= 0.3 and nul_even <= 0.02:
        encoding = "utf-16-le"
    elif nul_even >= 0.3 and nul_odd <= 0.02:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = data[: len(data) - len(data) % 2].decode(encoding)
    except UnicodeDecodeError:
        return None
    sample = text[:4096]
    printable = sum(1 for c in sample if c.isprintable() or c in "\t\n\r\f")
    latin = sum(1 for c in sample if ord(c) < 0x250)
    if printable < 0.98 * len(sample) or latin < 0.5 * len(sample):
        return None
    return text, encoding


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode ``data`` and return ``(text, encoding)``.

    UTF-8 (with or without BOM) and UTF-16 with a BOM are taken at their word; UTF-16
    without one is recognised by its NUL bytes (:func:`_bomless_utf16`); anything else
    goes to charset-normalizer, which is used by requests for the same job.

    Raises:
        DecodeError: for binary data or bytes no encoding explains.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise DecodeError("invalid UTF-16 despite its byte-order mark") from None
        if looks_binary(text.encode("utf-8", "replace")):
            raise DecodeError("binary file, not text")
        return text, "utf-16"
    if b"\x00" in data[:8192] and (guess := _bomless_utf16(data)) is not None:
        return guess
    if looks_binary(data):
        raise DecodeError("binary file, not text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    from charset_normalizer import from_bytes  # lazy: only legacy files pay for it

    # Western-European news is overwhelmingly cp1252/Latin-1 when not UTF-8; short
    # texts are ambiguous between code pages, so try those first and accept a clean fit.
    best = from_bytes(data, cp_isolation=["cp1252", "latin_1", "iso8859_15"]).best()
    if best is None or best.chaos > 0.1:
        best = from_bytes(data).best()
    # A high chaos score means the detector is guessing; refuse rather than emit mojibake.
    if best is None or best.chaos > 0.3:
        raise DecodeError(f"invalid UTF-8 at byte {utf8_error.start} and no legacy encoding fits")
    return str(best), best.encoding
