"""From uploaded bytes to clean text: size and encoding checks, then mojibake repair.

ftfy undoes most mojibake; two extra passes first restore what it cannot: emoji that lost a byte in a
UTF-8 -> Windows-1252 round trip, and Mac Roman runs that hide a UTF-8 symbol.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy
from django.conf import settings

from .shapes import GuideRejected


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def decode_guide(data: bytes) -> str:
    """Check the raw upload and return its text; raise GuideRejected with the reason otherwise."""
    limit = settings.TRIAGE_IMPORT_MAX_BYTES
    if len(data) > limit:
        raise GuideRejected(f"guide is too large ({human_size(len(data))}; the limit is {human_size(limit)})")
    if not data.strip():
        raise GuideRejected("guide is empty")
    if b"\x00" in data:
        raise GuideRejected("guide looks binary (it contains NUL bytes), not Markdown text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GuideRejected(f"guide is not valid UTF-8 (undecodable byte at offset {exc.start})") from None
    return text


# Emoji whose UTF-8 form contains a byte Windows-1252 cannot show (0x81, 0x8D, 0x8F, 0x90, 0x9D).
# A UTF-8 -> cp1252 round trip silently drops that byte, which ftfy cannot undo: "ðŸ”" + space was
# "🔍 ", "âŒ" + space was "❌ ". Earlier entries win when two emoji lose to the same mojibake.
_CP1252_UNSHOWABLE = (0x81, 0x8D, 0x8F, 0x90, 0x9D)
_LOSSY_EMOJI_CANDIDATES = "🔍❌❓❗❎❤❄❇⏰⏳⏱⏸⏹⏺⏩⏪⏭⏮🔐🔁📁"


def _lossy_emoji_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for emoji in _LOSSY_EMOJI_CANDIDATES:
        raw = emoji.encode("utf-8")
        kept = bytes(b for b in raw if b not in _CP1252_UNSHOWABLE)
        # Only one lost byte is recoverable with confidence.
        if len(kept) == len(raw) - 1 and len(kept) >= 2:
            table.setdefault(kept.decode("cp1252"), emoji)
    return table


_LOSSY_EMOJI = _lossy_emoji_table()
# A following UTF-8 continuation byte means the sequence is complete; ftfy repairs those itself.
_CP1252_CONTINUATION = "".join(
    sorted({bytes([b]).decode("cp1252", "ignore") for b in range(0x80, 0xC0)} - {""})
) + "".join(map(chr, _CP1252_UNSHOWABLE))
_LOSSY_EMOJI_RE = re.compile(
    "(" + "|".join(map(re.escape, sorted(_LOSSY_EMOJI, key=len, reverse=True))) + ")"
    + "(?![" + re.escape(_CP1252_CONTINUATION) + "])"
)
# Mac Roman mojibake ("\uf8ffüö®" for 🚨): ftfy only knows a few of these, so runs of Mac Roman's
# upper half are re-encoded and any 3/4-byte UTF-8 symbol inside them is restored.
_MAC_ROMAN_UPPER = bytes(range(0x80, 0x100)).decode("mac_roman")
_MAC_ROMAN_RUN_RE = re.compile("[" + re.escape(_MAC_ROMAN_UPPER) + "]{3,}")
_SYMBOL_CATEGORIES = {"So", "Sm", "Sk", "Sc", "Po", "Pd", "Ps", "Pe", "Pi", "Pf", "Mn", "Cf"}
_FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False, uncurl_quotes=False, fix_character_width=False, fix_latin_ligatures=False,
    explain=False,
)


def _repair_mac_roman_run(match: re.Match[str]) -> str:
    raw = match.group(0).encode("mac_roman")
    out: list[str] = []
    i = 0
    while i < len(raw):
        width = 4 if raw[i] >= 0xF0 else 3 if raw[i] >= 0xE0 else 0
        if width and i + width <= len(raw):
            try:
                char = raw[i:i + width].decode("utf-8")
            except UnicodeDecodeError:
                char = ""
            # Only symbols: a letter here is more likely genuine Mac Roman text than mojibake.
            if char and unicodedata.category(char) in _SYMBOL_CATEGORIES:
                out.append(char)
                i += width
                continue
        out.append(raw[i:i + 1].decode("mac_roman"))
        i += 1
    return "".join(out)


def repair_text(text: str) -> str:
    """Undo mojibake (cp1252 with lost bytes, Mac Roman, then everything ftfy knows)."""
    text = _LOSSY_EMOJI_RE.sub(lambda m: _LOSSY_EMOJI[m.group(1)], text)
    text = _MAC_ROMAN_RUN_RE.sub(_repair_mac_roman_run, text)
    return ftfy.fix_text(text, _FTFY_CONFIG)
