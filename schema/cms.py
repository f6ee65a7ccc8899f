"""CMS API (DOMAIN.md §8): pages assembled from typed modules that resolve to live data."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.ids import encode_id
from resolvers import cms as rcms
from resolvers.context import Channel as ChannelEnum
from resolvers.context import Permission
from schema.common import Connection, UserError, page_args, user_errors

if TYPE_CHECKING:
    from schema.catalog import Channel, DisplayCategory, Product, ProductSort
    from schema.coupons import CouponTemplate

MANAGE_CMS = Permission.MANAGE_CMS
ProductRef = Annotated["Product", strawberry.lazy("schema.catalog")]
DisplayCategoryRef = Annotated["DisplayCategory", strawberry.lazy("schema.catalog")]
ChannelRef = Annotated["Channel", strawberry.lazy("schema.catalog")]
SortRef = Annotated["ProductSort", strawberry.lazy("schema.catalog")]
TemplateRef = Annotated["CouponTemplate", strawberry.lazy("schema.coupons")]


@strawberry.enum
class LinkType(Enum):
    PRODUCT = "PRODUCT"
    DISPLAY_CATEGORY = "DISPLAY_CATEGORY"
    PAGE = "PAGE"
    URL = "URL"
    COUPON_TEMPLATE = "COUPON_TEMPLATE"


GLOBAL_TYPE = {"PRODUCT": "Product", "DISPLAY_CATEGORY": "DisplayCategory", "PAGE": "Page",
               "COUPON_TEMPLATE": "CouponTemplate"}


@strawberry.type
class Link:
    type: LinkType
    target_id: strawberry.ID | None
    url: str | None


def _link(raw: dict[str, Any] | None) -> Link | None:
    if not raw:
        return None
    kind = raw["type"]
    target = raw.get("targetId")
    return Link(type=LinkType(kind), url=raw.get("url"),
                target_id=strawberry.ID(encode_id(GLOBAL_TYPE[kind], target))
                if target is not None else None)


@strawberry.type
class BannerSlide:
    image_url: str
    link: Link | None


@strawberry.type
class IconGridItem:
    label: str
    icon_url: str | None
    link: Link | None


@strawberry.type
class RankingItem:
    rank: int
    units_sold: int
    product: ProductRef


def _module_kind(kind: str) -> Any:
    @classmethod  # type: ignore[misc]
    def is_type_of(cls: Any, obj: Any, info: Info) -> bool:
        return isinstance(obj, rcms.ModuleView) and obj.module.type == kind

    return is_type_of


@strawberry.interface(description="A page module; one type per module kind.")
class PageModule:
    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("PageModule", self.module.id))  # type: ignore[attr-defined]

    @strawberry.field
    def starts_at(self) -> datetime | None:
        return self.module.starts_at  # type: ignore[attr-defined]

    @strawberry.field
    def ends_at(self) -> datetime | None:
        return self.module.ends_at  # type: ignore[attr-defined]


@strawberry.type
class BannerCarouselModule(PageModule):
    is_type_of = _module_kind("BANNER_CAROUSEL")

    @strawberry.field(description="Slides valid at the page's moment.")
    def slides(self) -> list[BannerSlide]:
        return [BannerSlide(image_url=s["imageUrl"], link=_link(s.get("link")))
                for s in rcms.live_slides(self)]  # type: ignore[arg-type]


@strawberry.type
class IconGridModule(PageModule):
    is_type_of = _module_kind("ICON_GRID")

    @strawberry.field
    def icons(self) -> list[IconGridItem]:
        return [IconGridItem(label=i["label"], icon_url=i.get("iconUrl"),
                             link=_link(i.get("link")))
                for i in self.module.config.get("icons", [])]  # type: ignore[attr-defined]


@strawberry.type
class ProductListModule(PageModule):
    is_type_of = _module_kind("PRODUCT_LIST")

    @strawberry.field
    def title(self) -> str | None:
        return self.module.config.get("title")  # type: ignore[attr-defined]

    @strawberry.field(description="Listed products only, with current prices and stock.")
    async def products(self) -> list[ProductRef]:
        return await rcms.module_products(self)  # type: ignore[arg-type,return-value]


@strawberry.type
class CategoryNavModule(PageModule):
    is_type_of = _module_kind("CATEGORY_NAV")

    @strawberry.field
    async def categories(self) -> list[DisplayCategoryRef]:
        return await rcms.nav_categories(self)  # type: ignore[arg-type]


@strawberry.type
class RankingModule(PageModule):
    is_type_of = _module_kind("RANKING")

    @strawberry.field
    def title(self) -> str | None:
        return self.module.config.get("title")  # type: ignore[attr-defined]

    @strawberry.field(description="Top sellers by paid units over the last N days.")
    async def items(self) -> list[RankingItem]:
        return await rcms.ranking_items(self)  # type: ignore[arg-type]


@strawberry.type
class CouponCenterModule(PageModule):
    is_type_of = _module_kind("COUPON_CENTER")

    @strawberry.field(description="The listed batches that can be claimed now.")
    async def templates(self) -> list[TemplateRef]:
        return await rcms.coupon_templates(self)  # type: ignore[arg-type]


@strawberry.type
class RichTextModule(PageModule):
    is_type_of = _module_kind("RICH_TEXT")

    @strawberry.field
    def html(self) -> str:
        return self.module.config.get("html", "")  # type: ignore[attr-defined]


MODULE_TYPES = [BannerCarouselModule, IconGridModule, ProductListModule, CategoryNavModule,
                RankingModule, CouponCenterModule, RichTextModule]


@strawberry.enum
class PageStatus(Enum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"


@strawberry.type(description="A CMS page (root: the page as one viewer sees it at a moment).")
class Page:
    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, rcms.PageView)

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("Page", self.page.id))  # type: ignore[attr-defined]

    @strawberry.field
    def slug(self) -> str:
        return self.page.slug  # type: ignore[attr-defined]

    @strawberry.field
    def title(self) -> str:
        return self.page.title  # type: ignore[attr-defined]

    @strawberry.field
    def status(self) -> PageStatus:
        return PageStatus(self.page.status)  # type: ignore[attr-defined]

    @strawberry.field
    def channels(self) -> list[ChannelRef]:
        return [ChannelEnum(c) for c in self.page.channels]  # type: ignore[attr-defined]

    @strawberry.field
    def publish_starts_at(self) -> datetime | None:
        return self.page.publish_starts_at  # type: ignore[attr-defined]

    @strawberry.field
    def publish_ends_at(self) -> datetime | None:
        return self.page.publish_ends_at  # type: ignore[attr-defined]

    @strawberry.field(description="Saved versions so far (each save is kept).")
    def version(self) -> int:
        return self.page.version  # type: ignore[attr-defined]

    @strawberry.field(description="Modules valid at the page's moment, in order.")
    async def modules(self) -> list[PageModule]:
        return await rcms.modules(self)  # type: ignore[arg-type,return-value]


# --- inputs --------------------------------------------------------------------------------------


@strawberry.input
class LinkInput:
    type: LinkType
    target_id: strawberry.ID | None = None
    url: str | None = None


@strawberry.input
class SlideInput:
    image_url: str
    link: LinkInput | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@strawberry.input
class BannerCarouselInput:
    slides: list[SlideInput]
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@strawberry.input
class IconInput:
    label: str
    icon_url: str | None = None
    link: LinkInput | None = None


@strawberry.input
class IconGridInput:
    icons: list[IconInput]
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@strawberry.input
class ProductRuleInput:
    display_category_id: strawberry.ID | None = None
    brand_id: strawberry.ID | None = None
    tag: str | None = None
    sort: SortRef | None = None
    limit: int | None = 10


@strawberry.input(description="{ title, productIds } or { title, rule }.")
class ProductListInput:
    title: str | None = None
    product_ids: list[strawberry.ID] | None = None
    rule: ProductRuleInput | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@strawberry.input
class CategoryNavInput:
    display_category_id: strawberry.ID
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@strawberry.input
class RankingInput:
    title: str | None = None
    days: int | None = 30
    limit: int | None = 10
    display_category_id: strawberry.ID | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@strawberry.input
class CouponCenterInput:
    template_ids: list[strawberry.ID]
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@strawberry.input
class RichTextInput:
    html: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@strawberry.input(one_of=True, description="Exactly one module kind.")
class ModuleInput:
    banner_carousel: BannerCarouselInput | None = strawberry.UNSET
    icon_grid: IconGridInput | None = strawberry.UNSET
    product_list: ProductListInput | None = strawberry.UNSET
    category_nav: CategoryNavInput | None = strawberry.UNSET
    ranking: RankingInput | None = strawberry.UNSET
    coupon_center: CouponCenterInput | None = strawberry.UNSET
    rich_text: RichTextInput | None = strawberry.UNSET


@strawberry.input
class PageInput:
    slug: str
    title: str
    modules: list[ModuleInput]
    channels: list[ChannelRef] | None = None


@strawberry.type(description="A saved state of a page: what it said and when.")
class PageVersion:
    version: int
    saved_at: datetime
    snapshot: JSON = strawberry.field(description="Title, channels, status, publish window and "
                                      "modules as saved.")


@strawberry.type
class PagePayload:
    page: Page | None
    user_errors: list[UserError]


@strawberry.type
class PageDeletePayload:
    deleted_id: strawberry.ID | None
    user_errors: list[UserError]


def _payload(result: Any) -> PagePayload:
    return PagePayload(page=result.value, user_errors=user_errors(result.errors))


@strawberry.type
class CmsQuery:
    @strawberry.field(description="The published page for the request's channel, now.")
    async def page(self, info: Info, slug: str) -> Page | None:
        return await rcms.storefront_page(info.context, slug)  # type: ignore[return-value]

    @strawberry.field(description="Any page, drafts too, as it would show at `at`.")
    async def page_preview(self, info: Info, id: strawberry.ID, at: datetime) -> Page | None:
        return await rcms.preview(info.context, id, at)  # type: ignore[return-value]

    @strawberry.field(description="Every saved version, newest first: what was live when.")
    async def page_versions(self, info: Info, id: strawberry.ID) -> list[PageVersion]:
        return await rcms.versions(info.context, id)

    @strawberry.field
    async def pages(self, info: Info, first: int | None = None, after: str | None = None,
                    last: int | None = None, before: str | None = None) -> Connection[Page]:
        return await rcms.admin_pages(info.context, page_args(info, first, after, last, before))  # type: ignore[return-value]


@strawberry.type
class CmsMutation:
    @strawberry.mutation
    async def page_create(self, info: Info, input: PageInput) -> PagePayload:
        return _payload(await rcms.page_create(info.context, input))

    @strawberry.mutation(description="Replaces the title, channels and all modules at once.")
    async def page_update(self, info: Info, id: strawberry.ID, input: PageInput) -> PagePayload:
        return _payload(await rcms.page_update(info.context, id, input))

    @strawberry.mutation
    async def page_publish(self, info: Info, id: strawberry.ID,
                           starts_at: datetime | None = None,
                           ends_at: datetime | None = None) -> PagePayload:
        return _payload(await rcms.page_publish(info.context, id, starts_at, ends_at))

    @strawberry.mutation
    async def page_unpublish(self, info: Info, id: strawberry.ID) -> PagePayload:
        return _payload(await rcms.page_unpublish(info.context, id))

    @strawberry.mutation
    async def page_delete(self, info: Info, id: strawberry.ID) -> PageDeletePayload:
        r = await rcms.page_delete(info.context, id)
        deleted = strawberry.ID(encode_id("Page", r.value.id)) if r.value else None
        return PageDeletePayload(deleted_id=deleted, user_errors=user_errors(r.errors))
