"""Digits as ids: ASCII only (str.isdigit also accepts e.g. Arabic-Indic digits).
To be replaced by the core helper of issue 12 when the branches merge."""


def ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
