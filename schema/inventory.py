"""Inventory types: warehouses and stock levels (staff only)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

import models as m
from schema.common import Node


@strawberry.type
class Warehouse(Node):
    code: str
    name: str
    region: str | None
    priority: int

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Warehouse)


@strawberry.type
class StockLevel:
    on_hand: int
    reserved: int
    safety_stock: int

    @strawberry.field
    def available(self) -> int:
        return self.on_hand - self.reserved

    @strawberry.field
    async def warehouse(self, info: Info) -> Warehouse:
        return await info.context.loaders.warehouse.load(self.warehouse_id)  # type: ignore[attr-defined]
