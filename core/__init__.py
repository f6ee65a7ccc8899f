"""Cross-cutting plumbing shared by every layer: settings, database, clock, ids, money."""
