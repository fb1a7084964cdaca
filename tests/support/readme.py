"""README's shell examples as data: which blocks run, what each curl must answer.

A ```sh block preceded by ``<!-- readme-test -->`` is run (all such blocks in order, in one
shell, so variables carry over); ``<!-- readme-test: serve -->`` marks the block that starts
the service (the test starts it itself, from the same Makefile line). Every other ```sh
block must say why it is not run: ``<!-- readme-test: skip REASON -->``.

In a run block, each ``curl`` that starts a line shows its answer right after it as a
comment (one inside ``$(...)`` gives its answer to the shell instead)::

    curl -s -u x:$KEY $HC/v1/apps/$APP
    # 200 {"appUuid": "...", "name": "Shop bot",
    #   "subscribers": 0}

``# NNN`` then the body (JSON, continued on lines starting with ``#`` and two spaces), or
nothing for an empty body. In the body ``"..."`` matches any value; everything else must be
equal, with the same keys: an edited response fails.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

WILDCARD = "..."
STATUS_MARK = "@@readme-status "
BLOCK_MARK = "@@readme-block "

_MARKER = re.compile(r"^<!--\s*readme-test(?::\s*(\w+)\s*(.*?))?\s*-->\s*$")
_RESPONSE = re.compile(r"^# (\d{3})(?: (.*))?$")
_CONTINUATION = re.compile(r"^#  +(.*)$")


@dataclass
class Expected:
    status: int
    body: str  # JSON text, or "" for an empty body
    line: int  # 1-based line in README, for messages


@dataclass
class Block:
    kind: str  # "run", "serve" or "skip"
    code: str
    line: int  # line of the opening fence
    reason: str = ""
    expected: list[Expected] = field(default_factory=list)


class ReadmeFormatError(ValueError):
    pass


def parse_blocks(text: str) -> list[Block]:
    """Every ```sh block with its marker; raises on an unmarked block or a response that
    follows no curl."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```sh":
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        code_lines = lines[i + 1 : j]
        marker = _MARKER.match(lines[i - 1]) if i > 0 else None
        if marker is None:
            raise ReadmeFormatError(
                f"README line {start + 1}: a ```sh block without <!-- readme-test --> "
                "or <!-- readme-test: skip REASON -->"
            )
        kind = {None: "run", "serve": "serve", "skip": "skip"}.get(marker.group(1))
        if kind is None:
            raise ReadmeFormatError(f"README line {start}: unknown marker {lines[i - 1]!r}")
        if kind == "skip" and not marker.group(2):
            raise ReadmeFormatError(f"README line {start}: a skipped block needs a reason")
        block = Block(kind, "\n".join(code_lines) + "\n", start + 1, marker.group(2) or "")
        if kind == "run":
            block.expected = parse_expected(code_lines, start + 2)
        blocks.append(block)
        i = j + 1
    return blocks


def parse_expected(code_lines: list[str], first_line: int) -> list[Expected]:
    """The responses shown in one block, in order; each must follow a curl command."""
    out: list[Expected] = []
    curls = 0
    k = 0
    while k < len(code_lines):
        line = code_lines[k]
        if line.lstrip().startswith("curl "):  # `X=$(curl ...)` keeps its answer: not shown
            curls += 1
        m = _RESPONSE.match(line)
        if m is None:
            k += 1
            continue
        parts = [m.group(2) or ""]
        k += 1
        while k < len(code_lines) and (c := _CONTINUATION.match(code_lines[k])):
            parts.append(c.group(1))
            k += 1
        out.append(Expected(int(m.group(1)), " ".join(parts).strip(), first_line + k - 1))
    if curls != len(out):
        raise ReadmeFormatError(
            f"README block at line {first_line - 1}: {curls} curl commands but "
            f"{len(out)} responses shown (show each curl's answer)"
        )
    return out


def script(blocks: list[Block]) -> str:
    """One bash script running the run blocks in order; each curl also prints its status
    after the body, and each block announces itself, so output is attributed."""
    head = [
        "set -euo pipefail",
        # Only a curl of the script itself prints its status: one inside $(...) or a pipe
        # (BASH_SUBSHELL > 0) hands its answer to the command around it untouched.
        "curl() { if [ $BASH_SUBSHELL -eq 0 ]; then "
        f"command curl \"$@\" -w '\\n{STATUS_MARK}%{{http_code}}\\n'; "
        'else command curl "$@"; fi; }',
    ]
    body = []
    for n, block in enumerate(blocks):
        if block.kind == "run":
            body += [f"echo '{BLOCK_MARK}{n}'", block.code]
    return "\n".join(head + body) + "\n"


@dataclass
class Actual:
    status: int
    body: str


def parse_output(stdout: str) -> dict[int, list[Actual] | str]:
    """Block number -> its curl answers in order; a block whose stdout holds anything but
    curl answers maps to that stray text instead."""
    result: dict[int, list[Actual] | str] = {}
    current: int | None = None
    pending: list[str] = []
    for raw in stdout.split("\n"):
        if raw.startswith(BLOCK_MARK):
            if current is not None and "".join(pending).strip():
                result[current] = "".join(pending)
            current = int(raw[len(BLOCK_MARK) :])
            result[current] = []
            pending = []
        elif raw.startswith(STATUS_MARK):
            answers = result.get(current) if current is not None else None
            if isinstance(answers, list):
                # The wrapper adds "\n" before the mark: the body is what came before it.
                answers.append(Actual(int(raw[len(STATUS_MARK) :]), "\n".join(pending)))
            pending = []
        else:
            pending.append(raw)
    if current is not None and "".join(pending).strip():
        result[current] = "".join(pending)
    return result


def mismatch(expected: Expected, actual: Actual) -> str | None:
    """Why ``actual`` is not the answer README shows, or None when it is."""
    if expected.status != actual.status:
        return f"status {actual.status}, README shows {expected.status}: {actual.body[:300]}"
    if not expected.body:
        return None if not actual.body.strip() else f"a body README does not show: {actual.body}"
    try:
        want = json.loads(expected.body)
    except ValueError as exc:
        return f"README's response is not JSON ({exc}): {expected.body}"
    try:
        got = json.loads(actual.body)
    except ValueError:
        return f"the answer is not JSON: {actual.body[:300]}"
    problem = diff(want, got, "$")
    return None if problem is None else f"{problem}\n  got: {actual.body}"


def diff(want: Any, got: Any, path: str) -> str | None:
    """The first difference between README's value (with wildcards) and the real one."""
    if want == WILDCARD:
        return None
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return f"{path}: README shows an object, got {json.dumps(got)}"
        if list(want) != list(got):
            return f"{path}: keys {list(got)}, README shows {list(want)}"
        for key in want:
            problem = diff(want[key], got[key], f"{path}.{key}")
            if problem:
                return problem
        return None
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return f"{path}: README shows {len(want)} items, got {json.dumps(got)[:300]}"
        for n, (w, g) in enumerate(zip(want, got, strict=True)):
            problem = diff(w, g, f"{path}[{n}]")
            if problem:
                return problem
        return None
    # bool is an int in Python: 1 must not stand for true.
    if type(want) is not type(got) and not (
        isinstance(want, int | float)
        and isinstance(got, int | float)
        and not isinstance(want, bool)
        and not isinstance(got, bool)
    ):
        return f"{path}: {json.dumps(got)}, README shows {json.dumps(want)}"
    if want != got:
        return f"{path}: {json.dumps(got)}, README shows {json.dumps(want)}"
    return None
