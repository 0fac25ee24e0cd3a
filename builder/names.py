"""File names from untrusted track names: the twin of ``extension/shared/names.js``'s
``safeFileName``; both pass ``tests/data/file-names.json``.

The cut falls between grapheme clusters (Unicode's extended clusters, UAX #29) without a new
dependency: combining and spacing marks, variation selectors, emoji modifiers and tag sequences
stay with their base, regional-indicator pairs (flags) and emoji ZWJ sequences stay whole (the
rule removes U+200D first; ``graphemes`` handles it for any other use). Not
implemented (the browser's ``Intl.Segmenter`` does them): Hangul jamo sequences that NFC does not
compose, and prepended concatenation marks; there a cut may fall inside a cluster, never inside
a code point.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_CHARS = 120
MAX_NAME_BYTES = 200  # filesystems cap a name at 255 bytes; "-<stem>.wav" follows

_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE | re.ASCII)
_INVISIBLE = frozenset(
    [0x061C, 0x2060, 0xFEFF, 0x2028, 0x2029, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\:*?\"<>|]+")
_EDGES = re.compile(r"^[\s.]+|[\s.]+$")
_ZWJ = 0x200D
# Extended_Pictographic, by the blocks that hold it (the JS side reads the exact property; they
# differ only for rare symbols in these blocks that are not emoji).
_PICTOGRAPHS = ((0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049), (0x2122, 0x2122),
                (0x2139, 0x2139), (0x2194, 0x21AA), (0x231A, 0x23FA), (0x24C2, 0x24C2), (0x25AA, 0x25FE),
                (0x2600, 0x27BF), (0x2934, 0x2935), (0x2B05, 0x2B55), (0x3030, 0x3030), (0x303D, 0x303D),
                (0x3297, 0x3299), (0x1F000, 0x1F0FF), (0x1F10D, 0x1F10F), (0x1F12F, 0x1F12F),
                (0x1F16C, 0x1F171), (0x1F17E, 0x1F17F), (0x1F18E, 0x1F18E), (0x1F191, 0x1F19A),
                (0x1F1AD, 0x1F1E5), (0x1F201, 0x1F23F), (0x1F249, 0x1F3FA), (0x1F400, 0x1F53D),
                (0x1F546, 0x1F64F), (0x1F680, 0x1F6FF), (0x1F774, 0x1F77F), (0x1F7D5, 0x1F7FF),
                (0x1F80C, 0x1F80F), (0x1F848, 0x1F84F), (0x1F85A, 0x1F85F), (0x1F888, 0x1F88F),
                (0x1F8AE, 0x1F8FF), (0x1F90C, 0x1F93A), (0x1F93C, 0x1F945), (0x1F947, 0x1FAFF),
                (0x1FC00, 0x1FFFD))  # fmt: skip
_EMOJI_MODIFIERS = range(0x1F3FB, 0x1F400)
_TAGS = range(0xE0020, 0xE0080)
_REGIONAL = range(0x1F1E6, 0x1F200)


def _pictograph(char: str) -> bool:
    cp = ord(char)
    return any(lo <= cp <= hi for lo, hi in _PICTOGRAPHS)


def _extends(char: str) -> bool:
    """Joins the cluster before it (UAX #29 Extend and SpacingMark, approximately)."""
    cp = ord(char)
    return unicodedata.category(char) in ("Mn", "Me", "Mc") or cp in _EMOJI_MODIFIERS or cp in _TAGS or cp == 0x200C


def graphemes(text: str) -> list[str]:
    clusters: list[str] = []
    i = 0
    while i < len(text):
        start = i
        if ord(text[i]) in _REGIONAL and i + 1 < len(text) and ord(text[i + 1]) in _REGIONAL:
            i += 2  # a flag: regional indicators pair from the start of a run
        else:
            i += 1
        while i < len(text):
            if _extends(text[i]):
                i += 1
            elif ord(text[i]) == _ZWJ:
                i += 1
                # an emoji ZWJ sequence: the next pictograph belongs to this cluster
                if i < len(text) and _pictograph(text[i]) and _pictograph(text[start]):
                    i += 1
            else:
                break
        clusters.append(text[start:i])
    return clusters


def _cut(text: str) -> str:
    chars = size = 0
    kept: list[str] = []
    for cluster in graphemes(text):
        chars += len(cluster)
        size += len(cluster.encode("utf-8", "surrogatepass"))
        if chars > MAX_NAME_CHARS or size > MAX_NAME_BYTES:
            break
        kept.append(cluster)
    return "".join(kept)


def safe_file_name(name: str) -> str:
    """No bidi, zero-width or line-separator characters, no path separators, control or reserved
    characters, no leading or trailing dots or spaces; cut by grapheme to MAX_NAME_CHARS
    characters and MAX_NAME_BYTES bytes; never a Windows device name."""
    text = unicodedata.normalize("NFC", name)
    visible = "".join(c for c in text if ord(c) not in _INVISIBLE)  # U+200D too: see names.js
    trimmed = _EDGES.sub("", _UNSAFE.sub("_", visible))
    cleaned = re.sub(r"[\s.]+$", "", _cut(trimmed))
    if not cleaned:
        return "track"
    return f"track_{cleaned}" if _RESERVED.match(cleaned) else cleaned
