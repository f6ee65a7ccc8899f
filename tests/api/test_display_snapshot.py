"""The display tree is one snapshot shared by every request of a process (services/catalog
display_snapshot), kept until display_categories is written — by this process, or by another
one heard through PostgreSQL's change feed. A cached-answer test cannot tell a kept snapshot
from a fresh one (both send no statement), so these read the snapshot itself."""

from __future__ import annotations

import asyncio
from datetime import UTC
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core import changes
from core.db import create_engine
from core.db import create_session_factory
from core.ids import decode_id
from services import catalog
from tests.api.catalog_data import build_catalog
from tests.conftest import Api

NOW = datetime(2026, 4, 15, tzinfo=UTC)
RENAME = "UPDATE display_categories SET name = :name WHERE id = :id"


async def names(engine: AsyncEngine) -> tuple[catalog.DisplaySnapshot, set[str]]:
    async with create_session_factory(engine)() as session:
        snapshot = await catalog.display_snapshot(session, NOW)
    return snapshot, {n.name for n in snapshot.nodes}


async def test_the_snapshot_is_shared_until_a_write_here_or_in_another_process(
    api: Api, engine: AsyncEngine
) -> None:
    c = await build_catalog(api)
    phones = decode_id(c.display["phones"])[1]
    listener = await changes.start_listening(engine)
    # another process's engine (its own origin); on SQLite only this process writes
    other = create_engine(engine.url.render_as_string(hide_password=False))
    try:
        assert changes.feed_of(engine).live
        first, seen = await names(engine)
        again, _ = await names(engine)
        assert again is first  # kept: one snapshot for every request

        async with engine.begin() as conn:  # a write of this process
            await conn.execute(text(RENAME), {"name": "Phones here", "id": phones})
        mine, seen = await names(engine)
        assert mine is not first and "Phones here" in seen
        if engine.dialect.name != "postgresql":
            return

        async with other.begin() as conn:  # a write heard through PostgreSQL
            await conn.execute(text(RENAME), {"name": "Phones there", "id": phones})
        deadline = asyncio.get_running_loop().time() + 10
        while "Phones there" not in seen:
            assert asyncio.get_running_loop().time() < deadline, "another process's write unheard"
            await asyncio.sleep(0.05)
            _, seen = await names(engine)
    finally:
        await other.dispose()
        if listener is not None:
            listener.cancel()
