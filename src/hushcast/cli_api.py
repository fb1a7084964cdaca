"""The HTTP API client that the ``hushcast`` commands driving a running service share.

Every such command takes ``--url`` (env ``HUSHCAST_URL``, default http://127.0.0.1:8000)
and ``--key`` (env ``HUSHCAST_API_KEY``). A missing key exits 2; an API error prints the
problem ``detail`` in red and exits 1.

httpx is imported lazily, so the server commands of ``hushcast`` work without it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape as markup_escape

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "http://127.0.0.1:8000"

err = Console(stderr=True)


class ApiFailure(Exception):
    """The API answered an error (or could not be reached)."""

    def __init__(self, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("title")
        if isinstance(detail, str) and detail:
            return detail
        if detail is not None:
            return str(detail)
    text = response.text.strip()
    return f"HTTP {response.status_code}" + (f": {text[:300]}" if text else "")


class ApiClient:
    """A small synchronous client for the Hushcast HTTP API."""

    def __init__(self, url: str, key: str, timeout: float = 60.0) -> None:
        try:
            import httpx
        except ImportError:  # pragma: no cover - httpx ships with the dev extras
            err.print("[red]These commands need httpx: pip install httpx[/red]")
            raise typer.Exit(2) from None
        self.url = url.rstrip("/")
        self._httpx = httpx
        self.http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
            timeout=timeout,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except self._httpx.HTTPError as exc:
            raise ApiFailure(f"Cannot reach Hushcast at {self.url}: {exc}") from None
        if response.status_code >= 400:
            raise ApiFailure(_detail(response), response.status_code)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json)

    def patch(self, path: str, json: Any = None) -> Any:
        return self.request("PATCH", path, json=json)

    @contextlib.contextmanager
    def stream(self, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        try:
            with self.http.stream("GET", path, **kwargs) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ApiFailure(_detail(response), response.status_code)
                yield response
        except self._httpx.HTTPError as exc:
            raise ApiFailure(f"Cannot reach Hushcast at {self.url}: {exc}") from None


UrlOption = Annotated[
    str,
    typer.Option("--url", envvar="HUSHCAST_URL", help="Base URL of the Hushcast service"),
]
KeyOption = Annotated[
    str | None,
    typer.Option("--key", envvar="HUSHCAST_API_KEY", help="API key", show_default=False),
]
AppOption = Annotated[str, typer.Option("--app", help="Bot app uuid", show_default=False)]


def api_client(url: str, key: str | None) -> ApiClient:
    """The API client for ``--url`` and ``--key``; exits 2 without a key."""
    if not key or not key.strip():
        err.print(
            "[red]No API key: pass --key or set HUSHCAST_API_KEY "
            "(create one with `hushcast keys create --org NAME`).[/red]"
        )
        raise typer.Exit(2)
    return ApiClient(url, key.strip())


@contextlib.contextmanager
def api_errors() -> Iterator[None]:
    """Prints an API error's detail in red and exits 1."""
    try:
        yield
    except ApiFailure as exc:
        prefix = f"Error {exc.status}: " if exc.status else "Error: "
        hint = ""
        if exc.status == 401:
            hint = (
                " (check --key or HUSHCAST_API_KEY; `hushcast keys create --org NAME` makes a key)"
            )
        err.print(f"[red]{prefix}{markup_escape(exc.detail)}{markup_escape(hint)}[/red]")
        raise typer.Exit(1) from None


def number_text(value: Any) -> str:
    """A count with thousands separators; anything else as text; None as nothing."""
    return "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)
