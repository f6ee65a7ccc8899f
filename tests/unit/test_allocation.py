"""Warehouse choice for a reservation (DOMAIN.md §2): highest priority with enough stock
first; split by priority only when no single warehouse can serve the line."""

from services.inventory import Allocation
from services.inventory import plan_allocation


def test_highest_priority_warehouse_with_enough_wins() -> None:
    plan = plan_allocation({1: 5}, {1: [(5, 10, 100), (10, 20, 5), (10, 30, 4)]})
    assert plan == [Allocation(1, 20, 5)]


def test_a_lower_priority_warehouse_serves_the_whole_line_before_splitting() -> None:
    plan = plan_allocation({1: 8}, {1: [(10, 20, 5), (5, 10, 100)]})
    assert plan == [Allocation(1, 10, 8)]


def test_split_by_priority_when_no_single_warehouse_has_enough() -> None:
    plan = plan_allocation({1: 9}, {1: [(1, 10, 3), (10, 20, 5), (5, 30, 2)]})
    assert plan == [Allocation(1, 20, 5), Allocation(1, 30, 2), Allocation(1, 10, 2)]


def test_not_enough_anywhere_is_none() -> None:
    assert plan_allocation({1: 2, 2: 9}, {1: [(1, 10, 5)], 2: [(1, 10, 8)]}) is None
    assert plan_allocation({3: 1}, {}) is None


def test_negative_sellable_counts_as_nothing() -> None:
    assert plan_allocation({1: 1}, {1: [(1, 10, -3), (0, 11, 1)]}) == [Allocation(1, 11, 1)]
