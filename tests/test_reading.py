from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from storyline.classifier.reading import (
    ReadError,
    decode,
    decode_page,
    read_bytes,
    sniff_kind,
    undo_latin1_misreading,
)
from storyline.classifier.segment import segment

TEXT = "Ça coûte 5 € — naïve café"


def test_utf8_and_boms() -> None:
    assert decode(TEXT.encode("utf-8")) == TEXT
    assert decode(b"\xef\xbb\xbf" + TEXT.encode("utf-8")) == TEXT
    assert decode(TEXT.encode("utf-16")) == TEXT  # carries a BOM
    assert decode_page(TEXT.encode("utf-16-le")) == TEXT  # no BOM: recognised by its NUL bytes


def test_declared_charset_wins_over_detection() -> None:
    html = '<html><head><meta charset="windows-1252"></head><body>Ça coûte 5 €</body></html>'
    assert "Ça coûte 5 €" in decode(html.encode("cp1252"))
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=shift_jis"></head>'
        "<body>日本語のページです</body></html>"
    )
    assert "日本語のページです" in decode(html.encode("shift_jis"))


def test_lying_declaration_falls_back_to_detection() -> None:
    html = '<meta charset="utf-8"><p>Привет, это страница на русском языке, и её кодировка не та.</p>'
    assert "Привет" in decode(html.encode("koi8-r")) or "\ufffd" not in decode(html.encode("koi8-r"))


def test_undecodable_bytes_never_raise() -> None:
    assert isinstance(decode(b"\xff\xfe\xfa\x80 abc \x81\x82"), str)


def test_gzip_files_are_inflated(tmp_path: Path) -> None:
    path = tmp_path / "page.html.gz"
    path.write_bytes(gzip.compress(b"<p>hello</p>"))
    assert read_bytes(path) == b"<p>hello</p>"


def test_corrupt_gzip_is_a_read_error(tmp_path: Path) -> None:
    path = tmp_path / "page.html.gz"
    path.write_bytes(gzip.compress(b"<p>hello</p>" * 100)[:30])
    with pytest.raises(ReadError, match="gzip"):
        read_bytes(path)


def test_binary_behind_a_page_name_is_refused() -> None:
    with pytest.raises(ReadError, match="PNG"):
        decode_page(b"\x89PNG\r\n\x1a\n" + bytes(100), "image.html")


def test_sniff_kind() -> None:
    assert sniff_kind("<!DOCTYPE html><html><body>x</body></html>") == "html"
    assert sniff_kind("<div><p>one</p><p>two</p></div>") == "html"
    assert sniff_kind("Just a line of text.\n\nAnother paragraph.") == "text"
    assert sniff_kind("Price < 5 and > 3") == "text"


def test_unlabelled_western_bytes_read_as_windows_1252() -> None:
    html = '<meta charset="utf-8"><p>Ça coûte cher, à peu près.</p>'.encode("cp1252")
    assert "Ça coûte cher, à peu près." in decode(html)


def test_framesets_are_html_and_control_characters_are_dropped() -> None:
    from storyline.classifier.segment import segment

    assert sniff_kind("<frameset><frame src=a.html></frameset>") == "html"
    assert segment("<p>a\x00b\x01c\x1f d</p>").texts == ["abc d"]
    assert segment("line\x07 one\n\nline two", kind="text").texts == ["line one", "line two"]


def test_html_text_misread_as_latin1_is_decoded_as_it_declares() -> None:
    # requests' response.text is ISO-8859-1 when the server names no charset
    chinese = (
        '<html><head><meta charset="gb2312"><title>首页</title></head>'
        "<body><p>有道是历史始于五千年前文字的发明。</p></body></html>"
    )
    misread = chinese.encode("gb18030").decode("latin-1")
    assert undo_latin1_misreading(misread) == chinese
    assert segment(misread).texts == ["有道是历史始于五千年前文字的发明。"]
    utf8 = '<meta charset="utf-8"><p>It’s a “quote” — café</p>'
    assert undo_latin1_misreading(utf8.encode("utf-8").decode("latin-1")) == utf8


def test_html_text_misread_as_latin1_that_declares_no_charset_is_read_in_the_charset_of_its_bytes() -> None:
    pages = {
        "gb18030": "<html><body><p>有道是历史始于五千年前文字的发明。这是一个没有声明编码的网页。</p></body></html>",
        "big5": "<p>這是一個繁體中文的網頁，沒有聲明字元編碼。這只是一個測試而已。</p>",
        "shift_jis": "<p>日本語のページです。文字コードの宣言はありません。これはテストです。</p>",
        "euc_jp": "<p>日本語のページです。文字コードの宣言はありません。これはテストです。</p>",
        "euc_kr": "<p>한국어 페이지입니다. 문자 인코딩 선언이 없습니다. 이것은 시험입니다.</p>",
        "cp1251": "<p>Привет, мир! Это обычная страница на русском языке, без объявленной кодировки.</p>",
        "koi8_r": "<p>Привет, мир! Это обычная страница на русском языке, без объявленной кодировки.</p>",
        "utf-8": "<p>Привет, мир! 有道是历史始于五千年前文字的发明。</p>",
    }
    for codec, page in pages.items():
        assert undo_latin1_misreading(page.encode(codec).decode("latin-1")) == page, codec
    # windows-1252 replaced the bytes it has no character for (a GB18030 lead byte 0x81 here): the page
    # is still read, with that one character lost
    damaged = "<p>" + "历史始于五千年前文字的发明。" * 100 + "丂</p>"  # 丂 = 0x81 0x40 in GB18030
    read = undo_latin1_misreading(damaged.encode("gb18030").decode("cp1252", errors="replace"))
    assert read.startswith("<p>历史始于五千年前文字的发明。") and read.count("历史") == 100
    assert segment(pages["gb18030"].encode("gb18030").decode("latin-1")).texts == [pages["gb18030"][15:-18]]


def test_text_that_was_read_right_is_left_alone() -> None:
    spanish = '<meta charset="utf-8"><title>Twitter Lite se estrena en México y otros nueve países</title>'
    assert undo_latin1_misreading(spanish) == spanish  # latin-1 letters that are not UTF-8 bytes
    declared_gbk = '<meta charset="gbk"><p>Una página en español, con acentos: canción</p>'
    assert undo_latin1_misreading(declared_gbk) == declared_gbk  # too few bytes beyond ASCII for GBK
    beyond = '<meta charset="gb2312"><p>It’s fine</p>'  # ’ is not latin-1: not a latin-1 misreading
    assert undo_latin1_misreading(beyond) == beyond
    assert undo_latin1_misreading("<p>plain ascii</p>") == "<p>plain ascii</p>"
    french = "<p>Une page en français, sans déclaration: été, où, garçon, très bien, crème brûlée.</p>"
    assert undo_latin1_misreading(french) == french  # accents stand alone: not bytes of another charset
    replaced = "<p>plain text with one broken character: \ufffd, read as it is</p>"
    assert undo_latin1_misreading(replaced) == replaced
    quotes = "<p>It’s “quoted” — and that’s all, déjà vu.</p>"
    assert undo_latin1_misreading(quotes) == quotes


@pytest.mark.parametrize("guess", ["cp949", "euc_kr"])
def test_chinese_bytes_detection_calls_korean_are_read_as_chinese(guess: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # GB2312 bytes read as Korean too, with no broken sequence: charset-normalizer 3.4 guesses cp949 for
    # them, 3.5 gb18030. Whatever detection guesses, Hanja beside Hangul give the Chinese reading away.
    import charset_normalizer

    class Guess:
        encoding = guess

    class Matches:
        def best(self) -> Guess:
            return Guess()

    monkeypatch.setattr(charset_normalizer, "from_bytes", lambda data: Matches())
    chinese = "<p>图书馆星期六重新开放了。</p>"
    assert decode(chinese.encode("gb2312")) == chinese
    assert undo_latin1_misreading(chinese.encode("gb2312").decode("latin-1")) == chinese
    korean = "<p>도서관이 토요일에 다시 문을 열었습니다. 韓國 大統領</p>"  # a few Hanja in Korean text stay Korean
    assert decode(korean.encode("euc_kr")) == korean
    assert undo_latin1_misreading(korean.encode("euc_kr").decode("latin-1")) == korean
