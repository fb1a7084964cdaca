"""Language versions of a Telegram message (PUT|DELETE /v1/messages/telegram/{id}/{lang})
and the pick a send makes by languageCode."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi.testclient import TestClient

from hushcast.yespo.translation_service import pick


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
