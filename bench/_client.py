"""A small keep-alive HTTP/1.1 client for the benchmarks' timed loops: one connection, one request at a time.

httpx spends roughly as much CPU per request as the server does on a cheap one, so on a small machine a
load generator built on it takes the cores the server should have (and flatters ratios, issue 13).
This client does only what the benches need: ``http://`` URLs, a request with a Content-Length body,
a response with a Content-Length, chunked or close-delimited body, and JSON via msgspec. Any transport
or protocol failure raises ``HTTPError`` and closes the connection; the next request opens a new one.
A request is never retried (a POST is not idempotent): the bench logs the error instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import msgspec

_encode = msgspec.json.encode
_decode = msgspec.json.decode
_NO_JSON: Any = object()
_BODYLESS_STATUS = frozenset({204, 304})


class HTTPError(Exception):
    """The request got no complete, well-formed response: connection refused, closed, reset, timed out, garbled."""


class Response:
    """Status, headers (names lower-cased; a repeated one joined with ``", "``) and the body's bytes."""

    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    def json(self) -> Any:
        return _decode(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"<Response {self.status_code}, {len(self.content)} bytes>"


class Client:
    """One keep-alive connection to ``base_url`` (``http://host:port``), opened by the first request.

    ``headers`` go with every request; ``timeout`` bounds each request from connecting to the last byte.
    Use it as ``async with Client(...) as client``, or call ``aclose()``.
    """

    def __init__(self, base_url: str, headers: Mapping[str, str] | None = None, timeout: float = 120.0) -> None:
        url = urlsplit(base_url)
        if url.scheme != "http" or not url.hostname:
            raise ValueError(f"only http://host[:port] URLs are supported, not {base_url!r}")
        self.host, self.port, self.timeout = url.hostname, url.port or 80, timeout
        self._prefix = url.path.rstrip("/")
        netloc = url.netloc.rsplit("@", 1)[-1]
        self._headers = {"Host": netloc, **(headers or {})}
        self._common = _lines(self._headers)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass

    def _drop(self) -> None:
        """Forget the connection at once (its state is unknown after a failure or a cancellation)."""
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def get(self, path: str, **kw: Any) -> Response:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, **kw: Any) -> Response:
        return await self.request("POST", path, **kw)

    async def put(self, path: str, **kw: Any) -> Response:
        return await self.request("PUT", path, **kw)

    async def request(
        self, method: str, path: str, *, json: Any = _NO_JSON, content: bytes | str | None = None,
        params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
    ) -> Response:  # fmt: skip
        """Send one request and read its whole response; ``json`` is encoded with msgspec (Content-Type set)."""
        common = self._common
        if headers:  # a request's header replaces the client's of the same name, as in httpx
            names = {k.lower() for k in headers}
            common = _lines({**{k: v for k, v in self._headers.items() if k.lower() not in names}, **headers})
        head = [f"{method} {self._prefix}{path}{'?' + urlencode(params) if params else ''} HTTP/1.1\r\n", common]
        if json is not _NO_JSON:
            body = _encode(json)
            head.append("Content-Type: application/json\r\n")
        else:
            body = content.encode() if isinstance(content, str) else content or b""
        if body or method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(body)}\r\n")
        head.append("\r\n")
        data = "".join(head).encode("latin-1") + body
        try:
            async with asyncio.timeout(self.timeout):
                return await self._exchange(data, method == "HEAD")
        except BaseException as exc:
            self._drop()
            if isinstance(exc, (OSError, EOFError, asyncio.LimitOverrunError, ValueError)):
                # TimeoutError is an OSError; IncompleteReadError an EOFError (closed before the whole answer).
                raise HTTPError(f"{method} {path}: {type(exc).__name__}: {exc}" if str(exc) else f"{method} {path}: {type(exc).__name__}") from exc
            raise

    async def _exchange(self, data: bytes, head_only: bool) -> Response:
        reader = self._reader
        # A keep-alive connection the server has closed meanwhile (uvicorn: after 5 s idle) is replaced,
        # before anything is sent on it.
        if reader is None or reader.at_eof():
            self._drop()
            reader, self._writer = await asyncio.open_connection(self.host, self.port)
            self._reader = reader
        writer = self._writer
        assert writer is not None
        writer.write(data)
        await writer.drain()
        while True:
            lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            version, _, rest = lines[0].partition(" ")
            status = int(rest[:3])
            if not version.startswith("HTTP/1.") or len(rest) > 3 and rest[3] != " ":
                raise ValueError(f"not an HTTP/1.x status line: {lines[0][:100]!r}")
            if not 100 <= status < 200 or status == 101:
                break  # an interim 1xx answer (100 Continue) comes before the real one
        headers: dict[str, str] = {}
        for line in lines[1:-2]:
            name, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"malformed header line {line[:100]!r}")
            name, value = name.strip().lower(), value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
        if head_only or status in _BODYLESS_STATUS or status < 200:
            body = b""
        elif "transfer-encoding" in headers:
            if headers["transfer-encoding"].lower() != "chunked":
                raise ValueError(f"unsupported Transfer-Encoding {headers['transfer-encoding']!r}")
            body = await _read_chunked(reader)
        elif "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        else:  # delimited by the server closing the connection
            body, keep = await reader.read(), False
        if not keep or status == 101:
            self._drop()
        return Response(status, headers, body)


def _lines(headers: Mapping[str, str]) -> str:
    return "".join(f"{k}: {v}\r\n" for k, v in headers.items())


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailer fields, ignored
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise ValueError("chunk not followed by CRLF")
