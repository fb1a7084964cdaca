"""The template sandbox: hostile templates, the value and method rules, budgets, and the
sandbox process. Through the API and the worker: test_hostile_templates_e2e.py."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from typing import Any

import pytest

from hushcast.messages import template_values as tv
from hushcast.messages.render import (
    MAX_BUDGET_FAILURES,
    BudgetExceeded,
    ContactData,
    MessageTemplate,
    TemplateError,
    check_template,
)
from hushcast.messages.sandbox import RenderSandbox
from hushcast.messages.velocity import compile_velocity, evaluate
from tests.support.hostile_templates import FAILS, HOSTILE, REJECTED, Hostile
from tests.support.hostile_templates import macro_bomb as _macro_bomb

CANARY = "canary-7f3a9"


@pytest.fixture(autouse=True)
def _canary_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUSHCAST_CANARY", CANARY)


def _never_leaks(text: str) -> None:
    for secret in (CANARY, os.getcwd(), "hushcast.", "<class", "object at 0x", "Traceback"):
        assert secret not in text, f"{secret!r} in {text[:300]!r}"


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.id for h in HOSTILE])
def test_hostile_template(hostile: Hostile) -> None:
    if hostile.expect == REJECTED:
        with pytest.raises(TemplateError) as info:
            check_template(hostile.text)
    else:
        check_template(hostile.text)
        template = MessageTemplate(hostile.text, None, None)
        with pytest.raises(TemplateError) as info:
            template.render(None, hostile.json_param)
    _never_leaks(str(info.value))


def test_corpus_is_large_and_mixed() -> None:
    assert len(HOSTILE) >= 40
    assert len({h.id for h in HOSTILE}) == len(HOSTILE)
    assert {h.expect for h in HOSTILE} == {REJECTED, FAILS}


# ------------------------------------------------------------ rules at run time
# The translator refuses forbidden names when a template is saved; these tests build
# programs whose data or names the translator never saw, so only the runtime rules stand.


def run(source: str, data: Any = None, limits: tv.Limits = tv.FULL) -> str:
    return evaluate(compile_velocity(source), {"data": data if data is not None else {}}, limits)


class Secretive:
    """A foreign object that slipped into a context: it must answer as undefined."""

    secret = CANARY

    def __str__(self) -> str:
        return CANARY

    def get(self, key: str) -> str:
        return CANARY


def test_foreign_objects_in_the_context_are_undefined() -> None:
    assert run("$data.get('x')", {"x": Secretive()}) == "$data.get('x')"
    assert run("$!data.get('x').get('y')", {"x": Secretive()}) == ""
    out = evaluate(
        compile_velocity("$obj $obj.secret $!obj.get('a')"), {"obj": Secretive()}, tv.FULL
    )
    assert out == "$obj $obj.secret "


def test_str_subclasses_are_not_strings() -> None:
    class Sneaky(str):
        def upper(self) -> str:  # would run if dispatch used the object's own methods
            return CANARY

    assert run("$!data.get('s').toUpperCase()", {"s": Sneaky("x")}) == ""


def test_map_keys_that_look_like_internals_are_just_keys() -> None:
    # Data may hold any key; reading it is a dictionary look-up, nothing more.
    assert run("$data.get('__class__')", {"__class__": "k"}) == "k"
    assert run("$!data.get('__class__')", {}) == ""


def test_unlisted_methods_are_undefined_at_run_time() -> None:
    # Built by hand, as if the translator had let the name through.
    from hushcast.messages.velocity_nodes import Call, Output, Program, Reference

    for name in ("__class__", "format", "upper", "encode", "getClass", "pop", "__init__"):
        ref = Reference("data", (Call("get", ()),), False, None, "$data")
        ref = Reference("data", (Call(name, ()),), False, None, f"$data.{name}()")
        program = Program((Output(ref),), {})
        assert evaluate(program, {"data": {"a": "b"}}, tv.FULL) == f"$data.{name}()"
    assert tv.call_method(tv.Budget(tv.FULL), "abc", "__class__", []) is None
    assert tv.call_method(tv.Budget(tv.FULL), "abc", "upper", []) is None
    assert tv.get_property(tv.Budget(tv.FULL), "abc", "__class__") is None


def test_documented_methods() -> None:
    data = {"s": " Hello, World ", "l": ["a", "b", "c"], "m": {"k": 1, "j": 2}, "n": 7}
    assert run("$data.get('s').trim().toLowerCase()", data) == "hello, world"
    assert run("$data.get('s').trim().substring(0, 5)", data) == "Hello"
    assert run("$data.get('s').replace('World', 'You')", data) == " Hello, You "
    assert run("$data.get('s').trim().split(', ').size()", data) == "2"
    assert run("$data.get('s').contains('World') $data.get('s').indexOf('W')", data) == "True 8"
    assert run("$data.get('s').trim().startsWith('He') $data.get('s').endsWith('x')", data) == (
        "True False"
    )
    assert run(
        "$data.get('l').size() $data.get('l').get(1) $data.get('l').contains('c')", data
    ) == ("3 b True")
    assert run(
        "$data.get('m').keySet() $data.get('m').values() $data.get('m').containsKey('k')", data
    ) == ("[k, j] [1, 2] True")
    assert (
        run("$data.get('s').trim().replaceAll('([A-Za-z]+), ([A-Za-z]+)', '$2 $1')", data)
        == "World Hello"
    )
    assert run("$data.get('s').trim().matches('H.*d')", data) == "True"
    assert run(
        "$data.get('n').equals(7) $data.get('s').isEmpty() $data.get('s').length()", data
    ) == ("True False 14")
    assert run("$data.get('l').get(0).equals('a') ${data.missing|'dflt'}", data) == "True dflt"
    assert run("#set($m = {})#set($m.x = 5)$m.x $m.get('x')", data) == "5 5"


def test_java_arithmetic() -> None:
    assert run("#set($x = -7 / 2)$x") == "-3"
    assert run("#set($x = -7 % 2)$x") == "-1"
    assert run("#set($x = 7.5 / 2)$x") == "3.75"
    assert run("#set($x = 'n=' + 5)$x") == "n=5"
    assert run("#if(2 + 3 * 4 == 14 && !(1 > 2))ok#end") == "ok"
    with pytest.raises(TemplateError, match="division by zero"):
        run("#set($x = 1 / 0)$x")
    with pytest.raises(TemplateError, match="overflow"):
        run("#set($x = 9223372036854775807 + 1)$x")


def test_foreach_helpers_and_map_values() -> None:
    data = {"m": {"a": 1, "b": 2}, "l": ["x", "y"]}
    assert run("#foreach($v in $data.get('m'))$v#end", data) == "12"
    assert run(
        "#foreach($v in $data.get('l'))$velocityCount:$v#if($velocityHasNext),#end#end", data
    ) == ("1:x,2:y")
    assert run(
        "#foreach($v in $data.get('l'))$foreach.index$foreach.first$foreach.last #end", data
    ) == ("0TrueFalse 1FalseTrue ")


def test_unknown_macro_call_is_text_and_stop_stops() -> None:
    assert run("Sale #sale(50) now") == "Sale #sale(50) now"
    assert run("#macro(hi $n)Hi $n!#end#hi('Ann') then#stop more") == "Hi Ann! then"


def test_templates_cannot_change_the_contacts_values() -> None:
    contact = ContactData(fields={"tags": ["vip"]})
    template = MessageTemplate("#set($d = $data.get('tags').add('x'))$data.get('tags')", None, None)
    assert template.render(contact, None).text == "[vip, x]"
    assert template.render(contact, None).text == "[vip, x]"
    assert contact.fields == {"tags": ["vip"]}


# ------------------------------------------------------------ budgets


def test_fast_budget_is_exceeded_by_heavy_templates_only() -> None:
    # By work, not wall time (a loaded machine may stretch 5 ms): FAST's steps and
    # characters with a generous clock.
    fast_by_work = dataclasses.replace(tv.FAST, seconds=60)
    ordinary = MessageTemplate(
        "#foreach($i in $data.get('items'))$i.get('name') x $i.get('qty')#end", None, None
    )
    data = json.dumps({"items": [{"name": f"n{i}", "qty": i} for i in range(50)]})
    assert ordinary.render(None, data, fast_by_work).text.startswith("n0 x 0")
    with pytest.raises(BudgetExceeded, match="steps"):
        MessageTemplate(_macro_bomb(), None, None).render(None, None, fast_by_work)


def test_budget_failures_stop_further_renders_of_that_template() -> None:
    template = MessageTemplate(_macro_bomb(14), None, None)
    small = tv.Limits(steps=1_000, alloc=10_000, seconds=1.0)
    for _ in range(MAX_BUDGET_FAILURES):
        with pytest.raises(BudgetExceeded, match="steps"):
            template.render(None, None, tv.FULL if False else small)
        template.budget_failures += 1  # as a FULL or sandbox failure counts
    with pytest.raises(BudgetExceeded, match="not rendered again"):
        template.render(None, None)


def test_any_exception_inside_a_render_is_a_template_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any) -> str:
        raise RecursionError("deep")

    monkeypatch.setattr(tv, "output_str", boom)
    with pytest.raises(TemplateError):
        MessageTemplate("$data.get('x')", None, None).render(None, '{"x": 1}')


# ------------------------------------------------------------ the sandbox process


def test_render_async_moves_heavy_renders_to_the_sandbox() -> None:
    from hushcast.messages import sandbox as sb

    box = sb.default_sandbox()
    before = box.renders
    light = MessageTemplate("Hi $!data.get('n')", None, None)
    heavy = MessageTemplate(
        "#foreach($i in [1..6000])#set($s = \"$i\")#end done $!data.get('n')", None, None
    )

    async def go() -> tuple[str, str]:
        a = await light.render_async(None, '{"n": 1}')
        b = await heavy.render_async(None, '{"n": 2}')
        return a.text, b.text

    assert asyncio.run(go()) == ("Hi 1", " done 2")
    assert box.renders == before + 1  # the light one never left the process


def test_hostile_render_in_the_sandbox_fails_cleanly() -> None:
    box = RenderSandbox(timeout_s=5)
    try:
        # Writes nothing: only the work and time bounds can stop it (not the output cap).
        bomb = MessageTemplate(_macro_bomb(leaf=""), None, None)
        # The work bound (500,000 steps) or the time bound (0.5 s), whichever the
        # machine reaches first: a quiet machine does the steps in under 0.5 s.
        with pytest.raises(BudgetExceeded, match="longer than|more than 500000 steps"):
            box.render_blocking(bomb.spec, None, None)
        ok = MessageTemplate("Hi $!data.get('n')", None, None)
        assert box.render_blocking(ok.spec, None, '{"n": 3}').text == "Hi 3"
    finally:
        box.close()


def test_sandbox_process_is_killed_past_its_timeout_and_replaced() -> None:
    box = RenderSandbox(timeout_s=0.2)
    try:
        ok = MessageTemplate("Hi $!data.get('n')", None, None)
        assert box.render_blocking(ok.spec, None, '{"n": 1}').text == "Hi 1"  # started
        bomb = MessageTemplate(_macro_bomb(leaf=""), None, None)  # 0.5 s of evaluator budget
        with pytest.raises(BudgetExceeded, match="longer than 0.2 s"):
            box.render_blocking(bomb.spec, None, None)
        assert box.kills == 1
        assert box.render_blocking(ok.spec, None, '{"n": 2}').text == "Hi 2"
    finally:
        box.close()


def test_sandbox_process_that_dies_fails_only_that_render() -> None:
    box = RenderSandbox(memory_bytes=8 * 1024 * 1024)  # too small for its own imports
    try:
        ok = MessageTemplate("Hi $!data.get('n')", None, None)
        with pytest.raises(BudgetExceeded, match="memory"):
            box.render_blocking(ok.spec, None, '{"n": 1}')
    finally:
        box.close()


def test_sandbox_process_environment_holds_no_server_secret() -> None:
    from hushcast.messages.sandbox import _Child

    child = _Child(1 << 30)
    try:
        with open(f"/proc/{child.process.pid}/environ", "rb") as f:
            environ = f.read().decode(errors="replace")
    finally:
        child.kill()
    assert CANARY not in environ
    assert "HUSHCAST" not in environ
    assert set(k.split("=", 1)[0] for k in environ.split("\0") if k) <= {
        "PATH",
        "PYTHONPATH",
        "PYTHONDONTWRITEBYTECODE",
    }


@pytest.mark.parametrize(
    "reply",
    [
        None,
        [],
        {"kind": "ok", "text": 1, "image_source": None, "buttons": []},
        {"kind": "ok", "text": "t", "image_source": None, "buttons": [{"text": "a"}]},
        {"kind": "ok", "text": "t", "image_source": None, "buttons": [{"text": "a", "url": 2}]},
        {"kind": "pwned", "text": "t"},
    ],
)
def test_a_childs_reply_is_data_checked_before_use(reply: Any) -> None:
    from hushcast.messages.sandbox import _rendered_from_reply

    with pytest.raises(TemplateError, match="nonsense"):
        _rendered_from_reply(reply)
