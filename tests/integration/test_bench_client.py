"""bench/_client.py, the benches' HTTP/1.1 client: keep-alive, bodies, status and headers, and failures as HTTPError.

Against uvicorn in this event loop (the server the benches drive) and against a scripted raw server for
what uvicorn will not do on request (a chunked body with a trailer, a close in mid-answer, no answer).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.integration.servers import free_port

_spec = importlib.util.spec_from_file_location("bench_client", Path(__file__).resolve().parents[2] / "bench" / "_client.py")
assert _spec and _spec.loader
bench_client = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_client)
Client, HTTPError = bench_client.Client, bench_client.HTTPError


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """What the request was (and which client port, i.e. connection, sent it); ``/chunked`` streams its answer."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/chunked":  # no Content-Length: uvicorn sends it chunked
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for part in (b"one ", b"two ", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    headers = {k.decode(): v.decode() for k, v in scope["headers"]}
    answer = json.dumps({
        "method": scope["method"], "path": scope["path"], "query": scope["query_string"].decode(), "port": scope["client"][1],
        "authorization": headers.get("authorization"), "content_type": headers.get("content-type"),
        "authorizations": sum(k == b"authorization" for k, _ in scope["headers"]),
        "content_length": headers.get("content-length"), "body": body.decode(),
    }).encode()  # fmt: skip
    status = 201 if scope["method"] == "POST" else 200
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), (b"x-twice", b"a"), (b"x-twice", b"b")]})
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture
async def uvicorn_url() -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(echo_app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
        if task.done():
            task.result()
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


class RawServer:
    """A local server that reads each request and sends the next scripted answer: bytes, then maybe a close.

    An answer of ``None`` sends nothing and waits for the client to hang up.
    """

    def __init__(self) -> None:
        self.answers: list[tuple[bytes | None, bool]] = []
        self.connections = 0
        self.requests: list[tuple[str, dict[str, str], bytes]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                lines = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")[:-2]
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                self.requests.append((lines[0], headers, await reader.readexactly(int(headers.get("content-length", 0)))))
                answer, close = self.answers.pop(0)
                if answer is None:
                    await reader.read()
                    return
                writer.write(answer)
                await writer.drain()
                if close:
                    return
        except asyncio.IncompleteReadError:
            pass  # the client hung up
        finally:
            writer.close()


@pytest.fixture
async def raw() -> AsyncIterator[tuple[RawServer, str]]:
    script = RawServer()
    server = await asyncio.start_server(script.handle, "127.0.0.1", 0)
    yield script, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    server.close()
    await server.wait_closed()


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def test_keep_alive_json_status_and_headers_against_uvicorn(uvicorn_url: str) -> None:
    async with Client(uvicorn_url, headers={"Authorization": "Bearer t0k"}) as client:
        created = await client.post("/api/things", json={"a": [1, 2], "b": "ș"})
        got = await client.get("/api/things/1", params={"limit": 1, "q": "a b"})
        empty = await client.post("/api/things/1/accept")
        other = (await client.get("/x", headers={"authorization": "Bearer other"})).json()
    assert other["authorization"] == "Bearer other" and other["authorizations"] == 1, "a request's header replaces the client's"
    assert (created.status_code, got.status_code, empty.status_code) == (201, 200, 201)
    assert created.headers["content-type"] == "application/json" and created.headers["x-twice"] == "a, b"
    first, second, third = created.json(), got.json(), empty.json()
    assert first["method"] == "POST" and first["path"] == "/api/things" and first["authorization"] == "Bearer t0k"
    assert first["content_type"] == "application/json" and json.loads(first["body"]) == {"a": [1, 2], "b": "ș"}
    assert second["method"] == "GET" and second["query"] == "limit=1&q=a+b" and second["body"] == ""
    assert third["body"] == "" and third["content_type"] is None and third["content_length"] == "0", "as httpx sends an empty POST"
    assert second["content_length"] is None
    assert first["port"] == second["port"] == third["port"], "one keep-alive connection for every request"


async def test_chunked_answer_from_uvicorn(uvicorn_url: str) -> None:
    async with Client(uvicorn_url) as client:
        resp = await client.get("/chunked")
        again = await client.get("/x")
    assert resp.headers.get("transfer-encoding") == "chunked" and "content-length" not in resp.headers
    assert resp.content == b"one two three" and resp.text == "one two three"
    assert again.status_code == 200, "the connection is still usable after a chunked answer"


async def test_chunked_with_extension_and_trailer_then_the_next_answer(raw: tuple[RawServer, str]) -> None:
    script, url = raw
    chunked = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nX-Trailer: 1\r\n\r\n"
    script.answers += [(chunked, False), (ok(b'{"n": 2}'), False)]
    async with Client(url) as client:
        first = await client.get("/a")
        second = await client.put("/b", content=b"raw")
    assert (first.status_code, first.content) == (404, b"hello!")
    assert (second.status_code, second.json()) == (200, {"n": 2})
    assert script.connections == 1
    assert [r[0] for r in script.requests] == ["GET /a HTTP/1.1", "PUT /b HTTP/1.1"] and script.requests[1][2] == b"raw"


async def test_a_connection_closed_in_mid_answer_is_an_error_and_the_next_request_reconnects(raw: tuple[RawServer, str]) -> None:
    script, url = raw
    script.answers += [(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", True), (b"", True), (ok(b"fine"), False)]
    async with Client(url) as client:
        with pytest.raises(HTTPError, match="IncompleteReadError"):
            await client.post("/half", json={})
        with pytest.raises(HTTPError, match="IncompleteReadError"):
            await client.post("/nothing", json={})
        assert (await client.get("/after")).content == b"fine"
    assert script.connections == 3


async def test_an_idle_connection_the_server_closed_is_replaced_before_sending(raw: tuple[RawServer, str]) -> None:
    script, url = raw
    # The first answer keeps the connection by its headers, then the server closes it (as uvicorn does after 5 s idle).
    script.answers += [(ok(b"one"), True), (ok(b"two", b"Connection: close\r\n"), True), (ok(b"three"), False)]
    async with Client(url) as client:
        assert (await client.get("/1")).content == b"one"
        for _ in range(200):  # until this loop has seen the server's FIN
            if client._reader.at_eof():
                break
            await asyncio.sleep(0.01)
        assert (await client.get("/2")).content == b"two"
        assert client._reader is None, "Connection: close is honoured at once"
        assert (await client.get("/3")).content == b"three"
    assert script.connections == 3 and len(script.requests) == 3


async def test_a_close_delimited_http_1_0_answer(raw: tuple[RawServer, str]) -> None:
    script, url = raw
    script.answers += [(b"HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\nuntil the end", True), (ok(b"next"), False)]
    async with Client(url) as client:
        resp = await client.get("/old")
        assert (resp.content, resp.headers) == (b"until the end", {"x-a": "1"})
        assert (await client.get("/new")).content == b"next"
    assert script.connections == 2


async def test_timeout_garbage_and_refused_are_errors(raw: tuple[RawServer, str]) -> None:
    script, url = raw
    script.answers += [(None, False), (b"SSH-2.0-OpenSSH\r\n\r\n", True), (ok(b"ok"), False)]
    async with Client(url, timeout=0.2) as client:
        with pytest.raises(HTTPError, match="TimeoutError"):
            await client.get("/slow")
        with pytest.raises(HTTPError, match="ValueError"):
            await client.get("/garbage")
        assert (await client.get("/ok")).status_code == 200
    async with Client(f"http://127.0.0.1:{free_port()}") as client:
        with pytest.raises(HTTPError, match="ConnectionRefusedError"):
            await client.get("/")
    with pytest.raises(ValueError, match="only http"):
        Client("https://example.org")
