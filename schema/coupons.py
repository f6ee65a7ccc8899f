"""Coupon template types as storefronts see them. (Management comes with the coupons issue.)"""

from enum import Enum

import strawberry

from schema.common import Node


@strawberry.enum
class CouponType(Enum):
    CASH = "CASH"
    THRESHOLD = "THRESHOLD"
    PERCENT = "PERCENT"


@strawberry.type
class CouponTemplate(Node):
    id: strawberry.ID
    name: str
    type: CouponType
    discount_text: str
