"""CMS API (DOMAIN.md §8): pages assembled from typed modules that resolve to live data."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING
from typing import Annotated
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.ids import encode_id
from resolvers import cms as rcms
from resolvers.common import PageArgs
from resolvers.context import Channel as ChannelEnum
from resolvers.context import Permission
from schema.common import Connection
from schema.common import RelayWindow
from schema.common import UserError
from schema.common import deleted_id_field
from schema.common import user_errors
from schema.common import user_errors_field

if TYPE_CHECKING:
    from schema.catalog import Channel
    from schema.catalog import DisplayCategory
    from schema.catalog import Product
    from schema.catalog import ProductSort
    from schema.coupons import CouponTemplate

MANAGE_CMS = Permission.MANAGE_CMS
ProductRef = Annotated["Product", strawberry.lazy("schema.catalog")]
DisplayCategoryRef = Annotated["DisplayCategory", strawberry.lazy("schema.catalog")]
ChannelRef = Annotated["Channel", strawberry.lazy("schema.catalog")]
SortRef = Annotated["ProductSort", strawberry.lazy("schema.catalog")]
TemplateRef = Annotated["CouponTemplate", strawberry.lazy("schema.coupons")]


@strawberry.enum(description="What a link points at.")
class LinkType(Enum):
    PRODUCT = strawberry.enum_value("PRODUCT", description="A product.")
    DISPLAY_CATEGORY = strawberry.enum_value("DISPLAY_CATEGORY", description="A display category.")
    PAGE = strawberry.enum_value("PAGE", description="A CMS page.")
    URL = strawberry.enum_value("URL", description="An external URL.")
    COUPON_TEMPLATE = strawberry.enum_value("COUPON_TEMPLATE", description="A coupon template.")


GLOBAL_TYPE = {
    "PRODUCT": "Product",
    "DISPLAY_CATEGORY": "DisplayCategory",
    "PAGE": "Page",
    "COUPON_TEMPLATE": "CouponTemplate",
}


@strawberry.type(description="A typed link target.")
class Link:
    type: LinkType = strawberry.field(description="What it points at.")
    target_id: strawberry.ID | None = strawberry.field(
        description="Relay global id of the target (all types but URL)."
    )
    url: str | None = strawberry.field(description="The address, for URL links.")


def _link(raw: dict[str, Any] | None) -> Link | None:
    if not raw:
        return None
    kind = raw["type"]
    target = raw.get("targetId")
    return Link(
        type=LinkType(kind),
        url=raw.get("url"),
        target_id=strawberry.ID(encode_id(GLOBAL_TYPE[kind], target))
        if target is not None
        else None,
    )


@strawberry.type(description="One image of a banner carousel.")
class BannerSlide:
    image_url: str = strawberry.field(description="The image.")
    link: Link | None = strawberry.field(description="Where a tap leads, if anywhere.")


@strawberry.type(description="An icon with a label and a link.")
class IconGridItem:
    label: str = strawberry.field(description="The text under the icon.")
    icon_url: str | None = strawberry.field(description="The icon image.")
    link: Link | None = strawberry.field(description="Where a tap leads, if anywhere.")


@strawberry.type(description="A product's place in a ranking.")
class RankingItem:
    rank: int = strawberry.field(description="Place, from 1.")
    units_sold: int = strawberry.field(description="Units sold in the period, net of refunds.")
    product: ProductRef = strawberry.field(description="The product.")


def _module_kind(kind: str) -> Any:
    @classmethod  # type: ignore[misc]
    def is_type_of(cls: Any, obj: Any, info: Info) -> bool:
        return isinstance(obj, rcms.ModuleView) and obj.module.type == kind

    return is_type_of


@strawberry.interface(description="A page module; one type per module kind.")
class PageModule:
    @strawberry.field(description="Relay global id of the module.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("PageModule", self.module.id))  # type: ignore[attr-defined]

    @strawberry.field(
        description="When the module starts showing (ISO-8601, UTC); null = with the page."
    )
    def starts_at(self) -> datetime | None:
        return self.module.starts_at  # type: ignore[attr-defined]

    @strawberry.field(
        description="When the module stops showing (ISO-8601, UTC); null = with the page."
    )
    def ends_at(self) -> datetime | None:
        return self.module.ends_at  # type: ignore[attr-defined]


@strawberry.type(description="Images with link targets, shown in turn.")
class BannerCarouselModule(PageModule):
    is_type_of = _module_kind("BANNER_CAROUSEL")

    @strawberry.field(description="Slides valid at the page's moment.")
    def slides(self) -> list[BannerSlide]:
        return [
            BannerSlide(image_url=s["imageUrl"], link=_link(s.get("link")))
            for s in rcms.live_slides(self)  # type: ignore[arg-type]
        ]


@strawberry.type(description="A grid of icons with labels and links.")
class IconGridModule(PageModule):
    is_type_of = _module_kind("ICON_GRID")

    @strawberry.field(description="The icons, in order.")
    def icons(self) -> list[IconGridItem]:
        return [
            IconGridItem(label=i["label"], icon_url=i.get("iconUrl"), link=_link(i.get("link")))
            for i in self.module.config.get("icons", [])  # type: ignore[attr-defined]
        ]


@strawberry.type(description="Products chosen by hand or by a rule (listed ones only).")
class ProductListModule(PageModule):
    is_type_of = _module_kind("PRODUCT_LIST")

    @strawberry.field(description="Heading shown above the list.")
    def title(self) -> str | None:
        return self.module.config.get("title")  # type: ignore[attr-defined]

    @strawberry.field(description="Listed products only, with current prices and stock.")
    async def products(self) -> list[ProductRef]:
        return await rcms.module_products(self)  # type: ignore[arg-type,return-value]


@strawberry.type(description="A display-category subtree for navigation.")
class CategoryNavModule(PageModule):
    is_type_of = _module_kind("CATEGORY_NAV")

    @strawberry.field(description="The display categories shown.")
    async def categories(self) -> list[DisplayCategoryRef]:
        return await rcms.nav_categories(self)  # type: ignore[arg-type]


@strawberry.type(description="Top sellers by units over the last days.")
class RankingModule(PageModule):
    is_type_of = _module_kind("RANKING")

    @strawberry.field(description="Heading shown above the ranking.")
    def title(self) -> str | None:
        return self.module.config.get("title")  # type: ignore[attr-defined]

    @strawberry.field(description="Top sellers by paid units over the last N days.")
    async def items(self) -> list[RankingItem]:
        return await rcms.ranking_items(self)  # type: ignore[arg-type]


@strawberry.type(description="Coupon templates customers can claim.")
class CouponCenterModule(PageModule):
    is_type_of = _module_kind("COUPON_CENTER")

    @strawberry.field(description="The listed batches that can be claimed now.")
    async def templates(self) -> list[TemplateRef]:
        return await rcms.coupon_templates(self)  # type: ignore[arg-type]


@strawberry.type(description="Rich text.")
class RichTextModule(PageModule):
    is_type_of = _module_kind("RICH_TEXT")

    @strawberry.field(description="The content (HTML).")
    def html(self) -> str:
        return self.module.config.get("html", "")  # type: ignore[attr-defined]


MODULE_TYPES = [
    BannerCarouselModule,
    IconGridModule,
    ProductListModule,
    CategoryNavModule,
    RankingModule,
    CouponCenterModule,
    RichTextModule,
]


@strawberry.enum(description="Whether a page can be shown.")
class PageStatus(Enum):
    DRAFT = strawberry.enum_value("DRAFT", description="Not shown to storefronts.")
    PUBLISHED = strawberry.enum_value("PUBLISHED", description="Shown within its publish window.")


@strawberry.type(description="A CMS page (root: the page as one viewer sees it at a moment).")
class Page:
    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, rcms.PageView)

    @strawberry.field(description="Relay global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("Page", self.page.id))  # type: ignore[attr-defined]

    @strawberry.field(description='URL name, e.g. "home".')
    def slug(self) -> str:
        return self.page.slug  # type: ignore[attr-defined]

    @strawberry.field(description="Title.")
    def title(self) -> str:
        return self.page.title  # type: ignore[attr-defined]

    @strawberry.field(description="DRAFT or PUBLISHED.")
    def status(self) -> PageStatus:
        return PageStatus(self.page.status)  # type: ignore[attr-defined]

    @strawberry.field(description="Channels it shows on; empty = all.")
    def channels(self) -> list[ChannelRef]:
        return [ChannelEnum(c) for c in self.page.channels]  # type: ignore[attr-defined]

    @strawberry.field(description="Start of the publish window (ISO-8601, UTC).")
    def publish_starts_at(self) -> datetime | None:
        return self.page.publish_starts_at  # type: ignore[attr-defined]

    @strawberry.field(description="End of the publish window (ISO-8601, UTC).")
    def publish_ends_at(self) -> datetime | None:
        return self.page.publish_ends_at  # type: ignore[attr-defined]

    @strawberry.field(description="Saved versions so far (each save is kept).")
    def version(self) -> int:
        return self.page.version  # type: ignore[attr-defined]

    @strawberry.field(description="Modules valid at the page's moment, in order.")
    async def modules(self) -> list[PageModule]:
        return await rcms.modules(self)  # type: ignore[arg-type,return-value]


# --- inputs --------------------------------------------------------------------------------------


def shown_from() -> Any:
    """A module's `startsAt`, declared once for every module input."""
    return strawberry.field(
        default=None,
        description="When the module starts showing (ISO-8601, UTC); omitted = with the page.",
    )


def shown_until() -> Any:
    return strawberry.field(
        default=None,
        description="When the module stops showing (ISO-8601, UTC); omitted = with the page.",
    )


@strawberry.input(description="A typed link target: targetId for objects, url for URL.")
class LinkInput:
    type: LinkType = strawberry.field(description="What it points at.")
    target_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of the target (all types but URL)."
    )
    url: str | None = strawberry.field(default=None, description="The address, for URL links.")


@strawberry.input(description="A banner slide.")
class SlideInput:
    image_url: str = strawberry.field(description="The image URL.")
    link: LinkInput | None = strawberry.field(default=None, description="Where a tap leads.")
    starts_at: datetime | None = strawberry.field(
        default=None, description="When the slide starts showing (ISO-8601, UTC)."
    )
    ends_at: datetime | None = strawberry.field(
        default=None, description="When the slide stops showing (ISO-8601, UTC)."
    )


@strawberry.input(description="A banner carousel module.")
class BannerCarouselInput:
    slides: list[SlideInput] = strawberry.field(description="The slides, in order.")
    starts_at: datetime | None = shown_from()
    ends_at: datetime | None = shown_until()


@strawberry.input(description="An icon of an icon grid.")
class IconInput:
    label: str = strawberry.field(description="The text under the icon.")
    icon_url: str | None = strawberry.field(default=None, description="The icon image URL.")
    link: LinkInput | None = strawberry.field(default=None, description="Where a tap leads.")


@strawberry.input(description="An icon grid module.")
class IconGridInput:
    icons: list[IconInput] = strawberry.field(description="The icons, in order.")
    starts_at: datetime | None = shown_from()
    ends_at: datetime | None = shown_until()


@strawberry.input(description="Which products a product list shows.")
class ProductRuleInput:
    display_category_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of a display category."
    )
    brand_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of a brand."
    )
    tag: str | None = strawberry.field(default=None, description="A product tag.")
    sort: SortRef | None = strawberry.field(default=None, description="Order of the products.")
    limit: int | None = strawberry.field(default=10, description="Most products shown.")


@strawberry.input(description="{ title, productIds } or { title, rule }.")
class ProductListInput:
    title: str | None = strawberry.field(default=None, description="Heading shown above the list.")
    product_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Relay global ids of the products, in order."
    )
    rule: ProductRuleInput | None = strawberry.field(
        default=None, description="A rule choosing the products."
    )
    starts_at: datetime | None = shown_from()
    ends_at: datetime | None = shown_until()


@strawberry.input(description="A category navigation module.")
class CategoryNavInput:
    display_category_id: strawberry.ID = strawberry.field(
        description="Relay global id of the display category whose subtree is shown."
    )
    starts_at: datetime | None = shown_from()
    ends_at: datetime | None = shown_until()


@strawberry.input(description="A ranking module.")
class RankingInput:
    title: str | None = strawberry.field(
        default=None, description="Heading shown above the ranking."
    )
    days: int | None = strawberry.field(
        default=30, description="Units sold over the last this many days count."
    )
    limit: int | None = strawberry.field(default=10, description="Most products shown.")
    display_category_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of a display category to rank within."
    )
    starts_at: datetime | None = shown_from()
    ends_at: datetime | None = shown_until()


@strawberry.input(description="A coupon center module.")
class CouponCenterInput:
    template_ids: list[strawberry.ID] = strawberry.field(
        description="Relay global ids of the coupon templates offered."
    )
    starts_at: datetime | None = shown_from()
    ends_at: datetime | None = shown_until()


@strawberry.input(description="A rich-text module.")
class RichTextInput:
    html: str = strawberry.field(description="The content (HTML).")
    starts_at: datetime | None = shown_from()
    ends_at: datetime | None = shown_until()


@strawberry.input(one_of=True, description="Exactly one module kind.")
class ModuleInput:
    banner_carousel: BannerCarouselInput | None = strawberry.field(
        default=strawberry.UNSET, description="A banner carousel."
    )
    icon_grid: IconGridInput | None = strawberry.field(
        default=strawberry.UNSET, description="An icon grid."
    )
    product_list: ProductListInput | None = strawberry.field(
        default=strawberry.UNSET, description="A product list."
    )
    category_nav: CategoryNavInput | None = strawberry.field(
        default=strawberry.UNSET, description="Category navigation."
    )
    ranking: RankingInput | None = strawberry.field(
        default=strawberry.UNSET, description="A top-sellers ranking."
    )
    coupon_center: CouponCenterInput | None = strawberry.field(
        default=strawberry.UNSET, description="A coupon center."
    )
    rich_text: RichTextInput | None = strawberry.field(
        default=strawberry.UNSET, description="Rich text."
    )


@strawberry.input(description="A page's values; the modules replace the page's modules.")
class PageInput:
    slug: str = strawberry.field(description="URL name, unique.")
    title: str = strawberry.field(description="Title.")
    modules: list[ModuleInput] = strawberry.field(description="The modules, in display order.")
    channels: list[ChannelRef] | None = strawberry.field(
        default=None, description="Channels it shows on; omitted = all."
    )


@strawberry.type(description="A saved state of a page: what it said and when.")
class PageVersion:
    version: int = strawberry.field(
        description="Version number, counting up from 1 with each save."
    )
    saved_at: datetime = strawberry.field(description="When it was saved (ISO-8601, UTC).")
    snapshot: JSON = strawberry.field(
        description="Title, channels, status, publish window and modules as saved."
    )


@strawberry.type(description="Result of a page mutation.")
class PagePayload:
    page: Page | None = strawberry.field(description="The page as saved; null when refused.")
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of pageDelete.")
class PageDeletePayload:
    deleted_id: strawberry.ID | None = deleted_id_field()
    user_errors: list[UserError] = user_errors_field()


def _payload(result: Any) -> PagePayload:
    return PagePayload(page=result.value, user_errors=user_errors(result.errors))


@strawberry.type
class CmsQuery:
    @strawberry.field(description="The published page for the request's channel, now.")
    async def page(
        self,
        info: Info,
        slug: Annotated[str, strawberry.argument(description='The page\'s slug, e.g. "home".')],
    ) -> Page | None:
        return await rcms.storefront_page(info.context, slug)  # type: ignore[return-value]

    @strawberry.field(description="Any page, drafts too, as it would show at `at`.")
    async def page_preview(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the page.")
        ],
        at: Annotated[
            datetime, strawberry.argument(description="The moment to preview (ISO-8601, UTC).")
        ],
    ) -> Page | None:
        return await rcms.preview(info.context, id, at)  # type: ignore[return-value]

    @strawberry.field(description="Every saved version, newest first: what was live when.")
    async def page_versions(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the page.")
        ],
    ) -> list[PageVersion]:
        return await rcms.versions(info.context, id)

    @strawberry.field(
        description="CMS pages in every status (platform staff with MANAGE_CMS).",
        extensions=[RelayWindow(50)],
    )
    async def pages(self, info: Info, page: PageArgs) -> Connection[Page]:
        return await rcms.admin_pages(info.context, page)  # type: ignore[return-value]


@strawberry.type
class CmsMutation:
    @strawberry.mutation(
        description="Create a CMS page as a DRAFT (platform staff with MANAGE_CMS)."
    )
    async def page_create(
        self,
        info: Info,
        input: Annotated[
            PageInput, strawberry.argument(description="The new page with its modules.")
        ],
    ) -> PagePayload:
        return _payload(await rcms.page_create(info.context, input))

    @strawberry.mutation(description="Replaces the title, channels and all modules at once.")
    async def page_update(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the page.")
        ],
        input: Annotated[
            PageInput, strawberry.argument(description="The page's title, channels and modules.")
        ],
    ) -> PagePayload:
        return _payload(await rcms.page_update(info.context, id, input))

    @strawberry.mutation(
        description="Publish a page, optionally within a window (platform staff with MANAGE_CMS)."
    )
    async def page_publish(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the page.")
        ],
        starts_at: Annotated[
            datetime | None,
            strawberry.argument(
                description="Start of the publish window (ISO-8601, UTC); omitted = now."
            ),
        ] = None,
        ends_at: Annotated[
            datetime | None,
            strawberry.argument(
                description="End of the publish window (ISO-8601, UTC); omitted = open-ended."
            ),
        ] = None,
    ) -> PagePayload:
        return _payload(await rcms.page_publish(info.context, id, starts_at, ends_at))

    @strawberry.mutation(description="Take a page back to DRAFT (platform staff with MANAGE_CMS).")
    async def page_unpublish(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the page.")
        ],
    ) -> PagePayload:
        return _payload(await rcms.page_unpublish(info.context, id))

    @strawberry.mutation(description="Delete a CMS page (platform staff with MANAGE_CMS; audited).")
    async def page_delete(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the page.")
        ],
    ) -> PageDeletePayload:
        r = await rcms.page_delete(info.context, id)
        deleted = strawberry.ID(encode_id("Page", r.value.id)) if r.value else None
        return PageDeletePayload(deleted_id=deleted, user_errors=user_errors(r.errors))
