"""Structured JSON logs: one line per GraphQL request (request id, operation, duration, cost,
SQL statements, viewer) plus application errors, for any log pipeline to ingest."""

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

ACCESS = logging.getLogger("zhongtai.access")


def configure(level: str = "INFO") -> None:
    """JSON lines on stderr for the zhongtai loggers (idempotent)."""
    root = logging.getLogger("zhongtai")
    if any(getattr(h, "zhongtai_json", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level"},
        )
    )
    handler.zhongtai_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = True
