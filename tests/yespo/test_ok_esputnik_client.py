"""The Python eSputnik SDK ``ok-esputnik`` 0.3 (PyPI), unmodified, against a live server:
base URL changed, nothing else. Its request bodies are built by its own templates.

The SDK's dependency trafaret 1.2.0 imports ``collections.Mapping`` (gone since Python
3.10); the shim below restores those names before the import, as a 2020 install would
have found them. Skipped when the SDK is not installed.
"""

from __future__ import annotations

import collections
import collections.abc
import json
from typing import Any

import pytest

from tests.support.service import LiveService

for _name in ("Mapping", "MutableMapping", "Sequence", "Iterable", "Callable"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

esputnik = pytest.importorskip("esputnik.esputnik")


def sdk(live: LiveService, api_key: str) -> Any:
    return esputnik.ESputnikAPIAdaptor(user="any", password=api_key, host=f"{live.base_url}/api/")


def test_ok_esputnik_contacts_groups_events(live: LiveService, api_key: str) -> None:
    api = sdk(live, api_key)
    info = api.account_info()
    assert info.status_code == 200 and info.data["organisationName"] == "acme"
    assert api.version().status_code == 200

    r = api.add_contact(
        {
            "first_name": "Ann",
            "last_name": "Lee",
            "channels": [{"type": "email", "value": "ann@example.com"}],
            "address": {"region": "R", "town": "Kyiv", "address": "1 Main", "postcode": "01001"},
            "groups": [{"name": "VIP"}],
        }
    )
    assert r.status_code == 200, r.data
    cid = r.data["id"]
    c = api.get_contact(cid).data
    assert c["channels"] == [{"type": "email", "value": "ann@example.com"}]
    assert c["address"]["town"] == "Kyiv"
    assert [g["name"] for g in c["groups"]] == ["VIP"]

    r = api.update_contact(
        cid, {"first_name": "Anna", "channels": [{"type": "email", "value": "ann@example.com"}]}
    )
    assert r.status_code == 200, r.data
    assert api.get_contact(cid).data["firstName"] == "Anna"

    # The SDK sends fields as [{"id"}] without their values: accepted, nothing erased.
    r = api.add_contacts(
        {
            "contacts": [
                {"first_name": "Bo", "channels": [{"type": "sms", "value": "+380501112233"}]},
                {"first_name": "Anya", "channels": [{"type": "email", "value": "ann@example.com"}]},
            ],
            "dedupe_on": "email_or_sms",
            "contact_fields": ["firstName", "email", "sms"],
            "group_names": ["Newsletter"],
        }
    )
    assert r.status_code == 200, r.data
    assert isinstance(r.data["asyncSessionId"], str)
    found = api.get_contacts({"email": "ann@example.com", "max_rows": 10})
    assert found.status_code == 200
    assert [x["id"] for x in found.data] == [cid]
    assert found.data[0]["firstName"] == "Anya"

    r = api.contact_subscribe(
        {
            "contact": {"channels": [{"type": "email", "value": "sub@example.com"}]},
            "groups": ["Subscribers"],
        }
    )
    assert r.status_code == 200 and isinstance(r.data["id"], int)

    groups = {g["name"]: g["id"] for g in api.groups().data}
    assert {"VIP", "Newsletter", "Subscribers"} <= set(groups)
    members = api.group_contacts(groups["Newsletter"])
    assert members.status_code == 200 and len(members.data) == 2
    r = api.group_contacts_detach(groups["Newsletter"])
    assert r.status_code == 200 and r.data == {"removed": 2}
    assert api.group_contacts(groups["Newsletter"]).data == []

    r = api.event(
        {
            "event_type_key": "orderCreated",
            "key_value": "A-1",
            "params": [{"name": "EmailAddress", "value": "ann@example.com"}],
        }
    )
    assert r.status_code == 200
    assert api.addressbooks().status_code == 200
    deleted = api.delete_contact(cid)
    assert deleted.status_code == 200 and deleted.data == {"id": cid}
    # The error text where a Yespo client looks for it: a leading "message".
    gone = api.get_contact(cid)
    assert gone.status_code == 404 and gone.data["message"] == "Contact not found"


def test_ok_esputnik_smartsend_send_and_status(
    live: LiveService, api_key: str, app_uuid: str
) -> None:
    api = sdk(live, api_key)
    r = live.http.post(
        f"/v1/apps/{app_uuid}/tokens",
        json={"tokens": [{"token": "424242", "externalCustomerId": "sdk-1"}]},
    )
    assert r.status_code == 200, r.text
    mid = live.http.post(
        "/v1/messages/telegram", json={"name": "Order", "text": "Order $!data.get('order')"}
    ).json()["id"]

    r = api.message_smartsend(
        mid, {"recipients": [{"locator": "424242", "json_param": json.dumps({"order": "A-1"})}]}
    )
    assert r.status_code == 200, r.data
    assert [x["status"] for x in r.data["results"]] == ["OK"]
    request_id = r.data["results"][0]["requestId"]

    r = api.message_send(
        mid, {"params": [{"key": "order", "value": "A-2"}], "recipients": ["424242"]}
    )
    assert r.status_code == 200, r.data
    assert [x["status"] for x in r.data["results"]] == ["OK"]

    status = api.message_status([request_id, r.data["results"][0]["requestId"]])
    assert status.status_code == 200
    assert len(status.data["results"]) == 2
