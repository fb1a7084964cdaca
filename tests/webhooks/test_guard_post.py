"""One POST: redirects are not followed, timeouts fail, private targets are refused at
delivery time too (a name that resolves to a private address: DNS rebinding)."""

from __future__ import annotations

import asyncio

import pytest

from hushcast.webhooks import guard
from hushcast.webhooks.config import WebhookSettings
from hushcast.webhooks.post import PostResult, new_session, post
from tests.support.receiver import Receiver


def send(url: str, cfg: WebhookSettings) -> PostResult:
    async def main() -> PostResult:
        async with new_session(cfg) as session:
            return await post(session, url, b"{}", ["whsec_x"], cfg)

    return asyncio.run(main())


def test_redirect_is_a_failure_and_not_followed(receiver: Receiver) -> None:
    receiver.secret = "whsec_x"
    receiver.status = 302
    result = send(receiver.url, WebhookSettings(allow_private=True))
    assert not result.ok and result.status_code == 302
    assert receiver.calls == 1


def test_timeout_is_a_failure(receiver: Receiver) -> None:
    receiver.secret = "whsec_x"
    receiver.fail_first, receiver.hang_s = 1, 1.5
    result = send(receiver.url, WebhookSettings(allow_private=True, timeout_s=0.3))
    assert not result.ok and result.status_code is None
    assert result.error is not None and "timeout" in result.error


def test_private_target_refused_at_delivery(receiver: Receiver) -> None:
    result = send(receiver.url, WebhookSettings(allow_private=False))
    assert not result.ok and result.error is not None and result.error.startswith("refused")
    assert receiver.calls == 0


def test_guarded_resolver_refuses_a_name_resolving_to_loopback() -> None:
    async def main() -> None:
        resolver = guard.GuardedResolver()
        try:
            with pytest.raises(OSError, match="non-public"):
                await resolver.resolve("localhost", 80)
        finally:
            await resolver.close()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:10.0.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("not an ip", False),
    ],
)
def test_is_public(address: str, public: bool) -> None:
    assert guard.is_public(address) is public
