"""Promotion types as storefronts see them. (Admin management comes with the promotions issue.)"""

from datetime import datetime
from enum import Enum

import strawberry

from schema.common import Node


@strawberry.enum
class PromotionType(Enum):
    SINGLE_PRODUCT = "SINGLE_PRODUCT"
    MULTI_BUY = "MULTI_BUY"
    BUNDLE = "BUNDLE"
    DEPOSIT = "DEPOSIT"
    FULL_REDUCTION = "FULL_REDUCTION"
    SPEND_GIFT = "SPEND_GIFT"
    GIFT = "GIFT"


@strawberry.type
class Promotion(Node):
    id: strawberry.ID
    name: str
    type: PromotionType
    tag: str
    starts_at: datetime
    ends_at: datetime
