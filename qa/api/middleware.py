"""ASGI middleware: the Host allow-list, a request-body guard (size limit, UTF-8) and security headers."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The page and its assets come from this server only; nothing may frame it or load anything else.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

# /docs (Swagger UI) likewise, but its widgets set inline styles.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

# Over this many times the limit, a declared body is not drained before closing the connection.
_LINGER_FACTOR = 16


async def _send_json(send: Send, status: int, detail: str, *, close: bool = False) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _human(n: int) -> str:
    return f"{n} bytes" if n < 100_000 else f"{n} bytes ({n / 1_000_000:g} MB)"


class BodyGuard:
    """Refuse bodies over `max_bytes` (by Content-Length, and by the bytes actually streamed) with 413,
    and bodies that are not UTF-8 with 400, before the app sees them; the app gets the buffered body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> str:
        return f"the request body is over the limit of {_human(self.max_bytes)}; send a smaller body"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: int | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_json(send, 400, "the Content-Length header is not a number", close=True)
                    return
        if declared is not None and declared > self.max_bytes:
            # Answered at once, without reading the body. The server reads and drops what the client still
            # sends (closing on unread bytes would reset the connection before the client reads the 413);
            # an absurd size is not worth reading, so that connection is closed.
            await _send_json(send, 413, self._too_large(), close=declared > _LINGER_FACTOR * self.max_bytes)
            return

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away: nobody to answer
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _send_json(send, 413, self._too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as exc:
                await _send_json(
                    send,
                    400,
                    f"the request body is not UTF-8 (byte 0x{body[exc.start]:02X} at offset {exc.start}): "
                    "send JSON encoded as UTF-8",
                )
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def host_name(header: str) -> str:
    """The name in a Host header, without its port and brackets, lower-cased ("[::1]:8000" -> "::1")."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def host_allowed(name: str, allowed: tuple[str, ...]) -> bool:
    """Whether the name is in the list: exact names, "*.example.org" for its subdomains, "*" for any."""
    for pattern in allowed:
        if pattern == "*" or name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:])):
            return True
    return False


class HostGuard:
    """Answer 400 to a request whose Host header is not an allowed name: a page of another site whose DNS
    name was rebound to this machine sends its own name, and cannot read the archive through the browser."""

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = tuple(a.strip().lower() for a in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        name = host_name(header)
        if not host_allowed(name, self.allowed):
            shown = header if len(header) <= 100 else header[:97] + "..."
            await _send_json(
                send,
                400,
                f"this server does not answer to the host {shown!r}: use one of {', '.join(self.allowed)} "
                "(QA_ALLOWED_HOSTS on the server lists them)",
            )
            return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Add nosniff and no-referrer to every response, and a strict CSP to the page, /docs and their assets."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        is_docs = path == "/docs" or path.startswith("/docs-assets/")
        csp = PAGE_CSP if path == "/" or path.startswith("/static/") else DOCS_CSP if is_docs else None

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                if csp is not None:
                    headers.append((b"content-security-policy", csp.encode()))
                    headers.append((b"x-frame-options", b"DENY"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
