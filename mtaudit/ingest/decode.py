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


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode ``data`` and return ``(text, encoding)``.

    UTF-8 (with or without BOM) and UTF-16 with a BOM are taken at their word; anything
    else goes to charset-normalizer, which is used by requests for the same job.

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
