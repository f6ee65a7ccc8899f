"""Thin glue per domain: read through per-request dataloaders, call services for writes, turn
domain errors into results the schema maps to payloads. Never imports schema/."""
