"""When the public face of the shop next changes by itself: the earliest listing, promotion,
coupon-batch or CMS window that opens or closes after a moment. Cached answers to browse
queries are good until then (and until a write)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import union_all
from sqlalchemy.ext.asyncio import AsyncSession

from models import CouponTemplate
from models import Page
from models import PageModule
from models import Product
from models import Promotion

SCHEDULED = (
    Product.list_at,
    Product.delist_at,
    Promotion.starts_at,
    Promotion.ends_at,
    CouponTemplate.valid_from,
    CouponTemplate.valid_until,
    CouponTemplate.claim_starts_at,
    CouponTemplate.claim_ends_at,
    Page.publish_starts_at,
    Page.publish_ends_at,
    PageModule.starts_at,
    PageModule.ends_at,
)

SCHEDULED_TABLES = tuple(sorted({column.class_.__tablename__ for column in SCHEDULED}))


async def next_scheduled_change(session: AsyncSession, after: datetime) -> datetime | None:
    moments = union_all(
        *(select(column.label("at")).where(column > after) for column in SCHEDULED)
    ).subquery()
    return await session.scalar(select(func.min(moments.c.at)))
