"""Rewrites imports of the paths moved by the "house in order" refactor (issue 11).

    python scripts/house_imports.py [PATH ...]      # files or directories; default: src tests bench scripts

- ``hushcast.core.app`` -> ``hushcast.app``; ``hushcast.core.models`` -> ``hushcast.models``
- the auth names of ``hushcast.core.deps`` (``extract_key``, ``KeyRateLimiter``,
  ``require_principal``, ``CurrentPrincipal``, ``reject_unstorable_text``) ->
  ``hushcast.orgs.deps``; the database dependencies stay in ``hushcast.core.deps``
- ``hushcast.delivery.metrics.MUTES`` / ``CLICKS`` -> ``hushcast.mute.metrics`` /
  ``hushcast.tracking.metrics`` (the queue-depth refresh is ``delivery.metrics.refresh_queue_depth``)
- test helpers (``tests.conftest``, ``tests.e2e.helpers``, ``tests.reliability``,
  ``tests.broadcasts``, ``tests.security``, helpers imported from other test modules)
  -> the modules of ``tests.support``

Idempotent: a file already rewritten is left as it is. It rewrites ``from X import ...``
statements (one line or parenthesised) and dotted references in strings (e.g.
``monkeypatch.setattr("hushcast.core.app....")``). Afterwards run
``ruff check --fix --select I,F401 <paths> && ruff format <paths>`` to sort the imports.
Prints the files it changed, and any imported name it does not know (to move by hand).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

S = "tests.support"

# old module -> {old name: (new module, new name)}; "*" = every other name; None = drop
# (a fixture now provided by a conftest.py).
MOVES: dict[str, dict[str, tuple[str, str] | None]] = {
    "hushcast.core.app": {"*": ("hushcast.app", "*")},
    "hushcast.core.models": {"*": ("hushcast.models", "*")},
    "hushcast.core.deps": {
        **{
            n: ("hushcast.orgs.deps", n)
            for n in (
                "extract_key",
                "KeyRateLimiter",
                "require_principal",
                "CurrentPrincipal",
                "reject_unstorable_text",
                "_unauthorized",
            )
        },
        "*": ("hushcast.core.deps", "*"),
    },
    "tests.conftest": {
        "PG_ADMIN_URL": (f"{S}.db", "PG_ADMIN_URL"),
        "_pg_admin": (f"{S}.db", "pg_admin"),
        "pg_admin": (f"{S}.db", "pg_admin"),
        "shared_database": (f"{S}.db", "shared_database"),
        "wipe": (f"{S}.db", "wipe"),
        "base_settings": (f"{S}.service", "base_settings"),
        "make_key": (f"{S}.service", "make_key"),
        "bearer": (f"{S}.service", "bearer"),
        "new_bot_token": (f"{S}.service", "new_bot_token"),
        "LiveService": (f"{S}.service", "LiveService"),
    },
    "tests.e2e.helpers": {
        "wait_for": (f"{S}.waiting", "wait_for"),
        "*": (f"{S}.live", "*"),
    },
    "tests.reliability": {
        "wait_for": (f"{S}.waiting", "wait_for"),
        "new_bot": (f"{S}.service", "new_bot"),
        **{n: (f"{S}.processes", n) for n in ("subprocess_env", "start_worker", "stop")},
        **{n: (f"{S}.telegram", n) for n in ("SendEvent", "RequestLog", "max_per_window")},
        "*": (f"{S}.reliability", "*"),
    },
    "tests.reliability.test_api_kill": {
        n: (f"{S}.processes", n) for n in ("free_port", "spawn_api", "wait_api")
    },
    "tests.broadcasts": {"*": (f"{S}.broadcasts", "*")},
    "tests.broadcasts.test_planner": {
        **{n: (f"{S}.broadcasts", n) for n in ("NOW", "new_broadcast", "plan_all", "queued")},
        "ten": None,
    },
    "tests.security": {"*": (f"{S}.checks", "*")},
    "tests.security.test_bad_input": {"World": (f"{S}.checks", "World"), "world": None},
    "tests.e2e.test_broadcast_e2e": {n: (f"{S}.live", n) for n in ("connect_bot", "register")},
    "tests.web.test_web_pages": {
        n: (f"{S}.web", n)
        for n in ("CSRF_RE", "csrf_of", "login", "signed_in", "register", "mute_state")
    },
    # Copies of the worker spawning: tests.support.processes.start_worker (its defaults:
    # lease 1 s, poll 0.05 s, the worker's stderr shown; pass lease_s=... to keep 2 s / 3 s).
    "tests.e2e.test_worker_crash": {
        "start_worker": (f"{S}.processes", "start_worker"),
        "count_final": ("tests.e2e.test_worker_crash", "count_final"),
    },
    "tests.e2e.test_delivery_rules_e2e": {
        "setup_bot": (f"{S}.live", "setup_bot"),
        "_worker": (f"{S}.processes", "start_worker"),
    },
    "tests.webhooks.helpers": {"*": (f"{S}.webhooks", "*")},
    "tests.yespo.bodies": {"*": (f"{S}.yespo_bodies", "*")},
    "tests.webhooks.receiver": {"*": (f"{S}.receiver", "*")},
    "tests.messages.hostile_templates": {
        "_macro_bomb": (f"{S}.hostile_templates", "macro_bomb"),
        "*": (f"{S}.hostile_templates", "*"),
    },
}

# Dotted references in strings (monkeypatch targets, docs): whole-module moves only.
DOTTED = {
    "hushcast.core.app": "hushcast.app",
    "hushcast.core.models": "hushcast.models",
    "tests.messages.hostile_templates": f"{S}.hostile_templates",
    "tests.webhooks.helpers": f"{S}.webhooks",
    "tests.yespo.bodies": f"{S}.yespo_bodies",
    "tests.webhooks.receiver": f"{S}.receiver",
}

FROM_RE = re.compile(
    r"^(?P<indent>[ \t]*)from[ \t]+(?P<mod>[\w.]+)[ \t]+import[ \t]+"
    r"(?:\((?P<paren>[^)]*)\)|(?P<plain>[^\n#]*?))[ \t]*(?P<comment>#[^\n]*)?$",
    re.MULTILINE,
)

unknown: list[str] = []


def _rewrite_from(match: re.Match[str], path: Path) -> str:
    mod = match["mod"]
    if mod not in MOVES:
        return match.group(0)
    table = MOVES[mod]
    body = match["paren"] if match["paren"] is not None else match["plain"]
    body = re.sub(r"#[^\n]*", "", body)
    names = [n.strip() for n in body.replace("\n", " ").split(",") if n.strip()]
    groups: dict[str, list[str]] = {}
    for item in names:
        name, _, alias = item.partition(" as ")
        name, alias = name.strip(), alias.strip()
        if name in table:
            target = table[name]
        elif "*" in table:
            target = table["*"]
        else:
            unknown.append(f"{path}: {mod}.{name}")
            target = (mod, name)
        if target is None:
            continue
        new_mod, new_name = target
        new_name = name if new_name == "*" else new_name
        if alias:
            text = f"{new_name} as {alias}"
        elif new_name != name:
            text = f"{new_name} as {name}"
        else:
            text = new_name
        groups.setdefault(new_mod, []).append(text)
    indent = match["indent"]
    comment = f"  {match['comment']}" if match["comment"] else ""
    if not groups:
        return f"{indent}pass{comment}" if indent else ""
    lines = [f"{indent}from {m} import {', '.join(ns)}{comment}" for m, ns in groups.items()]
    return "\n".join(lines)


# Metrics that moved out of hushcast.delivery.metrics to the module they count.
MOVED_METRICS = {"MUTES": "hushcast.mute.metrics", "CLICKS": "hushcast.tracking.metrics"}
DELIVERY_METRICS_IMPORT = "from hushcast.delivery import metrics\n"


def _moved_metrics(text: str) -> str:
    if DELIVERY_METRICS_IMPORT not in text:
        return text
    added = ""
    for name, module in MOVED_METRICS.items():
        if re.search(rf"\bmetrics\.{name}\b", text):
            text = re.sub(rf"\bmetrics\.{name}\b", name, text)
            added += f"from {module} import {name}\n"
    if not added:
        return text
    if not re.search(r"\bmetrics\.", text):
        return text.replace(DELIVERY_METRICS_IMPORT, added, 1)
    return text.replace(DELIVERY_METRICS_IMPORT, DELIVERY_METRICS_IMPORT + added, 1)


def rewrite(text: str, path: Path) -> str:
    text = _moved_metrics(text)
    text = FROM_RE.sub(lambda m: _rewrite_from(m, path), text)
    for old, new in DOTTED.items():
        text = re.sub(rf"\b{re.escape(old)}\b", new, text)
    # hushcast.core.deps.<auth name> in strings
    for name in MOVES["hushcast.core.deps"]:
        if name != "*":
            text = text.replace(f"hushcast.core.deps.{name}", f"hushcast.orgs.deps.{name}")
    return text


def files(args: list[str]) -> list[Path]:
    out: list[Path] = []
    for arg in args or ["src", "tests", "bench", "scripts"]:
        p = Path(arg)
        if p.is_dir():
            out.extend(q for q in sorted(p.rglob("*.py")) if ".venv" not in q.parts)
        elif p.suffix == ".py":
            out.append(p)
    return [p for p in out if p.resolve() != Path(__file__).resolve()]


def main(argv: list[str]) -> int:
    changed = 0
    for path in files(argv):
        old = path.read_text()
        new = rewrite(old, path)
        if new != old:
            path.write_text(new)
            changed += 1
            print(f"rewrote {path}")
    for line in unknown:
        print(f"unknown name (move by hand): {line}", file=sys.stderr)
    print(f"{changed} file(s) changed")
    return 1 if unknown else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
