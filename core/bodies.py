"""Reading a request body with a bound: stop at the limit instead of holding whatever a
client sends in memory first (the GraphQL endpoint and the public payment notifications)."""

from __future__ import annotations

from starlette.requests import Request


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None once it is longer than `limit` bytes (a declared length over the
    limit is refused before anything is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
