"""Personalisation alone: template cache by version, any render failure contained, and
click rewriting only of the stored message's own literal links."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from hushcast.delivery.job import Job
from hushcast.delivery.personalize import (
    Personalizer,
    RenderFailure,
    track_clicks,
    trackable_links,
)
from hushcast.messages.render import RenderedMessage
from hushcast.tracking.links import read_click_token

V1, V2 = datetime(2026, 1, 1), datetime(2026, 1, 2)


def job(json_param: str | None = None) -> Job:
    return Job(
        id=5,
        kind="broadcast",
        token="1",
        contact_id=None,
        message_id=1,
        json_param=json_param,
        broadcast_id=1,
        attempts=0,
    )


class Messages:
    def __init__(self) -> None:
        self.row = SimpleNamespace(
            id=1, name="m", text="v1 text", image_source=None, buttons=None, updated_at=V1
        )
        self.loads = 0

    async def load(self, message_id: int) -> Any:
        self.loads += 1
        return self.row


def personalizer(messages: Messages) -> Personalizer:
    return Personalizer(
        messages.load, click_tracking=True, public_url="http://hush.test", secret=lambda: "k"
    )


@pytest.mark.asyncio
async def test_template_is_compiled_once_per_version() -> None:
    messages = Messages()
    p = personalizer(messages)
    for _ in range(3):
        r = await p.personalize(job(), V1)
        assert isinstance(r, RenderedMessage) and r.text == "v1 text"
    assert messages.loads == 1
    messages.row = SimpleNamespace(**{**vars(messages.row), "text": "v2 text", "updated_at": V2})
    r = await p.personalize(job(), V2)
    assert isinstance(r, RenderedMessage) and r.text == "v2 text"
    assert messages.loads == 2


@pytest.mark.asyncio
async def test_any_render_exception_is_this_recipients_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hushcast.delivery import personalize

    for exc in (RecursionError("deep"), MemoryError(), KeyError("bug"), ValueError("\x00x")):

        async def boom(*_: Any, exc: BaseException = exc) -> RenderedMessage:
            raise exc

        monkeypatch.setattr(personalize, "render_recipient", boom)
        r = await personalizer(Messages()).personalize(job(), V1)
        assert isinstance(r, RenderFailure), exc
        assert "\x00" not in r.description and len(r.description) <= 300


@pytest.mark.asyncio
async def test_deeply_nested_json_param_is_a_failure_not_an_exception() -> None:
    messages = Messages()
    messages.row.text = "Hi $data.get('a')"
    r = await personalizer(messages).personalize(job('{"a": ' + "[" * 600 + "]" * 600 + "}"), V1)
    assert isinstance(r, RenderFailure)
    assert "nested deeper than 64 levels" in r.description


def test_trackable_links_are_literal_http_links() -> None:
    links = trackable_links(
        [
            {"text": "a", "link": "https://shop.example/a?x=%20"},
            {"text": "b", "link": "https://$data.get('h')/"},
            {"text": "c", "link": "https://shop.example/%NAME|x%"},
            {"text": "d", "link": "tg://resolve?domain=x"},
            {"text": "e", "link": "https://shop.example/#if($x)y#end"},
        ]
    )
    assert links == ["https://shop.example/a?x=%20", None, None, None, None]


def test_only_stored_links_that_render_unchanged_are_rewritten() -> None:
    rendered = RenderedMessage(
        text="t",
        image_source=None,
        buttons=[
            {"text": "a", "url": "https://shop.example/a"},
            {"text": "b", "url": "https://evil.example/"},
            {"text": "c", "url": "https://other.example/"},
        ],
    )
    # Button c's stored link was literal, but what was rendered differs: not rewritten.
    trackable = ["https://shop.example/a", None, "https://shop.example/c"]
    out = track_clicks(rendered, trackable, 5, "http://hush.test", "k", organization_id=9)
    assert out.buttons[1]["url"] == "https://evil.example/"
    assert out.buttons[2]["url"] == "https://other.example/"
    token = out.buttons[0]["url"].removeprefix("http://hush.test/c/")
    # Bound to the delivery's organisation (tracking/links.py checks it on click).
    assert read_click_token("k", token) == (9, 5, "https://shop.example/a")


@pytest.mark.asyncio
async def test_the_jobs_language_picks_the_translation() -> None:
    messages = Messages()
    uk = SimpleNamespace(language_code="uk", text="Привіт", image_source=None, buttons=None)
    loads: list[int] = []

    async def translations(message_id: int) -> list[Any]:
        loads.append(message_id)
        return [uk]

    p = Personalizer(
        messages.load,
        click_tracking=False,
        public_url="http://hush.test",
        secret=lambda: "k",
        load_translations=translations,
    )
    texts = []
    for language in ("uk", "uk_UA", None, "de"):
        j = job()
        j.language = language
        r = await p.personalize(j, V1)
        assert isinstance(r, RenderedMessage)
        texts.append(r.text)
    assert texts == ["Привіт", "Привіт", "v1 text", "v1 text"]
    # Loaded once per message version, like the message itself.
    assert loads == [1] and messages.loads == 1
