"""Live sellable numbers in kept answers (core/response_cache.py): an answer is kept as a
template with a hole per number, and goes stale — to be served with its numbers read again —
exactly when a stock note names one of the SKUs its holes sum."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from enum import IntEnum
from typing import Any

import orjson

from core import changes
from core.response_cache import CachedAnswer
from core.response_cache import LiveStock
from core.response_cache import ResponseCache
from core.response_cache import shown_stock
from core.response_cache import template

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Label(str):
    """A str subclass, as a resolver might hand back: written as its plain text, whatever
    its own __str__ says (orjson writes the underlying text when not asked to pass it)."""

    def __str__(self) -> str:
        return "not what the answer holds"


class Level(IntEnum):
    LOW = 3


def _answer() -> dict[str, Any]:
    return {
        "product": {
            "title": Label("Phone 12"),
            "level": Level.LOW,
            "sellableQuantity": LiveStock(7, (1, 2)),
            "skus": [
                {"id": "S1", "sellableQuantity": LiveStock(3, (1,)), "price": 5},
                {"id": "S2", "sellableQuantity": LiveStock(4, (2,)), "price": 7},
            ],
        }
    }


def _plain(data: Any) -> bytes:
    return orjson.dumps(data)


def _json(fragment: Any) -> Any:
    return orjson.loads(orjson.dumps(fragment))


def test_a_template_gives_the_answer_as_computed_and_fills_in_numbers_read_later() -> None:
    cut = template(_answer())
    assert cut is not None
    body, live = cut
    assert body == _plain(_answer())  # the numbers as computed, every subclass as plain JSON
    assert live is not None and live.skus == frozenset({1, 2})
    filled_json = live.fill({1: 0, 2: 11})
    assert filled_json is not None
    filled = orjson.loads(filled_json)
    assert filled["product"]["sellableQuantity"] == 11  # a product's number sums its SKUs
    assert [s["sellableQuantity"] for s in filled["product"]["skus"]] == [0, 11]
    assert filled["product"]["title"] == "Phone 12" and filled["product"]["level"] == 3


def test_an_answer_without_live_numbers_has_no_template() -> None:
    data = {"brands": [{"id": "B1", "name": "Apple"}]}
    assert template(data) == (_plain(data), None)


def test_an_answer_holding_the_holes_token_is_not_kept() -> None:
    from core import response_cache

    data = {"title": response_cache._HOLE, "n": LiveStock(1, (1,))}
    assert template(data) is None


def test_numbers_are_live_only_in_an_answer_being_collected_for_the_cache() -> None:
    assert type(shown_stock(5, (1,))) is int
    deps = changes.Deps()
    token = changes.current_deps.set(deps)
    try:
        number = shown_stock(5, (1, 2))
    finally:
        changes.current_deps.reset(token)
    assert type(number) is LiveStock and number == 5 and number.skus == (1, 2)
    assert deps.shown == {1, 2}  # recorded: a number losing its hole still depends on stock


def _kept(cache: ResponseCache, key: str, data: dict[str, Any]) -> CachedAnswer:
    cut = template(data)
    assert cut is not None
    body, live = cut
    entry = CachedAnswer(orjson.Fragment(body), 1, frozenset(), NOW, None, live, cache.stock_clock)
    cache.put(key, entry)
    return entry


def test_an_answer_goes_stale_only_when_a_sku_it_shows_moves() -> None:
    cache = ResponseCache(max_entries=10)
    entry = _kept(cache, "page", _answer())
    assert not cache.stale(entry)
    cache.invalidate(frozenset({(changes.STOCK, 9)}))  # another SKU
    assert not cache.stale(entry) and cache.get("page", NOW) is entry
    cache.invalidate(frozenset({(changes.STOCK, 2)}))
    assert cache.stale(entry)
    assert cache.get("page", NOW) is entry  # kept, not dropped: refreshed when served


def test_a_whole_table_stock_note_makes_every_live_answer_stale() -> None:
    cache = ResponseCache(max_entries=10)
    entry = _kept(cache, "page", _answer())
    plain = CachedAnswer(orjson.Fragment(b"{}"), 1, frozenset(), NOW)
    cache.put("brands", plain)
    cache.invalidate(frozenset({(changes.STOCK, changes.ANY)}))
    assert cache.stale(entry) and not cache.stale(plain)


def test_a_refill_is_true_as_of_the_clock_before_its_read() -> None:
    """A note heard while the numbers are read may be for a commit the read did not see:
    the refilled answer is stale again at once."""
    cache = ResponseCache(max_entries=10)
    entry = _kept(cache, "page", _answer())
    cache.invalidate(frozenset({(changes.STOCK, 1)}))
    at = cache.stock_clock  # taken before the read...
    cache.invalidate(frozenset({(changes.STOCK, 2)}))  # ...a note arrives during it
    data = cache.refill("page", entry, {1: 1, 2: 2}, at)
    assert _json(data)["product"]["sellableQuantity"] == 3
    refilled = cache.get("page", NOW)
    assert refilled is not None and refilled.data is data and cache.stale(refilled)
    again = cache.refill("page", refilled, {1: 1, 2: 5}, cache.stock_clock)
    assert _json(again)["product"]["sellableQuantity"] == 6
    current = cache.get("page", NOW)
    assert current is not None and not cache.stale(current)


def test_an_answer_dropped_or_computed_again_during_its_read_is_not_refilled() -> None:
    """Its title and its stock written together, say: the numbers are new, the rest is not,
    and the answer is computed instead of served half new."""
    cache = ResponseCache(max_entries=10)
    entry = _kept(cache, "page", _answer())
    cache.invalidate(None)  # everything goes
    assert cache.refill("page", entry, {1: 1, 2: 2}, cache.stock_clock) is None
    assert cache.get("page", NOW) is None
    _kept(cache, "page", _answer())  # computed again by another request
    assert cache.refill("page", entry, {1: 1, 2: 2}, cache.stock_clock) is None


def test_an_older_read_is_served_but_does_not_replace_a_newer_one() -> None:
    cache = ResponseCache(max_entries=10)
    entry = _kept(cache, "page", _answer())
    cache.invalidate(frozenset({(changes.STOCK, 1)}))
    older = cache.stock_clock
    cache.invalidate(frozenset({(changes.STOCK, 1)}))
    newer = cache.refill("page", entry, {1: 9, 2: 1}, cache.stock_clock)
    served = cache.refill("page", entry, {1: 4, 2: 1}, older)
    assert _json(served)["product"]["sellableQuantity"] == 5
    kept = cache.get("page", NOW)
    assert kept is not None and kept.data is newer


def test_a_number_past_graphql_int_is_computed_not_filled() -> None:
    cache = ResponseCache(max_entries=10)
    entry = _kept(cache, "page", _answer())
    assert cache.refill("page", entry, {1: 2**31, 2: 0}, cache.stock_clock) is None


def test_a_live_number_copies_as_itself() -> None:
    import copy
    import pickle

    number = LiveStock(5, (1, 2))
    for copied in (copy.deepcopy(number), pickle.loads(pickle.dumps(number))):
        assert type(copied) is LiveStock and copied == 5 and copied.skus == (1, 2)


def test_an_answer_whose_numbers_moved_while_computed_is_stale_from_the_start() -> None:
    cache = ResponseCache(max_entries=10)
    cut = template(_answer())
    assert cut is not None and cut[1] is not None
    entry = CachedAnswer(orjson.Fragment(cut[0]), 1, frozenset(), NOW, None, cut[1], None)
    cache.put("page", entry)
    assert cache.stale(entry)


def test_a_change_moves_a_number_when_it_names_the_sku_or_all_stock() -> None:
    assert changes.moved(frozenset({(changes.STOCK, 2)}), [1, 2])
    assert not changes.moved(frozenset({(changes.STOCK, 3), ("skus", 1)}), [1, 2])
    assert changes.moved(frozenset({(changes.STOCK, changes.ANY)}), [1])
    assert changes.moved(None, [1])


def test_remembering_too_many_moved_skus_makes_every_live_answer_stale_once(
    monkeypatch: Any,
) -> None:
    """The per-SKU record is bounded: past MOVED_KEPT SKUs it is forgotten, and every live
    answer is read again once instead (never served with a move forgotten)."""
    from core import response_cache

    monkeypatch.setattr(response_cache, "MOVED_KEPT", 3)
    cache = ResponseCache(max_entries=10)
    entry = _kept(cache, "page", _answer())
    cache.invalidate(frozenset({(changes.STOCK, sku) for sku in (7, 8, 9)}))
    assert not cache.stale(entry)  # none of its SKUs
    cache.invalidate(frozenset({(changes.STOCK, 10)}))  # the record is full: forgotten
    assert cache.stale(entry) and len(cache._stock_moved) == 1
    refilled = cache.refill("page", entry, {1: 1, 2: 1}, cache.stock_clock)
    assert refilled is not None
    kept = cache.get("page", NOW)
    assert kept is not None and not cache.stale(kept)


def test_graphql_int_lets_a_live_number_through_on_both_paths() -> None:
    """graphql-core's executor and the plans complete an Int with coerce_output_value
    (serialize is its deprecated name): both keep a live number itself (the first version
    patched serialize only:
    the executor made it a plain int, and answers outside the plans were dropped on every
    move instead of refreshed), and check it as GraphQL's Int does."""
    import pytest
    from graphql import GraphQLError
    from graphql import GraphQLInt

    import schema.scalars  # noqa: F401 - patches the one Int instance

    for complete in (GraphQLInt.coerce_output_value, GraphQLInt.serialize):
        number = complete(LiveStock(5, (1,)))
        assert type(number) is LiveStock and number.skus == (1,)
        assert type(complete(True)) is int and complete(7) == 7
        with pytest.raises(GraphQLError):
            complete(LiveStock(2**31, (1,)))
