"""Rendering a message for one recipient: Velocity over jsonParam, then merge tags."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from typing import Any

import pytest

from hushcast.messages.render import (
    ContactData,
    MessageTemplate,
    RenderedMessage,
    TemplateError,
    check_template,
    compile_message,
)
from hushcast.messages.template_values import MAX_DEPTH, MAX_VALUE_CHARS, java_str
from tests.support.cycles import cyclic_garbage

ANN = ContactData(
    first_name="Ann",
    last_name="Lee",
    email="ann@example.com",
    phone="380501234567",
    external_customer_id="ext-9",
    contact_id=42,
    fields={"City": "Kyiv", "Bonus": 150, "Empty": ""},
)


def render(
    text: str,
    json_param: Any = None,
    contact: ContactData | None = None,
    *,
    image: str | None = None,
    buttons: list[dict[str, Any]] | None = None,
    name: str = "Spring promo",
) -> RenderedMessage:
    if json_param is not None and not isinstance(json_param, str):
        json_param = json.dumps(json_param)
    return MessageTemplate(text, image, buttons, message_name=name).render(contact, json_param)


def text_of(text: str, json_param: Any = None, contact: ContactData | None = None) -> str:
    return render(text, json_param, contact).text


# ---------------------------------------------------------------- Velocity


def test_plain_text_passes_through() -> None:
    result = render("Hello there", None, None)
    assert result == RenderedMessage(text="Hello there", image_source=None, buttons=[])


def test_data_get() -> None:
    assert text_of("Hi $!data.get('name')!", {"name": "Bob"}) == "Hi Bob!"


def test_missing_key_is_empty_with_silent_reference() -> None:
    assert text_of("Hi $!data.get('name')!", {}) == "Hi !"
    assert text_of("Hi $!data.get('a').get(0).get('b')!", {}) == "Hi !"


def test_nested_list_get() -> None:
    data = {"orderData": [{"name": "Shoes", "qty": 2}, {"name": "Hat", "qty": 1}]}
    assert text_of("$!data.get('orderData').get(0).get('name')", data) == "Shoes"
    assert text_of("$!data.get('orderData').get(1).get('name')", data) == "Hat"
    assert text_of("$data.get('orderData').size()", data) == "2"
    assert text_of("$data.get('orderData').get(0).containsKey('qty')", data) == "True"


def test_foreach() -> None:
    data = {"items": [{"name": "A", "price": 10}, {"name": "B", "price": 5}]}
    text = (
        "#foreach($item in $!data.get('items'))"
        "$foreach.count. $item.get('name') = $item.get('price')#if($foreach.hasNext); #end"
        "#end"
    )
    assert text_of(text, data) == "1. A = 10; 2. B = 5"


def test_foreach_over_missing_list_renders_nothing() -> None:
    assert text_of("x#foreach($i in $!data.get('none'))$i#end", {}) == "x"


def test_if_else() -> None:
    text = "#if($!data.get('vip'))Dear VIP#elseif($data.get('n') > 3)Regular#else Hi#end"
    assert text_of(text, {"vip": True}) == "Dear VIP"
    assert text_of(text, {"vip": False, "n": 5}) == "Regular"
    assert text_of(text, {"n": 1}) == " Hi"


def test_if_equality_on_strings() -> None:
    text = "#if($data.get('lang') == 'uk')Привіт#else Hello#end"
    assert text_of(text, {"lang": "uk"}) == "Привіт"


def test_arithmetic() -> None:
    data = {"price": 120, "qty": 3, "discount": 20}
    text = "#set($total = $data.get('price') * $data.get('qty') - $data.get('discount'))$total"
    assert text_of(text, data) == "340"
    assert text_of("#set($x = $data.get('n') + 1)$x", {"n": 41}) == "42"


def test_java_string_and_map_methods() -> None:
    data = {"name": "  bob  ", "tags": ["a", "b"], "obj": {"k": 1}}
    assert text_of("$data.get('name').trim().toUpperCase()", data) == "BOB"
    assert text_of("$data.get('tags').isEmpty() $data.get('obj').isEmpty()", data) == (
        "False False"
    )
    assert text_of("$data.get('tags')", data) == "[a, b]"


def test_json_key_named_like_a_method() -> None:
    assert text_of("$data.get('get')", {"get": "x"}) == "x"


def test_merge_tag_values_readable_in_velocity() -> None:
    text = "$!data.get('FIRSTNAME') $!data.get('SMS') $!data.get('CONTACT_ID') $!data.get('City')"
    assert text_of(text, None, ANN) == "Ann 380501234567 42 Kyiv"


def test_json_param_wins_over_contact_fields() -> None:
    assert text_of("$!data.get('FIRSTNAME')", {"FIRSTNAME": "Override"}, ANN) == "Override"


def test_velocity_output_is_not_reevaluated() -> None:
    assert text_of("$!data.get('x')", {"x": "$data.get('y')"}) == "$data.get('y')"


# ---------------------------------------------------------------- merge tags


def test_merge_tags_with_values() -> None:
    text = "%FIRSTNAME|% %LASTNAME|% %EMAIL|% %SMS|% %PHONE|% %EXTERNAL_CUSTOMER_ID|% %CONTACT_ID|%"
    assert text_of(text, None, ANN) == "Ann Lee ann@example.com 380501234567 380501234567 ext-9 42"


def test_merge_tag_fallback() -> None:
    assert text_of("Hi %FIRSTNAME|friend%!", None, ContactData()) == "Hi friend!"
    assert text_of("Hi %FIRSTNAME|friend%!", None, None) == "Hi friend!"
    assert text_of("Hi %FIRSTNAME|friend%!", None, ContactData(first_name="")) == "Hi friend!"
    assert text_of("Hi %FIRSTNAME|%!", None, None) == "Hi !"
    assert text_of("Hi %FIRSTNAME|friend%!", None, ANN) == "Hi Ann!"


def test_custom_fields_case_insensitive() -> None:
    assert text_of("%CITY|nowhere% %city|x% %Bonus|0%", None, ANN) == "Kyiv Kyiv 150"
    assert text_of("%Empty|none% %Unknown|?%", None, ANN) == "none ?"


def test_message_name() -> None:
    assert render("From %MESSAGENAME|%", name="Spring promo").text == "From Spring promo"
    assert render("From %MESSAGENAME|n/a%", name="").text == "From n/a"


def test_percent_signs_survive() -> None:
    text = "50% off, 100 % sure, 10%|20% and %FIRSTNAME% and a|b%c"
    assert text_of(text, None, ANN) == text


def test_merge_tags_apply_after_velocity() -> None:
    # Velocity output may hold a merge tag; contact values are never Velocity.
    assert text_of("$!data.get('greet')", {"greet": "Hi %FIRSTNAME|you%"}, ANN) == "Hi Ann"
    evil = ContactData(first_name="$data.get('secret')")
    assert text_of("%FIRSTNAME|%", {"secret": "s3"}, evil) == "$data.get('secret')"


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("bad", ["not json", "[1, 2]", '"str"', "42", "null", "{"])
def test_bad_json_param(bad: str) -> None:
    with pytest.raises(TemplateError, match="jsonParam is not a JSON object"):
        render("Hi", bad)


@pytest.mark.parametrize("empty", [None, "", "  "])
def test_empty_json_param_is_empty_object(empty: str | None) -> None:
    assert MessageTemplate("Hi $!data.get('x')", None, None).render(None, empty).text == "Hi "


@pytest.mark.parametrize(
    "text",
    [
        "#set($x = 1 / 0)$x",
        "$data.get('list').get(5)",
        "$data.get('list').get('a')",
        "#set($x = $data.get('s') - 1)",
    ],
)
def test_runtime_error(text: str) -> None:
    with pytest.raises(TemplateError) as info:
        render(text, {"list": [1], "n": 3, "s": "abc"})
    assert str(info.value)


def test_runtime_error_names_the_cause() -> None:
    with pytest.raises(TemplateError, match="out of bounds"):
        render("$data.get('list').get(5)", {"list": [1]})


def test_rendered_empty() -> None:
    with pytest.raises(TemplateError, match="rendered text is empty"):
        render("$!data.get('x')", {})
    with pytest.raises(TemplateError, match="rendered text is empty"):
        render("%FIRSTNAME|% ", None, None)


def test_too_long_after_render() -> None:
    assert len(render("$data.get('s')", {"s": "x" * 4096}).text) == 4096
    with pytest.raises(TemplateError, match="rendered text is too long"):
        render("$data.get('s')", {"s": "x" * 4097})


def test_too_long_after_render_with_image() -> None:
    img = "https://cdn.example.com/a.png"
    result = render("$data.get('s')", {"s": "x" * 1024}, image=img)
    assert result.image_source == img and len(result.text) == 1024
    with pytest.raises(TemplateError, match="rendered text is too long"):
        render("$data.get('s')", {"s": "x" * 1025}, image=img)


def test_huge_output_is_cut_short() -> None:
    with pytest.raises(TemplateError, match="too long"):
        render("#foreach($i in [1..9000])" + "x" * 100 + "#end")


@pytest.mark.parametrize(
    "text",
    [
        "#foreach($i in [1..100000])#end",
        "#foreach($i in [1..1000])#foreach($j in [1..1000])#end#end",
    ],
)
def test_loops_are_bounded(text: str) -> None:
    start = time.monotonic()
    with pytest.raises(TemplateError):
        render("x" + text)
    assert time.monotonic() - start < 2


# ---------------------------------------------------------------- compile-time checks


@pytest.mark.parametrize(
    "text",
    [
        "Hi ${name",
        "#if($x) unclosed",
        "#foreach($a in",
        "$data.__class__",
        "$data.get('s').__class__.__mro__",
        "$data.get('s').format(1)",
        "#set($data.__dict__ = 1)",
        '#set($m = {"k": $data.__init__})',
        "#evaluate('$x')",
        "#include('x')",
        "#parse('x')",
    ],
)
def test_compile_errors(text: str) -> None:
    with pytest.raises(TemplateError):
        check_template(text)
    with pytest.raises(TemplateError):
        MessageTemplate(text, None, None)


@pytest.mark.parametrize(
    "text",
    ["Plain", "50% off #1 $5 a@b.c ${}", "$!data.get('x')", "#if($a)b#end", "%FIRSTNAME|%"],
)
def test_compile_ok(text: str) -> None:
    check_template(text)


# ---------------------------------------------------------------- buttons and image


def test_buttons_rendered_for_inline_keyboard() -> None:
    buttons = [
        {
            "text": "Order %EXTERNAL_CUSTOMER_ID|%",
            "link": "https://shop.example/o/$!data.get('id')",
        },
        {"text": "Bot", "link": "tg://resolve?domain=hushbot"},
    ]
    result = render("Text", {"id": 77}, ANN, buttons=buttons)
    assert result.buttons == [
        {"text": "Order ext-9", "url": "https://shop.example/o/77"},
        {"text": "Bot", "url": "tg://resolve?domain=hushbot"},
    ]


def test_personalised_button_link() -> None:
    buttons = [{"text": "Hi $!data.get('n')", "link": "https://x.example/?e=%EMAIL|none%"}]
    result = render("T", {"n": "B"}, ANN, buttons=buttons)
    assert result.buttons == [{"text": "Hi B", "url": "https://x.example/?e=ann@example.com"}]
    result = render("T", {"n": "B"}, None, buttons=buttons)
    assert result.buttons[0]["url"] == "https://x.example/?e=none"


def test_button_link_must_stay_a_url_after_render() -> None:
    buttons = [{"text": "Go", "link": "%FIRSTNAME|%"}]
    with pytest.raises(TemplateError, match=r"buttons\[0\].link"):
        render("T", None, ContactData(first_name="javascript:alert(1)"), buttons=buttons)
    buttons = [{"text": "Go", "link": "https://$!data.get('host')"}]
    with pytest.raises(TemplateError, match=r"buttons\[0\].link"):
        render("T", {}, None, buttons=buttons)
    buttons = [{"text": "Go", "link": "https://x.example/$!data.get('p')"}]
    with pytest.raises(TemplateError, match=r"buttons\[0\].link"):
        render("T", {"p": "a b"}, None, buttons=buttons)


def test_button_text_empty_after_render() -> None:
    buttons = [{"text": "$!data.get('x')", "link": "https://x.example"}]
    with pytest.raises(TemplateError, match=r"buttons\[0\].text"):
        render("T", {}, None, buttons=buttons)


def test_compile_message_from_row() -> None:
    row = SimpleNamespace(
        id=1,
        name="Row message",
        text="%MESSAGENAME|% for $!data.get('who')",
        image_source="https://cdn.example/i.png",
        buttons=[{"text": "Go", "link": "https://go.example"}],
        tags=["x"],
    )
    template = compile_message(row)
    assert isinstance(template, MessageTemplate)
    result = template.render(None, '{"who": "you"}')
    assert result == RenderedMessage(
        text="Row message for you",
        image_source="https://cdn.example/i.png",
        buttons=[{"text": "Go", "url": "https://go.example"}],
    )
    row.buttons = None
    assert compile_message(row).render(None, None).buttons == []


def test_template_is_reusable_across_recipients() -> None:
    template = MessageTemplate("Hi $!data.get('n') %FIRSTNAME|%", None, None)
    assert template.render(ANN, '{"n": 1}').text == "Hi 1 Ann"
    assert template.render(None, '{"n": 2}').text == "Hi 2 "
    start = time.monotonic()
    for i in range(2000):
        template.render(ANN, json.dumps({"n": i}))
    assert time.monotonic() - start < 2


def test_java_str_forms_and_bounds() -> None:
    assert java_str(None) == "null"
    assert java_str("plain") == "plain"
    assert java_str(7) == "7"
    assert java_str(1.5) == "1.5"
    assert java_str(True) == "true"
    assert java_str([1, None, True, "a"]) == "[1, null, true, a]"
    assert java_str({"k": [1, {"x": False}], "e": {}}) == "{k=[1, {x=false}], e={}}"
    assert java_str(object()) == "null"  # not a JSON value: nothing of Python shows
    nested: Any = "leaf"
    for _ in range(MAX_DEPTH):
        nested = [nested]
    assert java_str(nested) == "[" * MAX_DEPTH + "leaf" + "]" * MAX_DEPTH
    with pytest.raises(TemplateError, match="nested deeper than"):
        java_str([nested])
    with pytest.raises(TemplateError, match="longer than"):
        java_str(["x" * (MAX_VALUE_CHARS // 2), "y" * (MAX_VALUE_CHARS // 2)])
    assert java_str("z" * MAX_VALUE_CHARS) == "z" * MAX_VALUE_CHARS


@pytest.mark.parametrize(
    "text",
    [
        "Hello %FIRSTNAME|you%, %City|?% %Bonus|0%",
        "Hi $!data.get('FIRSTNAME') #foreach($t in $data.get('tags'))$t #end %LASTNAME|x%",
        "#set($x = $data.get('n') + 1)$x $data",
    ],
)
def test_rendering_a_recipient_leaves_no_reference_cycles(text: str) -> None:
    """Every recipient's render runs in the worker at thousands a second: garbage that
    only the cycle collector frees costs it a collection every few hundred sends (a
    recursive closure in java_str did: 13 % of the worker's CPU in the collector)."""
    template = compile_message(
        SimpleNamespace(
            name="m",
            text=text,
            image_source=None,
            buttons=[{"text": "Go %FIRSTNAME|x%", "link": "https://example.com/$!data.get('n')"}],
        )
    )
    params = json.dumps({"n": 41, "tags": ["a", {"b": [1, None, True]}]})
    assert template.render(ANN, params).text
    with cyclic_garbage() as found:
        for _ in range(50):
            template.render(ANN, params)
    assert found == []
