"""Bytes to text: reading files (plain or gzip), decoding them, and telling HTML from plain text.

Decoding order: a byte-order mark, then the charset the HTML declares in a ``<meta>`` tag, then
detection (charset-normalizer); undecodable bytes become U+FFFD, never an exception.
"""

from __future__ import annotations

import codecs
import re
import sys
import zlib
from pathlib import Path

PAGE_SUFFIXES = (".html", ".htm", ".xhtml", ".txt")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")


class ReadError(ValueError):
    """An input that cannot be read as a page; the message says why in one line."""


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,300}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.()+-]{1,40})""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9_.:-]{1,40})""")
GZIP_MAGIC = b"\x1f\x8b"


def gunzip(data: bytes, limit: int | None = None) -> bytes:
    """Inflate gzip bytes, refusing corrupt streams and (with ``limit``) ones that inflate too far."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit or 0)
    except zlib.error as error:
        raise ReadError(f"corrupt gzip data ({error})") from None
    if limit and inflater.unconsumed_tail:
        raise ReadError(f"gzip data inflates to more than {limit} bytes")
    if not inflater.eof:
        raise ReadError("truncated gzip data")
    return out


def read_bytes(path: str | Path, max_bytes: int | None = None) -> bytes:
    """The bytes of a page file (``-`` = standard input), inflated when gzip-compressed."""
    try:
        if str(path) == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as stream:
                data = stream.read() if max_bytes is None else stream.read(max_bytes + 1)
    except IsADirectoryError:
        raise ReadError(f"{path}: is a directory") from None
    except OSError as error:
        raise ReadError(f"{path}: {error.strerror or error}") from None
    if data[:2] == GZIP_MAGIC:
        data = gunzip(data, max_bytes)
    if max_bytes is not None and len(data) > max_bytes:
        raise ReadError(f"{path}: larger than {max_bytes} bytes")
    return data


def _known_codec(name: bytes | str) -> str | None:
    label = name.decode("ascii", "ignore") if isinstance(name, bytes) else name
    try:
        codec = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    # The web treats these labels as their supersets (WHATWG encoding standard).
    return {
        "latin-1": "cp1252",
        "iso8859-1": "cp1252",
        "ascii": "cp1252",
        "gb2312": "gb18030",
        "gbk": "gb18030",
    }.get(codec, codec)


def declared_charset(data: bytes) -> str | None:
    """The charset an HTML/XML document declares near its start, if Python knows it."""
    head = data[:4096]
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    if not match:
        return None
    codec = _known_codec(match.group(1))
    # A document read as bytes cannot really be UTF-16 if it declared so in ASCII: ignore that lie.
    if codec and codec.startswith("utf-16"):
        return None
    return codec


#: Declared charsets whose text read as latin-1 is just that text (latin-1 is a subset of cp1252).
_LATIN = frozenset(("cp1252", "latin-1", "iso8859-15"))
_HIGH_BYTES = bytes(range(128, 256))


def undo_latin1_misreading(text: str) -> str:
    """An HTML page handed over as text that was decoded as latin-1 (or windows-1252) although it is in
    another charset, decoded as it should have been (``requests`` gives ``response.text`` in ISO-8859-1
    when the server names no charset: a GB2312 page turns into "Ê× Ò³").

    The charset is the one the page declares; a page that declares none is read as UTF-8 if its bytes
    are UTF-8, else in the charset its bytes read in (see ``_undeclared_reading``). Left as they are:
    text with a character neither latin-1 nor windows-1252 holds, text declaring a Latin charset, text
    with too few characters beyond ASCII for its charset (a tenth; UTF-8 declared: any), and bytes that
    the charset cannot read (more than one sequence in a thousand characters broken).
    """
    if text.isascii():
        return text
    data: bytes | None
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError as error:
        # windows-1252 (which replaced the five bytes it has no character for by U+FFFD) is tried only
        # where the characters beyond ASCII are many: what the text of any other page has few of.
        first = text[error.start]
        many = first in _CP1252_ONLY and (len(text) - len(text.encode("ascii", "ignore"))) * 10 >= len(text)
        data = _encode_or_none(text.replace("\ufffd", "?"), "cp1252") if many and _reads(text) else None
        if data is None:
            return text  # it holds characters beyond latin-1: it was decoded as something else
    high = len(data) - len(data.translate(None, _HIGH_BYTES))
    declared = declared_charset(data)
    if declared in _LATIN:
        return text
    if declared == "utf-8":  # UTF-8's structure is its own check: latin-1 text never reads as UTF-8
        try:
            return data.decode(declared)
        except UnicodeDecodeError:
            return text
    # A double-byte charset (GB18030, Big5, Shift_JIS...) reads many latin-1 letter pairs, so ask for
    # what a page in it looks like read as latin-1: a tenth of its characters or more beyond ASCII. A
    # few broken sequences happen in real pages (one in a thousand characters is let through).
    if high * 10 < len(data):
        return text
    if declared is None:
        return _undeclared_reading(data, high) or text
    repaired = data.decode(declared, errors="replace")
    return repaired if _reads(repaired) else text


#: What windows-1252 reads bytes beyond ASCII as, besides latin-1's characters (and U+FFFD for the five
#: bytes it has no character for).
_CP1252_ONLY = frozenset(bytes(range(0x80, 0xA0)).decode("cp1252", errors="replace"))


def _encode_or_none(text: str, codec: str) -> bytes | None:
    try:
        return text.encode(codec)
    except UnicodeEncodeError:
        return None


def _reads(text: str) -> bool:
    """At most one broken sequence (U+FFFD) in a thousand characters."""
    return text.count("\ufffd") * 1000 <= len(text)


#: Multi-byte charsets an undeclared page is tried in (the web's most used first: it wins a tie).
_MULTI_BYTE = ("gb18030", "big5", "shift_jis", "euc_kr", "euc_jp")
#: Every multi-byte charset detection may name (as ``codecs`` names them): supersets and variants of those.
_MULTI_BYTE_FAMILY = frozenset(
    """big5 big5hkscs cp932 cp949 cp950 euc_jis_2004 euc_jisx0213 euc_jp euc_kr gb18030 gb2312 gbk hz
    iso2022_jp iso2022_kr johab shift_jis shift_jis_2004 shift_jisx0213""".split()
)
_HIGH_RUN = re.compile(rb"[\x80-\xff]{2,}")


def _undeclared_reading(data: bytes, high: int) -> str | None:
    """``data`` (the bytes of a page that declares no charset, read as latin-1 or windows-1252) in its
    real charset, or None.

    Letters of a Latin language stand alone beyond ASCII (``café``); in UTF-8, a double-byte charset or a
    Cyrillic code page, most bytes beyond ASCII come in runs of two or more. UTF-8 reads only UTF-8. A
    double-byte charset that reads the bytes comes next: detection gives up on a charset at its first
    broken sequence (a page cut in the middle of a character; a byte windows-1252 replaced), then
    guesses a Cyrillic code page, which reads any bytes, whereas Cyrillic words of odd length break
    every double-byte charset. Detection's own double-byte guess wins unless it reads worse (EUC-JP's bytes
    read as GB18030 too). Last, any other charset detection finds.
    """
    if sum(map(len, _HIGH_RUN.findall(data))) * 2 < high:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    guess = codecs.lookup(best.encoding).name if best is not None and best.encoding else None
    # (KOI8-R's lower-case letters read as Shift_JIS's half-width katakana, which Japanese uses little.)
    codecs_tried = [c for c in _MULTI_BYTE if not _misread(data, c)]
    readings = [data.decode(codec, errors="replace") for codec in codecs_tried]
    fewest = min(readings, key=lambda reading: reading.count("\ufffd"))
    if guess in _MULTI_BYTE_FAMILY and not _misread(data, guess):
        # detection's own variant (cp932 for Shift_JIS...) wins, unless it reads worse
        guessed = data.decode(guess, errors="replace")
        if guessed.count("\ufffd") <= fewest.count("\ufffd"):
            fewest = guessed
    if _reads(fewest):
        return fewest
    if guess is not None and guess not in _LATIN_GUESSES:
        reading = decode(data)
        if _reads(reading):
            return reading
    return None


def decode(data: bytes | str) -> str:
    """Decode page bytes to text: BOM, then declared charset, then detection, then UTF-8 with U+FFFD."""
    if isinstance(data, str):
        return data
    if not data:
        return ""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = declared_charset(data)
    if declared:
        try:
            text = data.decode(declared)
        except UnicodeDecodeError:
            pass  # the declaration lies: fall through to detection
        else:
            if declared in _CYRILLIC_CODECS:  # Russian pages often declared one Cyrillic code page, used another
                return _undo_cyrillic_lie(data, declared) or text
            return text
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is not None and best.encoding:
        guess = codecs.lookup(best.encoding).name
        if guess in _CYRILLIC_CODECS or (guess in _KANA_GUESSES and _mostly_halfwidth_kana(data, guess)):
            # Short Cyrillic text fools detection: KOI8-R's lower-case letters are Shift_JIS's half-width
            # katakana, and the Cyrillic code pages swap cases against each other. Read the letters.
            cyrillic = _cyrillic_reading(data)
            if cyrillic is not None:
                return cyrillic
        if guess in _KOREAN_GUESSES and _mostly_hanja(data, guess):
            # Chinese bytes read as Korean too (detection's tie-break differs between its versions)
            for chinese in ("gb18030", "big5"):
                try:
                    return data.decode(chinese)
                except UnicodeDecodeError:
                    pass
        if guess in _LATIN_GUESSES and guess != "cp1252":
            # Detection cannot tell the single-byte Latin code pages apart on a little text; windows-1252
            # is the web's default for unlabelled Western pages (WHATWG), so it wins when it decodes.
            try:
                return data.decode("cp1252")
            except UnicodeDecodeError:
                pass
        return data.decode(best.encoding, errors="replace")
    return data.decode("utf-8", errors="replace")


_LATIN_GUESSES = frozenset(
    [
        "cp1250",
        "cp1252",
        "cp1254",
        "cp1257",
        "iso8859-1",
        "iso8859-2",
        "iso8859-3",
        "iso8859-4",
        "iso8859-9",
        "iso8859-10",
        "iso8859-13",
        "iso8859-14",
        "iso8859-15",
        "iso8859-16",
        "mac-roman",
        "mac-latin2",
        "cp850",
    ]
)


_CYRILLIC_CODECS = ("koi8-r", "cp1251", "iso8859-5", "cp866", "mac-cyrillic", "koi8-u")
_KANA_GUESSES = frozenset(["cp932", "shift_jis", "shift_jis_2004", "shift_jisx0213", "euc_jp", "euc_jis_2004"])
#: The ten most frequent letters of Russian text; they make up more than half of its letters.
_COMMON_CYRILLIC = frozenset("оеаинтсрвл")


_KOREAN_GUESSES = frozenset(["cp949", "euc_kr", "johab", "iso2022_kr"])


def _misread(data: bytes, codec: str) -> bool:
    """Whether a multi-byte codec reads ``data`` as text nobody writes in its language (KOI8-R bytes as
    half-width katakana, GB2312 bytes as Korean thick with Hanja)."""
    if codec in _KANA_GUESSES:
        return _mostly_halfwidth_kana(data, codec)
    if codec in _KOREAN_GUESSES:
        return _mostly_hanja(data, codec)
    return False


def _mostly_hanja(data: bytes, codec: str) -> bool:
    """Whether bytes read in a Korean codec hold Hanja more than half as often as Hangul: Korean is
    written in Hangul with a rare Chinese character, whereas Chinese GB2312 bytes read as Korean give
    0.7 to 1.5 Hanja per Hangul syllable (chinese-wce's pages), their lead bytes past Hangul's being Hanja."""
    text = data[:20_000].decode(codec, errors="ignore")
    hangul = sum(1 for c in text if "\uac00" <= c <= "\ud7a3")
    hanja = sum(1 for c in text if "\u4e00" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff")
    return hanja * 2 > hangul and hanja > 0


def _mostly_halfwidth_kana(data: bytes, codec: str) -> bool:
    """Whether bytes read in a Japanese codec are mostly half-width katakana, which real Japanese text
    uses little but which KOI8-R's lower-case letters turn into."""
    text = data[:20_000].decode(codec, errors="ignore")
    wide = sum(1 for c in text if ord(c) > 0x7F)
    kana = sum(1 for c in text if "\uff61" <= c <= "\uff9f")
    return wide > 0 and kana > wide / 2


def _cyrillic_profile(text: str) -> tuple[float, float, float] | None:
    """Shares of a decoding's Cyrillic letters that are lower case and among the commonest Russian ones,
    and of its non-ASCII characters that are Cyrillic letters; None when it is not Cyrillic text."""
    wide = [c for c in text if ord(c) > 0x7F]
    letters = [c for c in wide if "\u0400" <= c <= "\u04ff"]
    if not letters or len(letters) < 0.8 * len(wide):
        return None
    lower = sum(1 for c in letters if c.islower()) / len(letters)
    common = sum(1 for c in letters if c.lower() in _COMMON_CYRILLIC) / len(letters)
    return lower, common, len(letters) / len(wide)


def _cyrillic_reading(data: bytes) -> str | None:
    """The text of the Cyrillic code page under which the bytes read most like Cyrillic prose (mostly lower
    case, common letters common), if any does."""
    best, best_score = None, 1.2  # below this no decoding reads like prose (e.g. cp1251 read as KOI8-R)
    sample = data[:20_000]
    for codec in _CYRILLIC_CODECS:
        try:
            profile = _cyrillic_profile(sample.decode(codec))
        except UnicodeDecodeError:
            continue
        if profile is not None and (profile[0] + profile[1]) * profile[2] > best_score:
            best, best_score = codec, (profile[0] + profile[1]) * profile[2]
    return None if best is None else data.decode(best, errors="replace")


def _undo_cyrillic_lie(data: bytes, declared: str) -> str | None:
    """The text under another Cyrillic code page when the declared one reads as case-scrambled letters
    (``вЙВМЙПФЕЛБ``: KOI8-R read as windows-1251) and the other as lower-case prose with common letters no
    rarer. All-capital text stays as declared: its commonest letters give it away."""
    sample = data[:20_000]
    mine = _cyrillic_profile(sample.decode(declared, errors="replace"))
    if mine is None or mine[0] >= 0.5:
        return None
    best, best_score = None, 0.0
    for codec in _CYRILLIC_CODECS:
        try:
            profile = _cyrillic_profile(sample.decode(codec))
        except UnicodeDecodeError:
            continue
        if profile is not None and profile[0] >= 0.8 and profile[1] >= mine[1] and sum(profile) > best_score:
            best, best_score = codec, sum(profile)
    return None if best is None else data.decode(best, errors="replace")


_HTML_START = re.compile(
    r"^\s*(?:<!--.*?-->\s*)*(?:<\?xml|<!doctype\s+html|<html|<head|<body|<meta|<title|<frameset|<!--)",
    re.IGNORECASE | re.DOTALL,
)
_OPENING_TAG = re.compile(r"\s*<([A-Za-z][A-Za-z0-9]{0,20})\b[^<>]{0,2000}>")
_HTML_TAGS = re.compile(
    r"</?(?:html|head|body|div|p|span|a|br|table|tr|td|ul|li|h[1-6]|script|style|meta|link|img|section|article)\b",
    re.IGNORECASE,
)


def sniff_kind(text: str, name: str | None = None) -> str:
    """``html`` or ``text``: from the content, falling back to a file name's suffix when unsure."""
    head = text[:5000]
    if _HTML_START.match(head):
        return "html"
    opening = _OPENING_TAG.match(head)
    if opening and f"</{opening.group(1).lower()}" in text[:200_000].lower():
        return "html"  # a fragment that starts with an element and closes it: <p>...</p>
    tags = len(_HTML_TAGS.findall(head))
    if tags >= 3:
        return "html"
    if name:
        lower = name.lower().removesuffix(".gz")
        if lower.endswith(HTML_SUFFIXES) and tags >= 1:
            return "html"
    return "text"


def looks_binary(data: bytes) -> str | None:
    """Name the format of bytes that are plainly not a page (an image, PDF, archive...), else None."""
    signatures = {
        b"\x89PNG": "PNG image",
        b"%PDF": "PDF document",
        b"PK\x03\x04": "zip archive",
        b"GIF8": "GIF image",
        b"\xff\xd8\xff": "JPEG image",
        b"RIFF": "RIFF media",
        b"\x7fELF": "ELF binary",
    }
    for magic, label in signatures.items():
        if data.startswith(magic):
            return label
    sample = data[:4096]
    if sample and sample.count(b"\x00") > len(sample) // 4 and not _utf16_text(sample):
        return "binary data"
    return None


def _utf16_text(sample: bytes) -> bool:
    """Whether NUL-rich bytes are UTF-16 text without a BOM (every other byte NUL)."""
    even, odd = sample[0::2], sample[1::2]
    return even.count(0) > len(even) * 0.8 or odd.count(0) > len(odd) * 0.8


def decode_page(data: bytes, source: str = "") -> str:
    """Decode bytes meant to be one page, refusing binary formats with a clear message."""
    label = looks_binary(data)
    if label:
        raise ReadError(f"{source or 'input'}: not a page ({label})")
    if (
        b"\x00" in data[:4096]
        and _utf16_text(data[:4096])
        and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    ):
        even_nuls = data[0:4096:2].count(0)
        return data.decode("utf-16-be" if even_nuls > data[1:4096:2].count(0) else "utf-16-le", errors="replace")
    return decode(data)
