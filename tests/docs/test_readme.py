"""README's shell examples run as written, against a fresh service, and answer what README
shows (format: tests/support/readme.py).

The service is what ``make run FAKE_TELEGRAM=1`` starts (the command is read from the
Makefile with ``make -n``), in an empty directory standing for a fresh clone: its default
database ``./var/hushcast.db`` and ``.venv`` (a link to this interpreter's). The one liberty
taken: the port is a free one, so ``http://127.0.0.1:8000`` is replaced by its URL.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port, stop
from tests.support.readme import (
    Actual,
    Block,
    Expected,
    ReadmeFormatError,
    diff,
    mismatch,
    parse_blocks,
    parse_output,
    script,
)
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOC_URL = "http://127.0.0.1:8000"


def clean_env(home: Path) -> dict[str, str]:
    """A newcomer's shell: none of the test run's HUSHCAST_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUSHCAST_")}
    env.update(HOME=str(home), LANG="C.UTF-8", TERM="dumb", COLUMNS="100")
    env.pop("VIRTUAL_ENV", None)
    return env


def serve_command(block: Block, port: int) -> list[str]:
    """The Makefile's recipe for README's serve block, on ``port``."""
    assert block.code.strip().startswith("make "), block.code
    dry = subprocess.run(
        [*shlex.split(block.code.strip()), "-n", "-C", str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (line,) = [x for x in dry.splitlines() if "hushcast serve" in x]
    argv = shlex.split(line)
    argv[0] = str(Path(sys.prefix) / "bin" / "hushcast")  # .venv/bin/hushcast
    return [*argv, "--port", str(port)]


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    if not (Path(sys.prefix) / "bin" / "activate").exists():
        pytest.skip("README's Quick start activates .venv: run the tests from a venv")
    (tmp_path / ".venv").symlink_to(sys.prefix)
    return tmp_path


@pytest.fixture
def service(fresh_clone: Path) -> Iterator[str]:
    blocks = parse_blocks(README.read_text())
    (serve,) = [b for b in blocks if b.kind == "serve"]
    port = free_port()
    log = (fresh_clone / "serve.log").open("wb")
    proc = subprocess.Popen(
        serve_command(serve, port),
        cwd=fresh_clone,
        env=clean_env(fresh_clone),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError((fresh_clone / "serve.log").read_text())
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, timeout=60, interval=0.05)
        yield url
    finally:
        stop(proc, 15)
        log.close()


def test_readme_examples_run_and_answer_as_shown(service: str, fresh_clone: Path) -> None:
    blocks = parse_blocks(README.read_text())
    run = [b for b in blocks if b.kind == "run"]
    assert len(run) >= 3, "README's Quick start lost its blocks"
    text = script(blocks).replace(DOC_URL, service)
    done = subprocess.run(
        ["bash", "-c", text],
        cwd=fresh_clone,
        env=clean_env(fresh_clone),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    outputs = parse_output(done.stdout)
    problems: list[str] = []
    for n, block in enumerate(blocks):
        if block.kind != "run":
            continue
        answers = outputs.get(n)
        if answers is None:
            problems.append(f"block at README line {block.line} did not run")
            break
        if isinstance(answers, str):
            problems.append(f"block at README line {block.line} printed: {answers[:500]}")
            continue
        for k, expected in enumerate(block.expected):
            if k >= len(answers):
                problems.append(f"README line {expected.line}: that curl never answered")
                break
            why = mismatch(expected, answers[k])
            if why:
                problems.append(f"README line {expected.line}: {why}")
    if done.returncode != 0:
        problems.append(f"the script stopped with exit code {done.returncode}")
    assert not problems, "\n".join(problems) + f"\n--- stderr:\n{done.stderr[-3000:]}"


# --- the comparison itself: an edited README response fails ----------------------------


def test_every_sh_block_is_run_or_says_why_not() -> None:
    blocks = parse_blocks(README.read_text())
    assert [b.kind for b in blocks].count("serve") == 1
    assert all(b.reason for b in blocks if b.kind == "skip")


def test_unmarked_block_and_unshown_answer_are_errors() -> None:
    with pytest.raises(ReadmeFormatError, match="without <!-- readme-test"):
        parse_blocks("text\n```sh\ncurl -s x\n```\n")
    with pytest.raises(ReadmeFormatError, match="1 curl commands but 0 responses"):
        parse_blocks("<!-- readme-test -->\n```sh\ncurl -s x\n```\n")
    with pytest.raises(ReadmeFormatError, match="needs a reason"):
        parse_blocks("<!-- readme-test: skip -->\n```sh\ncurl -s x\n```\n")


def test_responses_parse_with_continuations() -> None:
    (block,) = parse_blocks(
        "<!-- readme-test -->\n```sh\ncurl -s a \\\n  -d '{}'\n# 201 {\"a\": 1,\n"
        '#   "b": "..."}\ncurl -s -X DELETE b\n# 204\n```\n'
    )
    assert [(e.status, e.body) for e in block.expected] == [
        (201, '{"a": 1, "b": "..."}'),
        (204, ""),
    ]


def test_output_is_attributed_to_blocks_and_stray_output_is_caught() -> None:
    out = parse_output(
        '@@readme-block 1\n{"a": 1}\n@@readme-status 200\n[]\n@@readme-status 201\n'
        "@@readme-block 3\nhello\n"
    )
    assert out[1] == [Actual(200, '{"a": 1}'), Actual(201, "[]")]
    assert out[3] == "hello"


@pytest.mark.parametrize(
    ("shown", "real", "ok"),
    [
        ('{"a": 1, "b": "..."}', '{"a":1,"b":"2026-12-06T00:00:00Z"}', True),
        ('{"a": 1, "b": "..."}', '{"a":2,"b":"x"}', False),  # an edited value
        ('{"a": 1}', '{"a":1,"b":2}', False),  # a field README does not show
        ('{"b": 2, "a": 1}', '{"a":1,"b":2}', False),  # not in the order printed
        ('{"a": 30.0}', '{"a":30.0}', True),
        ('{"a": 1}', '{"a":true}', False),
        ('{"a": null}', '{"a":"x"}', False),
        ('[{"t": "1"}]', '[{"t":"1"},{"t":"2"}]', False),
        ("", "", True),
        ("", '{"a":1}', False),
    ],
)
def test_mismatch(shown: str, real: str, ok: bool) -> None:
    assert (mismatch(Expected(200, shown, 1), Actual(200, real)) is None) is ok


def test_status_is_compared() -> None:
    why = mismatch(Expected(201, "{}", 1), Actual(200, "{}"))
    assert why is not None and "status 200" in why
    assert diff("...", {"any": "thing"}, "$") is None
