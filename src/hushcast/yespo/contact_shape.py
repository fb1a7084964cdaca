"""Yespo's Contact body translated into the flat item the contacts service parses.

Yespo clients send ``channels: [{"type": "email"|"sms"|..., "value"}]``, ``id``,
``address{region, town, address, postcode}``, ``fields: [{"id", "value"}]``,
``contactKey``, ``languageCode`` and ``groups: [{"name"}]``. The flat shape Hushcast
accepted before (``email``, ``phone``, ``contactId``, ``fields: [{"name", "value"}]``)
still works: an explicit flat key wins over the channel carrying the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hushcast.core.errors import BadRequest
from hushcast.core.ids import ascii_int

# Channel type -> flat key. Other Yespo channel types (mobilepush, webpush, viber,
# appinbox, ...) address channels this service does not send; they are ignored.
CHANNEL_KEYS = {"email": "email", "sms": "phone"}
ADDRESS_KEYS = ("region", "town", "address", "postcode")
MAX_ADDRESS_LEN = 200
MAX_KEY_LEN = 200
MAX_LANGUAGE_LEN = 16
MAX_GROUPS_PER_CONTACT = 100
MAX_GROUP_NAME_LEN = 200


@dataclass
class YespoParts:
    """What a Yespo contact carries beyond the service's flat item."""

    flat: dict[str, Any]  # for contact_service.parse_contact_item
    profile: dict[str, Any] = field(default_factory=dict)  # column -> value (None clears)
    group_names: list[str] = field(default_factory=list)
    field_ids: list[int] = field(default_factory=list)  # custom field ids used, in order


def _loc(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _short_text(where: str, name: str, value: Any, max_len: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise BadRequest(f"{_loc(where, name)}: must be a string")
    text = value.strip()
    if len(text) > max_len:
        raise BadRequest(f"{_loc(where, name)}: is longer than {max_len} characters")
    return text or None


def _channels(where: str, raw: Any, flat: dict[str, Any], given: set[str]) -> None:
    if raw is None:
        return
    if not isinstance(raw, list):
        raise BadRequest(f"{_loc(where, 'channels')}: must be an array of {{type, value}}")
    for i, ch in enumerate(raw):
        at = _loc(where, f"channels[{i}]")
        if not isinstance(ch, dict):
            raise BadRequest(f"{at}: must be an object with type and value")
        kind = ch.get("type")
        if not isinstance(kind, str) or not kind.strip():
            raise BadRequest(f"{at}.type: is required (email, sms, ...)")
        key = CHANNEL_KEYS.get(kind.strip().lower())
        if key is None or key in given:
            continue
        # The first channel of a type is the contact's address for that channel.
        if key not in flat:
            flat[key] = ch.get("value")


def _fields(where: str, raw: Any, parts: YespoParts, names: dict[int, str]) -> None:
    if not isinstance(raw, list):
        return  # the service's parser explains what is wrong
    out: list[Any] = []
    for i, entry in enumerate(raw):
        if isinstance(entry, dict) and entry.get("name") is None and "id" in entry:
            if "value" not in entry:
                # Some SDKs (ok-esputnik 0.3) drop the value and send {"id"} alone: nothing
                # to write, and erasing the field would lose data.
                continue
            fid = field_id(entry["id"])
            if fid is None:
                raise BadRequest(f"{_loc(where, f'fields[{i}].id')}: must be a positive integer")
            name = names.get(fid)
            if name is None:
                raise BadRequest(
                    f"{_loc(where, f'fields[{i}].id')}: no custom field with id {fid} "
                    "(GET /v1/addressbooks lists them)"
                )
            parts.field_ids.append(fid)
            out.append({"name": name, "value": entry.get("value")})
        else:
            out.append(entry)
    parts.flat["fields"] = out


def field_id(value: Any) -> int | None:
    if isinstance(value, str) and (ascii_int(value.strip()) is not None):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value >= 2**63:
        return None
    return value


def field_ids_in(raw: Any) -> list[int]:
    """Custom field ids a Yespo contact names (to look their names up in one query)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("fields"), list):
        return []
    ids = []
    for entry in raw["fields"]:
        if isinstance(entry, dict) and entry.get("name") is None:
            fid = field_id(entry.get("id"))
            if fid is not None:
                ids.append(fid)
    return ids


def _address(where: str, raw: Any) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadRequest(f"{_loc(where, 'address')}: must be an object (region, town, ...)")
    out = {}
    for key in ADDRESS_KEYS:
        value = _short_text(where, f"address.{key}", raw.get(key), MAX_ADDRESS_LEN)
        if value is not None:
            out[key] = value
    return out or None


def _groups(where: str, raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadRequest(f"{_loc(where, 'groups')}: must be an array of {{name}}")
    if len(raw) > MAX_GROUPS_PER_CONTACT:
        raise BadRequest(f"{_loc(where, 'groups')}: at most {MAX_GROUPS_PER_CONTACT} entries")
    names = []
    for i, g in enumerate(raw):
        value = g.get("name") if isinstance(g, dict) else g
        name = _short_text(where, f"groups[{i}].name", value, MAX_GROUP_NAME_LEN)
        if name is None:
            raise BadRequest(f"{_loc(where, f'groups[{i}].name')}: is required")
        names.append(name)
    return names


def translate_contact(raw: Any, where: str, field_names: dict[int, str]) -> YespoParts:
    """Splits one contact (Yespo or flat shape) into the flat item and the extras."""
    if not isinstance(raw, dict):
        return YespoParts(flat=raw)
    flat = dict(raw)
    parts = YespoParts(flat=flat)
    if flat.get("contactId") is None and raw.get("id") is not None:
        flat["contactId"] = raw["id"]
    given = {k for k in ("email", "phone") if raw.get(k) is not None}
    _channels(where, raw.get("channels"), flat, given)
    if "fields" in raw:
        _fields(where, raw["fields"], parts, field_names)
    if "contactKey" in raw:
        parts.profile["contact_key"] = _short_text(
            where, "contactKey", raw["contactKey"], MAX_KEY_LEN
        )
    if "languageCode" in raw:
        parts.profile["language_code"] = _short_text(
            where, "languageCode", raw["languageCode"], MAX_LANGUAGE_LEN
        )
    if "address" in raw:
        parts.profile["address"] = _address(where, raw["address"])
    parts.group_names = _groups(where, raw.get("groups"))
    return parts
