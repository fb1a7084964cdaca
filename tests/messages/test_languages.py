"""The pure decision of which language version a recipient gets."""

from __future__ import annotations

import pytest

from hushcast.messages.languages import choose_language, is_language_code


@pytest.mark.parametrize(
    ("available", "language", "chosen"),
    [
        ({"uk", "pt"}, "uk", "uk"),
        ({"uk", "pt"}, "UK", "uk"),
        ({"uk", "pt"}, "pt_BR", "pt"),  # primary language when the region has none
        ({"pt-br", "pt"}, "pt-BR", "pt-br"),  # the exact code first
        ({"uk-ua"}, "uk", None),  # never a more specific one, never another language
        ({"uk", "pt"}, "de", None),
        ({"uk"}, None, None),
        ({"uk"}, "", None),
        (set(), "uk", None),
    ],
)
def test_choose_language(available: set[str], language: str | None, chosen: str | None) -> None:
    assert choose_language(available, language) == chosen


def test_is_language_code() -> None:
    assert all(is_language_code(c) for c in ("en", "uk", "pt-BR", "zh_Hant", " en "))
    assert not any(is_language_code(c) for c in ("", "e", "english!", "en-", "12"))
