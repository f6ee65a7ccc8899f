"""The `zhongtai` command: migrate, seed-demo, create-admin, sweep, serve, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from core.settings import PROJECT_ROOT
from core.settings import Settings
from core.settings import get_settings


def migrate(url: str | None = None) -> None:
    from alembic.config import Config

    from alembic import command

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    if url:
        config.attributes["url"] = url
    command.upgrade(config, "head")


async def _seed(url: str, products_per_leaf: int | None) -> bool:
    from core.db import create_engine
    from core.db import create_session_factory
    from seed import PRODUCTS_PER_LEAF
    from seed import seed_demo

    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            return await seed_demo(session, products_per_leaf or PRODUCTS_PER_LEAF)
    finally:
        await engine.dispose()


async def _create_admin(url: str, email: str, password: str) -> str:
    from core.db import create_engine
    from core.db import create_session_factory
    from services.accounts import ensure_admin
    from services.errors import DomainError
    from services.unit_of_work import in_new_session

    engine = create_engine(url)
    try:
        factory = create_session_factory(engine)
        try:
            staff, created = await in_new_session(
                factory, lambda s: ensure_admin(s, email, password)
            )
        except DomainError as error:
            return f"refused: {error.violations[0].message}"
        return f"{'created' if created else 'updated'} admin {staff.email} (id {staff.id})"
    finally:
        await engine.dispose()


async def _sweep(url: str) -> int:
    from core.clock import utcnow
    from core.db import create_engine
    from core.db import create_session_factory
    from services import housekeeping
    from services import members
    from services import payments

    engine = create_engine(url)
    payments.configure(get_settings())  # the providers asked before payments expire
    try:
        swept = await housekeeping.sweep(
            create_session_factory(engine),
            utcnow(),
            get_settings().auto_complete_days,
            get_settings().currency,
            members.PointsRules.of(get_settings()),
        )
        return swept.expired
    finally:
        await engine.dispose()


def export_schema(path: Path) -> None:
    from schema import schema

    path.write_text(schema.as_str() + "\n", encoding="utf-8")


DEFAULT_OPERATIONS = sorted((PROJECT_ROOT / "tests" / "contract").glob("*.graphql"))


async def _persist_operations(settings: object, paths: list[Path]) -> int:
    """Register every named operation of the client files on the allow-list, in the database
    (the store of record): exactly the text clients send (each operation with the fragments
    it uses, printed). With REDIS_URL set, their cached copies there are dropped as well."""
    from core.db import create_engine
    from core.db import create_session_factory
    from core.faults import Degradation
    from schema.documents import split_operations
    from services import persisted_queries
    from web.stores import redis_client

    operations: dict[str, str] = {}
    for path in paths:
        operations.update(split_operations(path.read_text(encoding="utf-8")))
    redis = redis_client(settings)  # type: ignore[arg-type]
    engine = create_engine(settings.database_url)  # type: ignore[attr-defined]
    try:
        store: persisted_queries.Store = persisted_queries.DatabaseStore(
            lambda: create_session_factory(engine)
        )
        if redis is not None:
            store = persisted_queries.RedisCache(
                redis,
                store,
                Degradation("redis"),
                settings.redis_key_prefix,  # type: ignore[attr-defined]
            )
        return await persisted_queries.allow(store, operations)
    finally:
        await engine.dispose()
        if redis is not None:
            await redis.aclose()


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn takes the client address from X-Forwarded-For only when the connection comes
    from a trusted proxy (FORWARDED_ALLOW_IPS), and then the nearest address no trusted proxy
    added, so a client cannot choose the address its logins are counted under."""
    return {"proxy_headers": True, "forwarded_allow_ips": settings.forwarded_allow_ips}


def serve(host: str, port: int, workers: int, reload: bool) -> None:
    import uvicorn

    os.environ["WORKERS"] = str(workers)  # the workers inherit it: caches know they share
    uvicorn.run(
        "app:app",
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_level="info",
        **proxy_options(get_settings()),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zhongtai", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="alembic upgrade head on DATABASE_URL")
    seed = sub.add_parser("seed-demo", help="load the demo catalog (idempotent)")
    seed.add_argument("--products-per-leaf", type=int, default=None)
    run = sub.add_parser("serve", help="serve the API with uvicorn")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--workers", type=int, default=1)
    run.add_argument("--reload", action="store_true")
    admin = sub.add_parser(
        "create-admin",
        help="create (or reset) a staff user with every permission; idempotent on the email",
    )
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", required=True)
    sub.add_parser(
        "sweep",
        help="expire overdue stock reservations once (for cron); safe "
        "to run beside the in-app sweeper and in many processes",
    )
    persist = sub.add_parser(
        "persist-operations",
        help="put the client operation files' "
        "operations on the allow-list (PERSISTED_QUERIES_ONLY)",
    )
    persist.add_argument("paths", nargs="*", type=Path, default=DEFAULT_OPERATIONS)
    export = sub.add_parser("export-schema", help="write the SDL to schema.graphql")
    export.add_argument("--out", type=Path, default=PROJECT_ROOT / "schema.graphql")
    args = parser.parse_args(argv)

    settings = get_settings()
    if args.command == "migrate":
        migrate()
    elif args.command == "seed-demo":
        created = asyncio.run(_seed(settings.database_url, args.products_per_leaf))
        print("demo data loaded" if created else "demo data already present")
    elif args.command == "serve":
        serve(args.host, args.port, args.workers, args.reload)
    elif args.command == "create-admin":
        message = asyncio.run(_create_admin(settings.database_url, args.email, args.password))
        print(message)
        return 1 if message.startswith("refused") else 0
    elif args.command == "sweep":
        print(f"expired {asyncio.run(_sweep(settings.database_url))} reservation(s)")
    elif args.command == "persist-operations":
        count = asyncio.run(_persist_operations(settings, args.paths))
        print(f"allow-listed {count} operation(s)")
    elif args.command == "export-schema":
        export_schema(args.out)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
