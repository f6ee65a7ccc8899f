"""A minimal HTTP/1.1 client for load tests: one connection per request (so the kernel
spreads them over uvicorn's workers, as a load balancer would) and nothing else, so the load
generator, which shares this 2-core machine with the server, takes as little CPU as it can."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status_code, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return orjson.loads(self.body)


class RawClient:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    async def post(self, path: str, payload: object, headers: dict[str, str]) -> Response:
        body = orjson.dumps(payload)
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nhost: {self.host}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"connection: close\r\n{head}\r\n"
        ).encode() + body
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(request)
            raw = await reader.read()  # the server closes after the answer
        finally:
            writer.close()
        header_block, _, content = raw.partition(b"\r\n\r\n")
        lines = header_block.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        return Response(status, fields, content)
