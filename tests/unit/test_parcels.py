"""plan_parcels (第二次拆单): splits computed by hand."""

from typing import Any

from services.parcels import ParcelItem
from services.parcels import PlannedParcel
from services.parcels import plan_parcels


def shape(parcels: list[PlannedParcel]) -> list[tuple[Any, ...]]:
    return [(p.warehouse_id, p.transport_class, p.lines, p.weight_grams) for p in parcels]


def test_one_parcel_per_warehouse_and_class_without_limits() -> None:
    items = [
        ParcelItem(1, 10, "GENERAL", 2, 1000),
        ParcelItem(2, 10, "LIQUID", 1, 500),
        ParcelItem(3, 20, "GENERAL", 1, 300),
        ParcelItem(4, 10, "GENERAL", 3, 200),
        ParcelItem(5, 10, "BATTERY", 2, 100),
    ]
    assert shape(plan_parcels(items)) == [
        (10, "GENERAL", [(1, 2), (4, 3)], 2600),
        (10, "LIQUID", [(2, 1)], 500),
        (10, "BATTERY", [(5, 2)], 200),
        (20, "GENERAL", [(3, 1)], 300),
    ]


def test_first_fit_decreasing_under_a_weight_limit() -> None:
    # limit 10 kg, heaviest first: A (line 1, 6 kg) ×2 cannot share → #1, #2; C (line 3,
    # 3 kg) ×2: one in each (9 kg); B (line 2, 1 kg) ×3: one tops up #1 and #2 (10 kg), the
    # last opens #3
    items = [
        ParcelItem(2, 1, "GENERAL", 3, 1000),
        ParcelItem(1, 1, "GENERAL", 2, 6000),
        ParcelItem(3, 1, "GENERAL", 2, 3000),
    ]
    assert shape(plan_parcels(items, max_weight_grams=10_000)) == [
        (1, "GENERAL", [(1, 1), (3, 1), (2, 1)], 10_000),
        (1, "GENERAL", [(1, 1), (3, 1), (2, 1)], 10_000),
        (1, "GENERAL", [(2, 1)], 1000),
    ]


def test_a_line_is_split_across_parcels() -> None:
    # 7 units of 3 kg under 10 kg: 3 + 3 + 1
    assert shape(plan_parcels([ParcelItem(1, 1, "GENERAL", 7, 3000)], 10_000)) == [
        (1, "GENERAL", [(1, 3)], 9000),
        (1, "GENERAL", [(1, 3)], 9000),
        (1, "GENERAL", [(1, 1)], 3000),
    ]


def test_a_unit_over_the_limit_travels_alone() -> None:
    items = [ParcelItem(1, 1, "GENERAL", 2, 12_000), ParcelItem(2, 1, "GENERAL", 1, 500)]
    assert shape(plan_parcels(items, max_weight_grams=10_000)) == [
        (1, "GENERAL", [(1, 1)], 12_000),
        (1, "GENERAL", [(1, 1)], 12_000),
        (1, "GENERAL", [(2, 1)], 500),
    ]


def test_the_volume_limit_applies_too() -> None:
    # 5 units of 400 cm³ (100 g) under 1000 cm³ and 10 kg: the volume decides → 2 + 2 + 1
    parcels = plan_parcels([ParcelItem(1, 1, "COLD_CHAIN", 5, 100, 400)], 10_000, 1000)
    assert [(p.lines, p.volume_cm3) for p in parcels] == [
        ([(1, 2)], 800),
        ([(1, 2)], 800),
        ([(1, 1)], 400),
    ]


def test_classes_never_mix_and_empty_items_are_skipped() -> None:
    items = [
        ParcelItem(1, 1, "LIQUID", 1, 100),
        ParcelItem(2, 1, "BATTERY", 1, 100),
        ParcelItem(3, 1, "GENERAL", 0, 100),
    ]
    assert [p.transport_class for p in plan_parcels(items, 10_000)] == ["LIQUID", "BATTERY"]
