"""Language versions of a Telegram message (PUT|DELETE /v1/messages/telegram/{id}/{lang})
and the pick a send makes by languageCode: smartsend's, else the contact's."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from fastapi.testclient import TestClient

from hushcast.yespo.translation_service import pick
from tests.support.live import broadcast_done, connect_bot, create_message
from tests.support.service import LiveService
from tests.support.waiting import wait_for


def test_put_list_delete_translation(client: TestClient) -> None:
    mid = client.post(
        "/v1/messages/telegram", json={"name": "Sale", "text": "Hello %FIRSTNAME|there%"}
    ).json()["id"]
    body = {
        "text": "Привіт %FIRSTNAME|друже%",
        "buttons": [{"text": "Магазин", "link": "https://s.example"}],
    }
    r = client.put(f"/api/v1/messages/telegram/{mid}/uk", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["languageCode"] == "uk"
    client.put(f"/v1/messages/telegram/{mid}/pt_BR", json={"text": "Olá"})
    langs = client.get(f"/v1/messages/telegram/{mid}/languages").json()
    assert langs["languages"] == ["pt-br", "uk"]
    # Yespo's GET of the message carries languages and translations (BaseTelegramBotMessage).
    got = client.get(f"/api/v1/messages/telegram/{mid}").json()
    assert got["languages"] == ["pt-br", "uk"]
    assert got["translations"][1] == {
        "name": "Sale",
        "languageCode": "uk",
        "text": "Привіт %FIRSTNAME|друже%",
        "imageSource": None,
        "buttons": [{"text": "Магазин", "link": "https://s.example"}],
    }
    listed = client.get("/v1/messages/telegram").json()
    assert [m["languages"] for m in listed if m["id"] == mid] == [["pt-br", "uk"]]
    assert langs["translations"][1]["buttons"] == [{"text": "Магазин", "link": "https://s.example"}]
    r = client.delete(f"/v1/messages/telegram/{mid}/uk")
    assert r.status_code == 200 and r.json()["languages"] == ["pt-br"]
    r = client.delete(f"/v1/messages/telegram/{mid}/uk")
    assert r.status_code == 404 and r.json()["detail"] == "Translation not found"
    r = client.put(f"/v1/messages/telegram/{mid}/not a code", json={"text": "x"})
    assert r.status_code == 400
    r = client.put("/v1/messages/telegram/9999/uk", json={"text": "x"})
    assert r.status_code == 404 and r.json()["detail"] == "Message not found"
    r = client.put(f"/v1/messages/telegram/{mid}/de", json={"text": "#if($x) never closed"})
    assert r.status_code == 400 and r.json()["detail"].startswith("text: invalid template")


def test_pick() -> None:
    base = SimpleNamespace(text="Hi", image_source=None, buttons=None)
    uk = SimpleNamespace(language_code="uk", text="Привіт", image_source=None, buttons=[])
    pt = SimpleNamespace(language_code="pt", text="Olá", image_source="https://i", buttons=[])
    assert pick(base, [uk, pt], "uk").text == "Привіт"
    assert pick(base, [uk, pt], "pt_BR").image_source == "https://i"
    assert pick(base, [uk, pt], "de").text == "Hi"
    assert pick(base, [uk, pt], None).text == "Hi"


def test_sends_use_the_recipients_language(live: LiveService, fake_telegram: Any) -> None:
    """A broadcast sends each contact the translation in its languageCode; smartsend's
    languageCode wins over the contact's; no match sends the message itself."""
    http = live.http
    app_uuid = connect_bot(live, fake_telegram)
    for ext, language in (("l-uk", "uk"), ("l-br", "pt_BR"), ("l-none", None)):
        body: dict[str, Any] = {"externalCustomerId": ext, "firstName": ext}
        if language:
            body["languageCode"] = language
        assert http.post("/v1/contact", json=body).status_code == 200
    items = [
        {"token": "7101", "externalCustomerId": "l-uk"},
        {"token": "7102", "externalCustomerId": "l-br"},
        {"token": "7103", "externalCustomerId": "l-none"},
    ]
    assert http.post(f"/v1/apps/{app_uuid}/tokens", json={"tokens": items}).status_code == 200
    mid = create_message(http, "Hello")
    assert http.put(f"/v1/messages/telegram/{mid}/uk", json={"text": "Привіт"}).status_code == 200
    assert http.put(f"/v1/messages/telegram/{mid}/pt", json={"text": "Olá"}).status_code == 200

    r = http.post("/v1/broadcast", json={"messageId": mid, "appId": app_uuid})
    assert r.status_code == 200, r.text
    wait_for(lambda: broadcast_done(http, r.json()["broadcastId"]), timeout=30)
    texts = {str(m["chat_id"]): m["text"] for m in fake_telegram.messages()}
    assert texts == {"7101": "Привіт", "7102": "Olá", "7103": "Hello"}

    fake_telegram.clear()
    recipients = [
        {"locator": "7103", "languageCode": "uk"},  # no language of its own: smartsend's
        {"locator": "7102", "languageCode": "de"},  # no German version: the message itself
        {"externalCustomerId": "l-uk"},  # none given: the contact's
        {"locator": "7101", "languageCode": "not a language"},
    ]
    r = http.post(f"/v1/message/{mid}/smartsend", json={"recipients": recipients})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["OK", "OK", "OK", "ERROR"]
    assert results[3]["message"] == (
        "recipients[3].languageCode must be a language code such as en, uk or pt-BR"
    )
    wait_for(lambda: len(fake_telegram.messages()) >= 3, timeout=20)
    texts = {str(m["chat_id"]): m["text"] for m in fake_telegram.messages()}
    assert texts == {"7103": "Привіт", "7102": "Hello", "7101": "Привіт"}
