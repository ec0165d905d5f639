"""Response headers every answer of the web app carries, and the Host check against DNS rebinding.

- `Content-Security-Policy`: no script, no remote resource; HTML, JSON and errors alike.
- `X-Content-Type-Options: nosniff`: a browser never guesses a JSON answer (which holds untrusted text) is HTML.
- `Referrer-Policy: no-referrer`: links out of a page do not leak its address.
- Starlette's `TrustedHostMiddleware` answers 400 to a request whose Host header is not allowed, so a page on
  another origin that rebinds its DNS name to 127.0.0.1 cannot read the app through the victim's browser.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
HEADERS: dict[str, str] = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


class SecurityHeaders:
    """Pure ASGI middleware: add each of HEADERS to every HTTP response that does not set it already."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items() if k.encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
