"""The HTTP-API commands of ``hushcast`` against the real service (uvicorn + worker) and the
fake Telegram server, invoked through Typer's CliRunner."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from hushcast.cli import app
from hushcast.cli_client import parse_duration
from tests.support.live import create_message
from tests.support.service import LiveService, new_bot_token

# The commands only speak HTTP: one database backend is enough.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _has_report_routes() -> bool:
    from hushcast.reports.endpoints import router

    paths = [getattr(r, "path", "") for r in router.routes]
    report = any(re.fullmatch(r"/broadcast/\{[^}]+\}/report", p) for p in paths)
    contacts = any(re.fullmatch(r"/broadcast/\{[^}]+\}/report/contacts", p) for p in paths)
    return report and contacts


needs_report = pytest.mark.skipif(
    not _has_report_routes(),
    reason="report endpoints (GET /v1/broadcast/{id}/report) not there yet",
)


@pytest.fixture
def cli(live: LiveService, api_key: str) -> Any:
    runner = CliRunner()
    env = {"HUSHCAST_URL": live.base_url, "HUSHCAST_API_KEY": api_key, "COLUMNS": "200"}

    def invoke(*args: str, env_overrides: dict[str, str | None] | None = None) -> Result:
        return runner.invoke(app, list(args), env={**env, **(env_overrides or {})})

    return invoke


def flat(result: Result) -> str:
    """All output with whitespace collapsed (Rich wraps long lines)."""
    return " ".join(result.output.split())


def connect_bot(live: LiveService, fake: Any, **settings: Any) -> str:
    r = live.http.post("/v1/apps", json={"botToken": new_bot_token(fake, "cli_demo_bot")})
    assert r.status_code == 201, r.text
    app_uuid = str(r.json()["appUuid"])
    if settings:
        assert live.http.patch(f"/v1/apps/{app_uuid}", json=settings).status_code == 200
    return app_uuid


def register(live: LiveService, app_uuid: str, tokens: list[str]) -> None:
    items = [{"token": t, "externalCustomerId": f"cust-{t}"} for t in tokens]
    r = live.http.post(f"/v1/apps/{app_uuid}/tokens", json={"tokens": items})
    assert r.status_code == 200, r.text


def mute_state(live: LiveService, app_uuid: str, token: str) -> dict[str, Any]:
    r = live.http.get(f"/v1/apps/{app_uuid}/token/mute", params={"token": token})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_parse_duration() -> None:
    assert parse_duration("30s") == 30
    assert parse_duration("90m") == 5400
    assert parse_duration("2h") == 7200
    assert parse_duration("7d") == 7 * 86400
    assert parse_duration("1w") == 604800
    assert parse_duration("1h30m") == 5400
    for bad in ("", "10", "5x", "h", "-5m", "2 hours", "0s"):
        with pytest.raises(ValueError):
            parse_duration(bad)


@sqlite_only
def test_apps_lists_bots_and_errors(cli: Any, live: LiveService, fake_telegram: Any) -> None:
    app_uuid = connect_bot(live, fake_telegram)
    register(live, app_uuid, ["501", "502", "503"])
    live.http.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "502"})

    result = cli("apps")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if app_uuid in line)
    assert "@cli_demo_bot" in row
    assert re.search(r"│\s*3\s*│\s*1\s*│", row), row

    # No key: a clear error, exit 2.
    result = cli("apps", env_overrides={"HUSHCAST_API_KEY": None})
    assert result.exit_code == 2
    assert "No API key" in flat(result)

    # A bad key: the problem detail, exit 1.
    result = cli("apps", "--key", "hc_wrong")
    assert result.exit_code == 1
    assert "Error 401" in flat(result)

    # Unknown app: the API's detail.
    result = cli("mute", "--app", "00000000-0000-0000-0000-000000000000", "501")
    assert result.exit_code == 1
    assert "Error 404" in flat(result)

    # Nothing listening: a clear error, exit 1.
    result = cli("apps", "--url", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert "Cannot reach Hushcast" in flat(result)


@sqlite_only
def test_mute_and_unmute(cli: Any, live: LiveService, fake_telegram: Any) -> None:
    app_uuid = connect_bot(live, fake_telegram)
    register(live, app_uuid, ["601", "602"])

    result = cli("mute", "--app", app_uuid, "601", "--for", "2h")
    assert result.exit_code == 0, result.output
    state = mute_state(live, app_uuid, "601")
    assert (
        state["muted"] is True
        and state["mutedUntil"]
        and not state["mutedUntil"].startswith("9999")
    )
    assert "until" in flat(result)

    result = cli("mute", "--app", app_uuid, "602")
    assert result.exit_code == 0, result.output
    assert "forever" in flat(result)
    state = mute_state(live, app_uuid, "602")
    assert state["muted"] is True and state["mutedUntil"].startswith("9999")

    result = cli("unmute", "--app", app_uuid, "601")
    assert result.exit_code == 0, result.output
    assert mute_state(live, app_uuid, "601")["muted"] is False
    assert mute_state(live, app_uuid, "602")["muted"] is True

    result = cli("mute", "--app", app_uuid, "601", "--for", "10 years")
    assert result.exit_code == 2
    assert "Invalid duration" in flat(result)
    assert mute_state(live, app_uuid, "601")["muted"] is False

    # Out of the API's range (5 s .. 1 year): the server's detail, exit 1.
    result = cli("mute", "--app", app_uuid, "601", "--for", "2s")
    assert result.exit_code == 1
    assert "Error 400" in flat(result)


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


@sqlite_only
def test_tokens_import_in_batches(
    cli: Any, live: LiveService, fake_telegram: Any, tmp_path: Path
) -> None:
    app_uuid = connect_bot(live, fake_telegram)
    header = ["token", "externalCustomerId", "email", "phone"]
    rows = [
        {"token": str(800_000 + i), "externalCustomerId": f"c{i}", "email": "", "phone": ""}
        for i in range(2_500)
    ]
    rows[10]["email"] = "ten@example.com"
    good = tmp_path / "tokens.csv"
    write_csv(good, rows, header)

    result = cli("tokens", "import", "--app", app_uuid, str(good), "--batch-size", "1000")
    assert result.exit_code == 0, result.output
    out = flat(result)
    assert "Imported 2,500 rows" in out
    assert re.search(r"tokensAdded │ 2,500", out), out
    assert re.search(r"contactsCreated │ 2,500", out), out
    assert live.http.get(f"/v1/apps/{app_uuid}").json()["subscribers"] == 2_500

    # Importing again changes nothing.
    result = cli("tokens", "import", "--app", app_uuid, str(good), "--batch-size", "1000")
    assert result.exit_code == 0, result.output
    assert re.search(r"tokensUnchanged │ 2,500", flat(result))

    # A row whose chat id is not one, in the second batch: reported by its CSV line.
    bad_rows = [
        {"token": str(900_000 + i), "externalCustomerId": f"d{i}", "email": "", "phone": ""}
        for i in range(1_200)
    ]
    bad_rows[1_100]["token"] = "not-a-chat-id"  # data row 1,101 = line 1,102
    bad = tmp_path / "bad.csv"
    write_csv(bad, bad_rows, header)
    result = cli("tokens", "import", "--app", app_uuid, str(bad), "--batch-size", "1000")
    assert result.exit_code == 1, result.output
    out = flat(result)
    assert "CSV line 1102" in out, out
    assert "not-a-chat-id" in out
    assert "1,000 rows before line 1002 were imported" in out
    assert live.http.get(f"/v1/apps/{app_uuid}").json()["subscribers"] == 3_500

    # A header without the token column.
    nohdr = tmp_path / "nohdr.csv"
    nohdr.write_text("chat,email\n1,a@b.c\n")
    result = cli("tokens", "import", "--app", app_uuid, str(nohdr))
    assert result.exit_code == 2
    assert "'token' column" in flat(result)


def run_broadcast(cli: Any, live: LiveService, fake: Any) -> tuple[str, int]:
    fake.configure(global_rate=1000)
    app_uuid = connect_bot(live, fake, messagesPerSecond=200)
    tokens = [str(4000 + i) for i in range(40)]
    register(live, app_uuid, tokens)
    live.http.post(f"/v1/apps/{app_uuid}/token/mute", json={"token": "4007"})
    message_id = create_message(
        live.http, "Hello!", buttons=[{"text": "Open", "link": "https://shop.example/"}]
    )
    result = cli("broadcast", "send", "--app", app_uuid, "--message", str(message_id), "--follow")
    assert result.exit_code == 0, result.output
    bid = int(result.stdout.splitlines()[0])
    out = flat(result)
    assert f"Broadcast {bid}: FINISHED" in out
    assert re.search(r"delivered │ 39", out), out
    assert re.search(r"unavailable │ 1", out), out
    view = live.http.get(f"/v1/broadcast/{bid}").json()
    assert view["status"] == "FINISHED"
    assert (view["delivered"], view["unavailable"], view["errors"]) == (39, 1, 0)
    return app_uuid, bid


@sqlite_only
def test_broadcast_send_follow(cli: Any, live: LiveService, fake_telegram: Any) -> None:
    run_broadcast(cli, live, fake_telegram)
    assert len(fake_telegram.messages()) == 39

    # Without --follow: just the id; an unknown message: the detail, exit 1.
    app_uuid = connect_bot(live, fake_telegram)
    result = cli("broadcast", "send", "--app", app_uuid, "--message", "999999")
    assert result.exit_code == 1
    assert "Error 4" in flat(result)


@needs_report
@sqlite_only
def test_report_tables_and_csv(
    cli: Any, live: LiveService, fake_telegram: Any, tmp_path: Path
) -> None:
    _, bid = run_broadcast(cli, live, fake_telegram)

    result = cli("report", str(bid))
    assert result.exit_code == 0, result.output
    out = flat(result)
    assert re.search(r"CHANNEL_WAS_MUTED │ 1 ", out), out
    assert re.search(r"totalContacts │ 40", out), out

    target = tmp_path / "report.csv"
    result = cli("report", str(bid), "--csv", str(target))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(target.open(newline="", encoding="utf-8-sig")))
    assert len(rows) == 40
    assert [r["token"] for r in rows if "MUTED" in str(r)] == ["4007"]

    assert not (tmp_path / "report.csv.part").exists()

    result = cli("report", str(bid), "--csv", "-")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 40

    result = cli("report", "999999")
    assert result.exit_code == 1
    assert "Error 404" in flat(result)
