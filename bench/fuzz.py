"""The schema fuzzer's long run (tests/fuzz/harness.py; the suite runs a short one): generated
queries and mutations over the whole schema, with hostile scalars, as a guest, a customer, a
merchant's staff and the platform admin, in-process against PostgreSQL with the demo data.

Uses a database of its own, zhongtai_fuzz on the local server, created and dropped here. Prints
requests sent, answers by HTTP status and by error code, the duration, and each distinct
finding (an INTERNAL_ERROR or a 5xx) with one document that caused it. Exits 1 on findings.

    .venv/bin/python -m bench.fuzz [--examples 2000] [--hygienic] [--products-per-leaf 24]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys

from sqlalchemy import text

from cli import migrate
from core.db import create_engine
from tests.fuzz.harness import Finding
from tests.fuzz.harness import Tally
from tests.fuzz.harness import run_fuzz

PG_ADMIN_URL = "postgresql+asyncpg://127.0.0.1:5432/postgres"
PG_FUZZ_URL = "postgresql+asyncpg://127.0.0.1:5432/zhongtai_fuzz"


async def _admin(statement: str) -> None:
    engine = create_engine(PG_ADMIN_URL)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(statement))
    await engine.dispose()


CAUSE = re.compile(r"^[\w.]+(Error|Exception)\b.*")


def _signature(finding: Finding) -> str:
    """What tells two findings apart: the status, codes and the last exception line."""
    causes = [m.group(0)[:120] for m in map(CAUSE.match, finding.detail.splitlines()) if m]
    return f"HTTP {finding.status} {sorted(set(finding.codes))} {causes[-1] if causes else ''}"


def report(tally: Tally) -> None:
    print(tally.summary())
    distinct: dict[str, list[Finding]] = {}
    for finding in tally.findings:
        distinct.setdefault(_signature(finding), []).append(finding)
    for signature, found in distinct.items():
        print(f"\n=== {len(found)} × {signature}\n{found[0]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument(
        "--hygienic",
        action="store_true",
        help="no control characters, lone surrogates or over-long strings",
    )
    parser.add_argument("--products-per-leaf", type=int, default=24)
    args = parser.parse_args()
    asyncio.run(_admin("DROP DATABASE IF EXISTS zhongtai_fuzz WITH (FORCE)"))
    asyncio.run(_admin("CREATE DATABASE zhongtai_fuzz"))
    try:
        migrate(PG_FUZZ_URL)
        tally = run_fuzz(
            PG_FUZZ_URL,
            examples=args.examples,
            hostile=not args.hygienic,
            products_per_leaf=args.products_per_leaf,
            refresh_every=100,
            on_progress=lambda t: print(
                f"... {t.sent} sent, {len(t.findings)} findings", file=sys.stderr, flush=True
            ),
        )
    finally:
        asyncio.run(_admin("DROP DATABASE IF EXISTS zhongtai_fuzz WITH (FORCE)"))
    report(tally)
    return 1 if tally.findings or tally.connections_kept else 0


if __name__ == "__main__":
    sys.exit(main())
