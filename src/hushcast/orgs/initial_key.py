"""Handing the first start's API key to the operator without putting it in the logs.

On a terminal (stdout is a TTY) the key is printed there, once. Otherwise (a service
manager, a container, a pipe: output that ends up in log storage) it is written once to a
new file readable by the owner alone (0600), and only that file's path is logged.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TextIO


def write_private(path: Path, text: str) -> Path:
    """Creates ``path`` (never overwrites; a sibling with a random suffix if it exists)
    with mode 0600 and writes ``text``; returns the path written."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for candidate in (path, path.with_name(f"{path.name}.{secrets.token_hex(4)}")):
        try:
            fd = os.open(candidate, flags, 0o600)
        except FileExistsError:
            continue
        try:
            os.fchmod(fd, 0o600)  # whatever the umask
            os.write(fd, text.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return candidate.resolve()
    raise FileExistsError(f"{path} and its alternative both exist")


def hand_over(key: str, key_file: Path, terminal: TextIO) -> Path | None:
    """Prints the key when ``terminal`` is a TTY (returns None); otherwise writes it to
    ``key_file`` and returns the path written."""
    if terminal.isatty():
        terminal.write(
            "First start: created organisation 'default'.\n"
            f"API key (shown once, store it now): {key}\n"
        )
        terminal.flush()
        return None
    return write_private(key_file, key + "\n")
