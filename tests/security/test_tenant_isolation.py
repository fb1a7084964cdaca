"""Tenant isolation, route by route.

The test enumerates every route of the application (``app.routes``) and requires a check
for each: either a call made with organisation "rival"'s credentials against "acme"'s
objects, which must answer 404 (or, for lists, not show acme's objects) and change no row
in any table, or an entry in ``NO_TENANT_DATA`` saying why the route holds no
organisation's data. A new route with neither makes the test fail.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from hushcast.core.db import Database
from tests.support.checks import assert_problem, table_snapshot
from tests.support.service import bearer, new_bot_token

MARK = "ACME-PRIVATE"

# Routes that hold no organisation's objects, and why.
NO_TENANT_DATA: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): "the API description",
    ("GET", "/docs"): "Swagger UI page",
    ("GET", "/docs/oauth2-redirect"): "Swagger UI helper",
    ("GET", "/redoc"): "ReDoc page",
    ("GET", "/healthz"): "liveness, no data",
    ("GET", "/readyz"): "readiness, no data",
    ("GET", "/metrics"): "operator token only; process-wide counters, no tenant labels",
    ("GET", "/v1/ping"): "answers the caller's own key id only",
    ("GET", "/c/{token}"): "public click redirect; the token is an HMAC-signed id",
    ("POST", "/v1/messages/telegram"): "creates in the caller's org; no foreign id taken",
    ("POST", "/v1/groups"): "creates in the caller's org; no foreign id taken",
    ("POST", "/v1/webhooks"): "creates in the caller's org; no foreign id taken",
    ("GET", "/ui/login"): "sign-in form",
    ("POST", "/ui/login"): "sign-in (used by this test to sign rival in)",
    ("POST", "/ui/logout"): "ends the caller's own session",
    ("POST", "/ui/logout-everywhere"): "ends the caller's own organisation's sessions",
    ("POST", "/ui/tz"): "sets the caller's display time zone cookie",
    ("MOUNT", "/ui/static"): "static assets",
    ("MOUNT", "/docs/assets"): "Swagger UI's static files",
    ("GET", "/ui/messages/new"): "empty editor; lists only the caller's bots",
    ("GET", "/ui/broadcasts/new"): "empty form; checked below to list only the caller's objects",
    ("POST", "/ui/apps"): "connects a bot to the caller's org; no foreign id taken",
    ("POST", "/ui/groups"): "creates in the caller's org; no foreign id taken",
    ("POST", "/ui/keys"): "creates a key of the caller's org; no foreign id taken",
    ("GET", "/v1/version"): "the API version",
    ("POST", "/v1/event"): "records in the caller's org only (tests/yespo: never linked to "
    "another org's contact)",
    ("POST", "/v2/event"): "as POST /v1/event",
    ("GET", "/v1/policies"): "the caller's own organisation's defaults; no foreign id taken "
    "(tests/policies: another organisation's defaults never show or apply)",
    ("PUT", "/v1/policies"): "as GET /v1/policies",
}


@dataclass
class Ctx:
    client: TestClient  # acme's API key
    ui: TestClient  # signed in to the dashboard as rival
    rival: dict[str, str]
    ui_csrf: str
    app: str
    bot_token: str
    token: str
    contact: int
    group: int
    message: int
    broadcast: int
    request_id: str
    rival_app: str
    rival_message: int
    rival_group: int
    checked: set[tuple[str, str]] = field(default_factory=set)
    webhook: int = 0
    import_session: str = ""


def _build(client: TestClient, other_key: str, fake: Any) -> Ctx:
    bot_token = new_bot_token(fake)
    r = client.post("/v1/apps", json={"botToken": bot_token, "name": f"{MARK} bot"})
    assert r.status_code == 201, r.text
    app = r.json()["appUuid"]
    token = "777000111"
    r = client.post(
        f"/v1/apps/{app}/tokens",
        json={"tokens": [{"token": token, "externalCustomerId": f"{MARK}-cust"}]},
    )
    assert r.status_code == 200, r.text
    contact = client.post("/v1/contact", json={"externalCustomerId": f"{MARK}-cust"}).json()["id"]
    group = client.post("/v1/groups", json={"name": f"{MARK} group"}).json()["id"]
    r = client.post(f"/v1/groups/{group}/contacts", json={"contactIds": [contact]})
    assert r.status_code == 200, r.text
    r = client.post(f"/v1/apps/{app}/token/mute", json={"token": token, "duration": 600})
    assert r.status_code == 200, r.text
    r = client.post("/v1/messages/telegram", json={"name": f"{MARK} msg", "text": "Hi"})
    message = r.json()["id"]
    r = client.post(
        "/v1/broadcast",
        json={
            "messageId": message,
            "appId": app,
            "groups": [group],
            "title": f"{MARK} broadcast",
            "startDate": "2099-01-01T00:00",
        },
    )
    assert r.status_code == 200, r.text
    broadcast = int(r.json()["broadcastId"])
    r = client.post(
        f"/v1/message/{message}/smartsend",
        json={"appId": app, "email": False, "recipients": [{"locator": token}]},
    )
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "OK", r.text
    request_id = r.json()["results"][0]["requestId"]

    r = client.post("/v1/contacts", json={"contacts": [{"externalCustomerId": f"{MARK}-cust"}]})
    assert r.status_code == 200, r.text
    import_session = r.json()["asyncSessionId"]

    rival = bearer(other_key)
    r = client.post("/v1/apps", json={"botToken": new_bot_token(fake)}, headers=rival)
    assert r.status_code == 201, r.text
    rival_app = r.json()["appUuid"]
    r = client.post("/v1/messages/telegram", json={"name": "r", "text": "r"}, headers=rival)
    rival_message = r.json()["id"]
    rival_group = client.post("/v1/groups", json={"name": "r"}, headers=rival).json()["id"]

    ui = TestClient(client.app, raise_server_exceptions=False)
    page = ui.get("/ui/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf, page.text[:300]
    r = ui.post(
        "/ui/login",
        data={"api_key": other_key, "csrf_token": csrf.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    home = ui.get("/ui")
    assert home.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert csrf, home.text[:300]
    webhook = client.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.com/in", "events": ["mute"], "description": MARK},
    ).json()["id"]
    r = client.put(f"/v1/apps/{app}/updates", json={"mode": "webhook"})
    assert r.status_code == 200, r.text
    return Ctx(
        webhook=webhook,
        client=client,
        ui=ui,
        rival=rival,
        ui_csrf=csrf.group(1),
        app=app,
        bot_token=bot_token,
        token=token,
        contact=contact,
        group=group,
        message=message,
        broadcast=broadcast,
        request_id=request_id,
        rival_app=rival_app,
        rival_message=rival_message,
        rival_group=rival_group,
        import_session=import_session,
    )


# --- the checks ------------------------------------------------------------------------------

Check = Callable[[Ctx], None]
CHECKS: dict[tuple[str, str], Check] = {}


def covers(method: str, path: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[(method, path)] = fn
        return fn

    return register


def api(ctx: Ctx, method: str, url: str, **kw: Any) -> Any:
    return ctx.client.request(method, url, headers=ctx.rival, **kw)


def api_404(ctx: Ctx, method: str, url: str, **kw: Any) -> None:
    assert_problem(api(ctx, method, url, **kw), 404)


def no_acme(response: Any) -> None:
    assert response.status_code == 200, response.text
    assert MARK not in response.text


def ui_404(ctx: Ctx, method: str, url: str, **kw: Any) -> None:
    if method == "POST":
        kw.setdefault("headers", {})["X-CSRF-Token"] = ctx.ui_csrf
    r = ctx.ui.request(method, url, follow_redirects=False, **kw)
    assert r.status_code == 404, (method, url, r.status_code, r.text[:300])
    assert MARK not in r.text


@covers("POST", "/v1/apps")
def _(ctx: Ctx) -> None:
    # Rival may connect a bot whose token it holds, but only as its own, separate app.
    r = api(ctx, "POST", "/v1/apps", json={"botToken": ctx.bot_token})
    assert r.status_code in (200, 201), r.text
    assert r.json()["appUuid"] != ctx.app and MARK not in r.text
    r = api(ctx, "DELETE", f"/v1/apps/{r.json()['appUuid']}")
    assert r.status_code == 204


@covers("GET", "/v1/apps")
def _(ctx: Ctx) -> None:
    r = api(ctx, "GET", "/v1/apps")
    no_acme(r)
    assert ctx.app not in r.text


for _method in ("GET", "PATCH", "DELETE"):

    @covers(_method, "/v1/apps/{app_uuid}")
    def _(ctx: Ctx, _method: str = _method) -> None:
        body = {"name": "stolen"} if _method == "PATCH" else None
        api_404(ctx, _method, f"/v1/apps/{ctx.app}", json=body)


@covers("POST", "/v1/apps/{app_uuid}/tokens")
def _(ctx: Ctx) -> None:
    body = {"tokens": [{"token": "1", "externalCustomerId": "x"}]}
    api_404(ctx, "POST", f"/v1/apps/{ctx.app}/tokens", json=body)


@covers("GET", "/v1/apps/{app_uuid}/tokens")
def _(ctx: Ctx) -> None:
    api_404(ctx, "GET", f"/v1/apps/{ctx.app}/tokens")


@covers("POST", "/v1/apps/{app_uuid}/token/mute")
def _(ctx: Ctx) -> None:
    api_404(ctx, "POST", f"/v1/apps/{ctx.app}/token/mute", json={"token": ctx.token})
    api_404(ctx, "POST", f"/v1/apps/{ctx.app}/token/mute", json={"tokens": [ctx.token]})


@covers("POST", "/v1/apps/{app_uuid}/token/unmute")
def _(ctx: Ctx) -> None:
    api_404(ctx, "POST", f"/v1/apps/{ctx.app}/token/unmute", json={"token": ctx.token})


@covers("GET", "/v1/apps/{app_uuid}/token/mute")
def _(ctx: Ctx) -> None:
    api_404(ctx, "GET", f"/v1/apps/{ctx.app}/token/mute", params={"token": ctx.token})


@covers("POST", "/v1/contact")
def _(ctx: Ctx) -> None:
    r = api(ctx, "POST", "/v1/contact", json={"contactId": ctx.contact, "firstName": "x"})
    assert_problem(r, (400, 404))


@covers("POST", "/v1/contacts")
def _(ctx: Ctx) -> None:
    r = api(ctx, "POST", "/v1/contacts", json={"contacts": [{"contactId": ctx.contact}]})
    assert_problem(r, (400, 404))


@covers("GET", "/v1/contact/{contact_id}")
def _(ctx: Ctx) -> None:
    api_404(ctx, "GET", f"/v1/contact/{ctx.contact}")


@covers("DELETE", "/v1/contact/{contact_id}")
def _(ctx: Ctx) -> None:
    api_404(ctx, "DELETE", f"/v1/contact/{ctx.contact}")


@covers("GET", "/v1/apps/{app_uuid}/policies")
def _(ctx: Ctx) -> None:
    api_404(ctx, "GET", f"/v1/apps/{ctx.app}/policies")


@covers("PUT", "/v1/apps/{app_uuid}/policies")
def _(ctx: Ctx) -> None:
    body = {"quietHours": {"start": "00:00", "end": "23:59"}}
    api_404(ctx, "PUT", f"/v1/apps/{ctx.app}/policies", json=body)


@covers("GET", "/v1/contact/{contact_id}/quiet-hours")
def _(ctx: Ctx) -> None:
    api_404(ctx, "GET", f"/v1/contact/{ctx.contact}/quiet-hours")


@covers("PUT", "/v1/contact/{contact_id}/quiet-hours")
def _(ctx: Ctx) -> None:
    body = {"quietHours": {"start": "00:00", "end": "23:59"}}
    api_404(ctx, "PUT", f"/v1/contact/{ctx.contact}/quiet-hours", json=body)


@covers("DELETE", "/v1/contact/{contact_id}/quiet-hours")
def _(ctx: Ctx) -> None:
    api_404(ctx, "DELETE", f"/v1/contact/{ctx.contact}/quiet-hours")


@covers("GET", "/v1/messages/telegram")
def _(ctx: Ctx) -> None:
    no_acme(api(ctx, "GET", "/v1/messages/telegram"))
    no_acme(api(ctx, "GET", "/v1/messages/telegram", params={"search": MARK}))


for _method in ("GET", "PUT", "DELETE"):

    @covers(_method, "/v1/messages/telegram/{message_id}")
    def _(ctx: Ctx, _method: str = _method) -> None:
        body = {"name": "stolen", "text": "x"} if _method == "PUT" else None
        api_404(ctx, _method, f"/v1/messages/telegram/{ctx.message}", json=body)


@covers("GET", "/v1/groups")
def _(ctx: Ctx) -> None:
    no_acme(api(ctx, "GET", "/v1/groups"))


for _method in ("GET", "DELETE"):

    @covers(_method, "/v1/groups/{group_id}")
    def _(ctx: Ctx, _method: str = _method) -> None:
        api_404(ctx, _method, f"/v1/groups/{ctx.group}")


for _method in ("GET", "POST", "DELETE"):

    @covers(_method, "/v1/groups/{group_id}/contacts")
    def _(ctx: Ctx, _method: str = _method) -> None:
        body = {"contactIds": [ctx.contact]} if _method != "GET" else None
        api_404(ctx, _method, f"/v1/groups/{ctx.group}/contacts", json=body)
        if _method == "POST":
            # acme's contact cannot be put into rival's own group either
            r = api(ctx, "POST", f"/v1/groups/{ctx.rival_group}/contacts", json=body)
            assert_problem(r, (400, 404))
            r = api(
                ctx,
                "POST",
                f"/v1/groups/{ctx.rival_group}/contacts",
                json={"externalCustomerIds": [f"{MARK}-cust"]},
            )
            assert_problem(r, (400, 404))


@covers("POST", "/v1/broadcast")
def _(ctx: Ctx) -> None:
    r = api(ctx, "POST", "/v1/broadcast", json={"messageId": ctx.message, "appId": ctx.rival_app})
    assert_problem(r, 404)
    r = api(ctx, "POST", "/v1/broadcast", json={"messageId": ctx.rival_message, "appId": ctx.app})
    assert_problem(r, 404)
    body = {"messageId": ctx.rival_message, "appId": ctx.rival_app, "groups": [ctx.group]}
    assert_problem(api(ctx, "POST", "/v1/broadcast", json=body), (400, 404))
    body = {"messageId": ctx.rival_message, "appId": ctx.rival_app, "excludedGroups": [ctx.group]}
    assert_problem(api(ctx, "POST", "/v1/broadcast", json=body), (400, 404))


@covers("GET", "/v1/broadcasts")
def _(ctx: Ctx) -> None:
    no_acme(api(ctx, "GET", "/v1/broadcasts"))


for _method, _suffix in (
    ("GET", ""),
    ("DELETE", ""),
    ("POST", "/pause"),
    ("POST", "/resume"),
    ("GET", "/report"),
    ("GET", "/report/contacts"),
):

    @covers(_method, "/v1/broadcast/{broadcast_id}" + _suffix)
    def _(ctx: Ctx, _method: str = _method, _suffix: str = _suffix) -> None:
        api_404(ctx, _method, f"/v1/broadcast/{ctx.broadcast}{_suffix}")
        if _suffix == "/report/contacts":
            url = f"/v1/broadcast/{ctx.broadcast}{_suffix}"
            api_404(ctx, "GET", url, params={"format": "csv", "bucket": "all"})


@covers("GET", "/v1/message/status")
def _(ctx: Ctx) -> None:
    r = api(ctx, "GET", "/v1/message/status", params={"ids": ctx.request_id})
    assert r.status_code == 200, r.text
    assert r.json()["results"] == [
        {"requestId": ctx.request_id, "status": "NOT_FOUND", "delivered": False, "failed": False}
    ]
    # acme itself sees it
    mine = ctx.client.get("/v1/message/status", params={"ids": ctx.request_id}).json()
    assert mine["results"][0]["status"] != "NOT_FOUND"


@covers("POST", "/v1/message/{message_id}/smartsend")
def _(ctx: Ctx) -> None:
    body = {"appId": ctx.rival_app, "recipients": [{"locator": ctx.token}]}
    api_404(ctx, "POST", f"/v1/message/{ctx.message}/smartsend", json=body)
    body = {"appId": ctx.app, "recipients": [{"locator": ctx.token}]}
    api_404(ctx, "POST", f"/v1/message/{ctx.rival_message}/smartsend", json=body)
    # acme's contact, by id or external id, is not a recipient rival can address
    for recipient in ({"contactId": ctx.contact}, {"externalCustomerId": f"{MARK}-cust"}):
        body = {"appId": ctx.rival_app, "recipients": [recipient]}
        r = api(ctx, "POST", f"/v1/message/{ctx.rival_message}/smartsend", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["results"][0]["status"] == "ERROR", r.text
        assert MARK not in r.text.replace(f"{MARK}-cust", "")


@covers("POST", "/v1/message/{message_id}/test")
def _(ctx: Ctx) -> None:
    api_404(ctx, "POST", f"/v1/message/{ctx.message}/test", json={"tokens": [ctx.token]})
    r = api(
        ctx, "POST", f"/v1/message/{ctx.rival_message}/test", json={"contactIds": [ctx.contact]}
    )
    assert r.status_code in (200, 202, 400, 404), r.text
    if r.status_code < 300:
        assert all(x["status"] == "ERROR" for x in r.json()["results"]), r.text


@covers("GET", "/v1/messages/single-report")
def _(ctx: Ctx) -> None:
    r = api(ctx, "GET", "/v1/messages/single-report")
    no_acme(r)
    assert ctx.request_id not in r.text and ctx.token not in r.text


@covers("GET", "/v1/messages/{message_id}/report")
def _(ctx: Ctx) -> None:
    api_404(ctx, "GET", f"/v1/messages/{ctx.message}/report")


# --- dashboard -------------------------------------------------------------------------------


@covers("GET", "/ui")
def _(ctx: Ctx) -> None:
    r = ctx.ui.get("/ui")
    no_acme(r)
    assert ctx.app not in r.text


@covers("GET", "/ui/apps/{app_uuid}")
def _(ctx: Ctx) -> None:
    ui_404(ctx, "GET", f"/ui/apps/{ctx.app}")


@covers("GET", "/ui/apps/{app_uuid}/history")
def _(ctx: Ctx) -> None:
    ui_404(ctx, "GET", f"/ui/apps/{ctx.app}/history?token={ctx.token}")


for _action in ("mute", "unmute"):

    @covers("POST", f"/ui/apps/{{app_uuid}}/{_action}")
    def _(ctx: Ctx, _action: str = _action) -> None:
        ui_404(ctx, "POST", f"/ui/apps/{ctx.app}/{_action}", data={"token": ctx.token})


@covers("GET", "/ui/messages")
def _(ctx: Ctx) -> None:
    no_acme(ctx.ui.get("/ui/messages"))
    r = ctx.ui.get("/ui/messages", params={"q": "msg"})
    no_acme(r)


@covers("GET", "/ui/broadcasts")
def _(ctx: Ctx) -> None:
    no_acme(ctx.ui.get("/ui/broadcasts"))


for _suffix in ("", "/live", "/export.csv"):

    @covers("GET", "/ui/broadcasts/{broadcast_id}" + _suffix)
    def _(ctx: Ctx, _suffix: str = _suffix) -> None:
        ui_404(ctx, "GET", f"/ui/broadcasts/{ctx.broadcast}{_suffix}")


for _action in ("pause", "resume", "cancel"):

    @covers("POST", f"/ui/broadcasts/{{broadcast_id}}/{_action}")
    def _(ctx: Ctx, _action: str = _action) -> None:
        ui_404(ctx, "POST", f"/ui/broadcasts/{ctx.broadcast}/{_action}")


for _method, _suffix in (
    ("GET", "/settings"),
    ("POST", "/settings"),
    ("POST", "/delete"),
    ("POST", "/bulk"),
    ("GET", "/import"),
    ("POST", "/import"),
):

    @covers(_method, "/ui/apps/{app_uuid}" + _suffix)
    def _(ctx: Ctx, _method: str = _method, _suffix: str = _suffix) -> None:
        data = {"token": ctx.token, "action": "mute", "name": "x"} if _method == "POST" else None
        ui_404(ctx, _method, f"/ui/apps/{ctx.app}{_suffix}", data=data)


for _method, _suffix in (("GET", ""), ("POST", ""), ("GET", "/progress")):

    @covers(_method, "/ui/apps/{app_uuid}/import/{job_id}" + _suffix)
    def _(ctx: Ctx, _method: str = _method, _suffix: str = _suffix) -> None:
        # Neither acme's bot nor (with the rival's own bot) an unknown job id is found.
        ui_404(ctx, _method, f"/ui/apps/{ctx.app}/import/nojob{_suffix}")
        ui_404(ctx, _method, f"/ui/apps/{ctx.rival_app}/import/nojob{_suffix}")


@covers("GET", "/ui/broadcasts/{broadcast_id}/row")
def _(ctx: Ctx) -> None:
    ui_404(ctx, "GET", f"/ui/broadcasts/{ctx.broadcast}/row")


@covers("POST", "/ui/broadcasts/new")
def _(ctx: Ctx) -> None:
    form = ctx.ui.get("/ui/broadcasts/new")
    no_acme(form)
    r = ctx.ui.post(
        "/ui/broadcasts/new",
        data={"message_id": str(ctx.message), "app_uuid": ctx.app, "when": "now"},
        headers={"X-CSRF-Token": ctx.ui_csrf},
        follow_redirects=False,
    )
    assert r.status_code == 404 and MARK not in r.text, r.text[:300]
    r = ctx.ui.post(
        "/ui/broadcasts/new",
        data={
            "message_id": str(ctx.rival_message),
            "app_uuid": ctx.rival_app,
            "groups": str(ctx.group),
            "when": "now",
        },
        headers={"X-CSRF-Token": ctx.ui_csrf},
        follow_redirects=False,
    )
    assert r.status_code == 400 and "Unknown groups" in r.text and MARK not in r.text


@covers("GET", "/ui/messages/{message_id}")
def _(ctx: Ctx) -> None:
    ui_404(ctx, "GET", f"/ui/messages/{ctx.message}")


@covers("POST", "/ui/messages/save")
def _(ctx: Ctx) -> None:
    data = {"message_id": str(ctx.message), "name": "x", "text": "x"}
    ui_404(ctx, "POST", "/ui/messages/save", data=data)


@covers("POST", "/ui/messages/{message_id}/test")
def _(ctx: Ctx) -> None:
    data = {"app_uuid": ctx.rival_app, "chats": ctx.token}
    ui_404(ctx, "POST", f"/ui/messages/{ctx.message}/test", data=data)


@covers("GET", "/ui/contacts")
def _(ctx: Ctx) -> None:
    no_acme(ctx.ui.get("/ui/contacts"))
    r = ctx.ui.get("/ui/contacts", params={"q": ctx.token})
    no_acme(r)
    assert f'data-contact="{ctx.contact}"' not in r.text


@covers("GET", "/ui/contacts/{contact_id}")
def _(ctx: Ctx) -> None:
    ui_404(ctx, "GET", f"/ui/contacts/{ctx.contact}")


@covers("POST", "/ui/contacts/add-to-group")
def _(ctx: Ctx) -> None:
    # Acme's group: not found. The rival's own group with acme's contact: refused.
    data = {"group_id": str(ctx.group), "contact": str(ctx.contact)}
    ui_404(ctx, "POST", "/ui/contacts/add-to-group", data=data)
    data = {"group_id": str(ctx.rival_group), "contact": str(ctx.contact)}
    r = ctx.ui.post(
        "/ui/contacts/add-to-group",
        data=data,
        headers={"X-CSRF-Token": ctx.ui_csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "Unknown+contactIds" in r.headers["location"]


@covers("GET", "/ui/groups")
def _(ctx: Ctx) -> None:
    no_acme(ctx.ui.get("/ui/groups"))


@covers("GET", "/ui/groups/{group_id}")
def _(ctx: Ctx) -> None:
    ui_404(ctx, "GET", f"/ui/groups/{ctx.group}")


for _suffix in ("/members", "/csv", "/delete"):

    @covers("POST", "/ui/groups/{group_id}" + _suffix)
    def _(ctx: Ctx, _suffix: str = _suffix) -> None:
        data = {"contact": str(ctx.contact), "action": "remove"}
        files = {"file": ("m.csv", f"contactId\n{ctx.contact}\n")} if _suffix == "/csv" else None
        ui_404(ctx, "POST", f"/ui/groups/{ctx.group}{_suffix}", data=data, files=files)


@covers("GET", "/ui/keys")
def _(ctx: Ctx) -> None:
    r = ctx.ui.get("/ui/keys")
    no_acme(r)
    assert "acme" not in r.text.split("<main>")[1]


@covers("POST", "/ui/keys/{key_id}/revoke")
def _(ctx: Ctx) -> None:
    acme_key = ctx.client.get("/v1/ping").json()["apiKeyId"]
    ui_404(ctx, "POST", f"/ui/keys/{acme_key}/revoke")
    assert ctx.client.get("/v1/ping").status_code == 200


@covers("GET", "/v1/apps/{app_uuid}/token/mute/history")
def _(ctx: Ctx) -> None:
    api_404(ctx, "GET", f"/v1/apps/{ctx.app}/token/mute/history", params={"token": ctx.token})


@covers("GET", "/v1/webhooks")
def _(ctx: Ctx) -> None:
    r = api(ctx, "GET", "/v1/webhooks")
    no_acme(r)
    assert r.json() == []


# --- Yespo compatibility routes ---


@covers("GET", "/v1/account/info")
def _(ctx: Ctx) -> None:
    r = api(ctx, "GET", "/v1/account/info")
    no_acme(r)
    assert r.json()["organisationName"] == "rival"


@covers("GET", "/v1/contacts")
def _(ctx: Ctx) -> None:
    no_acme(api(ctx, "GET", "/v1/contacts"))
    no_acme(api(ctx, "GET", "/v1/contacts", params={"externalCustomerId": f"{MARK}-cust"}))


@covers("PUT", "/v1/contact/{contact_id}")
def _(ctx: Ctx) -> None:
    api_404(ctx, "PUT", f"/v1/contact/{ctx.contact}", json={"firstName": "x"})


@covers("DELETE", "/v1/contact")
def _(ctx: Ctx) -> None:
    api_404(ctx, "DELETE", "/v1/contact", params={"externalCustomerId": f"{MARK}-cust"})


@covers("POST", "/v1/contact/subscribe")
def _(ctx: Ctx) -> None:
    r = api(ctx, "POST", "/v1/contact/subscribe", json={"contact": {"id": ctx.contact}})
    assert_problem(r, (400, 404))


@covers("GET", "/v1/addressbooks")
def _(ctx: Ctx) -> None:
    no_acme(api(ctx, "GET", "/v1/addressbooks"))


@covers("GET", "/v1/importstatus/{session_id}")
def _(ctx: Ctx) -> None:
    api_404(ctx, "GET", f"/v1/importstatus/{ctx.import_session}")


@covers("GET", "/v1/contact/token/{app_uuid}/{token}/contactId")
def _(ctx: Ctx) -> None:
    api_404(ctx, "GET", f"/v1/contact/token/{ctx.app}/{ctx.token}/contactId")
    api_404(ctx, "GET", f"/v1/contact/token/{ctx.rival_app}/{ctx.token}/contactId")


for _method in ("GET", "PUT"):

    @covers(_method, "/v1/contact/token/activated/{app_uuid}/{token}")
    def _(ctx: Ctx, _method: str = _method) -> None:
        body = {"active": False} if _method == "PUT" else None
        api_404(ctx, _method, f"/v1/contact/token/activated/{ctx.app}/{ctx.token}", json=body)


@covers("GET", "/v1/group/{group_id}/contacts")
def _(ctx: Ctx) -> None:
    api_404(ctx, "GET", f"/v1/group/{ctx.group}/contacts")


for _action in ("attach", "detach"):

    @covers("POST", f"/v1/group/{{group_id}}/contacts/{_action}")
    def _(ctx: Ctx, _action: str = _action) -> None:
        url = f"/v1/group/{ctx.group}/contacts/{_action}"
        api_404(ctx, "POST", url, json={"contactIds": [ctx.contact]})
        if _action == "detach":
            api_404(ctx, "POST", url)  # no body: "every contact of the group"
        r = api(
            ctx,
            "POST",
            f"/v1/group/{ctx.rival_group}/contacts/{_action}",
            json={"contactIds": [ctx.contact]},
        )
        assert_problem(r, (400, 404))


@covers("POST", "/v1/message/{message_id}/send")
def _(ctx: Ctx) -> None:
    body = {"appId": ctx.rival_app, "recipients": [ctx.token]}
    api_404(ctx, "POST", f"/v1/message/{ctx.message}/send", json=body)


@covers("GET", "/v1/contact/{contact_id}/activity")
def _(ctx: Ctx) -> None:
    api_404(ctx, "GET", f"/v1/contact/{ctx.contact}/activity")


@covers("GET", "/v2/contacts/activity")
def _(ctx: Ctx) -> None:
    no_acme(
        api(
            ctx,
            "GET",
            "/v2/contacts/activity",
            params={"dateFrom": "2000-01-01", "dateTo": "2100-01-01"},
        )
    )


@covers("GET", "/v2/contacts/messages")
def _(ctx: Ctx) -> None:
    params = {
        "dateFrom": "2000-01-01",
        "dateTo": "2100-01-01",
        "externalCustomerId": f"{MARK}-cust",
    }
    r = api(ctx, "GET", "/v2/contacts/messages", params=params)
    no_acme(r)
    assert r.json() == []


for _method, _suffix in (
    ("GET", ""),
    ("PATCH", ""),
    ("DELETE", ""),
    ("POST", "/rotate-secret"),
    ("POST", "/test"),
    ("GET", "/deliveries"),
    ("GET", "/failed-events"),
):

    @covers(_method, "/v1/webhooks/{webhook_id}" + _suffix)
    def _(ctx: Ctx, _method: str = _method, _suffix: str = _suffix) -> None:
        kw: dict[str, Any] = {"json": {"active": False}} if _method == "PATCH" else {}
        api_404(ctx, _method, f"/v1/webhooks/{ctx.webhook}{_suffix}", **kw)


@covers("GET", "/v1/messages/telegram/{message_id}/languages")
def _(ctx: Ctx) -> None:
    api_404(ctx, "GET", f"/v1/messages/telegram/{ctx.message}/languages")


for _method in ("PUT", "DELETE"):

    @covers(_method, "/v1/messages/telegram/{message_id}/{language}")
    def _(ctx: Ctx, _method: str = _method) -> None:
        body = {"text": "x"} if _method == "PUT" else None
        api_404(ctx, _method, f"/v1/messages/telegram/{ctx.message}/uk", json=body)


for _method in ("GET", "PUT"):

    @covers(_method, "/v1/apps/{app_uuid}/updates")
    def _(ctx: Ctx, _method: str = _method) -> None:
        body = {"mode": "off"} if _method == "PUT" else None
        api_404(ctx, _method, f"/v1/apps/{ctx.app}/updates", json=body)


@covers("POST", "/v1/apps/{app_uuid}/links")
def _(ctx: Ctx) -> None:
    api_404(ctx, "POST", f"/v1/apps/{ctx.app}/links", json={"externalCustomerId": "x"})


@covers("POST", "/telegram/webhook/{app_uuid}")
def _(ctx: Ctx) -> None:
    # Telegram's calls carry no API key: only acme's webhook secret lets an update in.
    update = {"update_id": 1, "message": {"chat": {"id": 5, "type": "private"}, "text": "/start"}}
    for secret in (None, "guess", MARK):
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        r = ctx.client.post(f"/telegram/webhook/{ctx.app}", json=update, headers=headers)
        assert_problem(r, 401)


# --- the test --------------------------------------------------------------------------------


def app_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route, HEAD aside; mounts as ("MOUNT", path)."""
    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            included = getattr(route, "original_router", None)  # FastAPI's lazy include
            if included is not None:
                walk(included.routes, prefix + route.include_context.prefix)
            elif isinstance(route, Mount):
                found.add(("MOUNT", prefix + route.path))
            elif isinstance(route, APIRoute) or getattr(route, "methods", None):
                for method in route.methods or ():
                    if method != "HEAD":
                        found.add((method, prefix + route.path))

    walk(app.routes, "")
    return found


def test_every_route_is_covered(client: TestClient) -> None:
    routes = app_routes(client.app)
    missing = routes - set(CHECKS) - set(NO_TENANT_DATA)
    assert not missing, f"routes without a tenant-isolation check: {sorted(missing)}"
    stale = (set(CHECKS) | set(NO_TENANT_DATA)) - routes
    assert not stale, f"checks for routes that no longer exist: {sorted(stale)}"
    assert not set(CHECKS) & set(NO_TENANT_DATA)


def test_openapi_paths_are_all_routes(client: TestClient) -> None:
    routes = {path for _, path in app_routes(client.app)}
    for path in client.get("/openapi.json").json()["paths"]:
        assert path in routes, path


def test_rival_cannot_reach_acme_through_any_route(
    client: TestClient, other_key: str, db: Database, fake_telegram: Any
) -> None:
    ctx = _build(client, other_key, fake_telegram)
    failures: list[str] = []
    for route in sorted(CHECKS):
        before = table_snapshot(db)
        try:
            CHECKS[route](ctx)
        except AssertionError as exc:
            failures.append(f"{route}: {exc}")
        after = table_snapshot(db)
        changed = [name for name in before if before[name] != after[name]]
        if changed:
            failures.append(f"{route}: rival's requests changed tables {changed}")
    assert not failures, "\n".join(failures)
