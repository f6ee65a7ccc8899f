"""CMS pages and modules (DOMAIN.md §8): each module's configuration is validated by type on
save (errors name the module index and field), modules are replaced atomically, every save is
kept as a version, and storefronts get the published page for their channel with the modules
valid now."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import changes
from core.ids import InvalidGlobalId
from core.ids import decode_id
from models.catalog import Brand
from models.catalog import DisplayCategory
from models.catalog import Product
from models.cms import Page
from models.cms import PageModule
from models.cms import PageVersion
from models.coupons import CouponTemplate
from services import validation as check
from services.errors import DomainError
from services.errors import ErrorCode
from services.errors import Violations

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,119}$")
MAX_LIMIT = 50
LINK_TARGETS = {
    "PRODUCT": Product,
    "DISPLAY_CATEGORY": DisplayCategory,
    "PAGE": Page,
    "COUPON_TEMPLATE": CouponTemplate,
}
MODULE_KINDS = (
    "bannerCarousel",
    "iconGrid",
    "productList",
    "categoryNav",
    "ranking",
    "couponCenter",
    "richText",
)
TYPE_OF = {
    "bannerCarousel": "BANNER_CAROUSEL",
    "iconGrid": "ICON_GRID",
    "productList": "PRODUCT_LIST",
    "categoryNav": "CATEGORY_NAV",
    "ranking": "RANKING",
    "couponCenter": "COUPON_CENTER",
    "richText": "RICH_TEXT",
}


@dataclass
class ModuleData:
    kind: str  # one of MODULE_KINDS
    config: dict[str, Any]  # as sent, with global ids
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass
class PageData:
    slug: str
    title: str
    channels: list[str] = field(default_factory=list)
    modules: list[ModuleData] = field(default_factory=list)


class _Check:
    """Validation of one save: collects violations; looks ids up in batches at the end."""

    def __init__(self) -> None:
        self.v = Violations()
        self.refs: list[tuple[type, int, str]] = []  # (model, pk, field) to verify

    def ref(self, global_id: Any, model: type, path: str) -> int | None:
        expected = model.node_type  # type: ignore[attr-defined]
        try:
            kind, pk = decode_id(str(global_id))
        except InvalidGlobalId:
            self.v.add(ErrorCode.INVALID_ID, "Not a valid ID.", path)
            return None
        if kind != expected:
            self.v.add(ErrorCode.INVALID_ID, f"Expected an ID of a {expected}.", path)
            return None
        self.refs.append((model, pk, path))
        return pk

    def schedule(self, starts: Any, ends: Any, path: str) -> None:
        if starts and ends and ends <= starts:
            self.v.add(ErrorCode.INVALID_SCHEDULE, "endsAt must be after startsAt.", path)

    def link(self, link: dict[str, Any] | None, path: str) -> dict[str, Any] | None:
        if not link:
            return None
        kind = link.get("type")
        if kind == "URL":
            url = check.url(self.v, link.get("url"), f"{path}.url")
            if not link.get("url"):
                self.v.add(ErrorCode.INVALID_URL, "A URL link needs a url.", f"{path}.url")
            return {"type": "URL", "url": url}
        if kind not in LINK_TARGETS:
            self.v.add(ErrorCode.INVALID_INPUT, "Unknown link type.", f"{path}.type")
            return None
        if not link.get("targetId"):
            self.v.add(ErrorCode.INVALID_ID, "This link needs a targetId.", f"{path}.targetId")
            return None
        pk = self.ref(link["targetId"], LINK_TARGETS[kind], f"{path}.targetId")
        return {"type": kind, "targetId": pk}

    def limit(self, value: Any, path: str, default: int = 10) -> int:
        limit = default if value is None else value
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            self.v.add(ErrorCode.INVALID_INPUT, f"A limit is 1 to {MAX_LIMIT}.", path)
            return default
        return limit


def _banner(c: _Check, cfg: dict[str, Any], path: str) -> dict[str, Any]:
    slides = cfg.get("slides") or []
    if not slides:
        c.v.add(ErrorCode.INVALID_INPUT, "A carousel needs at least one slide.", f"{path}.slides")
    clean = []
    for i, slide in enumerate(slides[:10]):
        where = f"{path}.slides.{i}"
        if not slide.get("imageUrl"):
            c.v.add(ErrorCode.INVALID_URL, "A slide needs an image.", f"{where}.imageUrl")
        c.schedule(slide.get("startsAt"), slide.get("endsAt"), f"{where}.endsAt")
        clean.append(
            {
                "imageUrl": check.url(c.v, slide.get("imageUrl"), f"{where}.imageUrl"),
                "link": c.link(slide.get("link"), f"{where}.link"),
                "startsAt": _iso(slide.get("startsAt")),
                "endsAt": _iso(slide.get("endsAt")),
            }
        )
    return {"slides": clean}


def _icons(c: _Check, cfg: dict[str, Any], path: str) -> dict[str, Any]:
    icons = cfg.get("icons") or []
    if not icons:
        c.v.add(ErrorCode.INVALID_INPUT, "An icon grid needs icons.", f"{path}.icons")
    return {
        "icons": [
            {
                "label": check.text(c.v, icon.get("label"), f"{path}.icons.{i}.label", max_len=20),
                "iconUrl": check.url(c.v, icon.get("iconUrl"), f"{path}.icons.{i}.iconUrl"),
                "link": c.link(icon.get("link"), f"{path}.icons.{i}.link"),
            }
            for i, icon in enumerate(icons[:20])
        ]
    }


def _product_list(c: _Check, cfg: dict[str, Any], path: str) -> dict[str, Any]:
    title = check.text(c.v, cfg.get("title"), f"{path}.title", max_len=60, required=False)
    ids, rule = cfg.get("productIds"), cfg.get("rule")
    if (ids is None) == (rule is None):
        c.v.add(ErrorCode.INVALID_INPUT, "Give productIds or a rule, not both.", path)
        return {}
    if ids is not None:
        if not ids or len(ids) > MAX_LIMIT:
            c.v.add(
                ErrorCode.INVALID_INPUT, f"List 1 to {MAX_LIMIT} products.", f"{path}.productIds"
            )
        return {
            "title": title,
            "productIds": [c.ref(g, Product, f"{path}.productIds.{i}") for i, g in enumerate(ids)],
        }
    assert rule is not None  # exactly one of productIds and rule, checked above
    where = f"{path}.rule"
    if not (rule.get("displayCategoryId") or rule.get("brandId") or rule.get("tag")):
        c.v.add(
            ErrorCode.INVALID_INPUT, "A rule needs a display category, a brand or a tag.", where
        )
    return {
        "title": title,
        "rule": {
            "displayCategoryId": c.ref(
                rule["displayCategoryId"], DisplayCategory, f"{where}.displayCategoryId"
            )
            if rule.get("displayCategoryId")
            else None,
            "brandId": c.ref(rule["brandId"], Brand, f"{where}.brandId")
            if rule.get("brandId")
            else None,
            "tag": (rule.get("tag") or "").strip() or None,
            "sort": rule.get("sort") or "SALES_DESC",
            "limit": c.limit(rule.get("limit"), f"{where}.limit"),
        },
    }


def _category_nav(c: _Check, cfg: dict[str, Any], path: str) -> dict[str, Any]:
    if not cfg.get("displayCategoryId"):
        c.v.add(ErrorCode.INVALID_ID, "Pick a display category.", f"{path}.displayCategoryId")
        return {}
    return {
        "displayCategoryId": c.ref(
            cfg["displayCategoryId"], DisplayCategory, f"{path}.displayCategoryId"
        )
    }


def _ranking(c: _Check, cfg: dict[str, Any], path: str) -> dict[str, Any]:
    days = cfg.get("days") or 30
    if not 1 <= days <= 90:
        c.v.add(ErrorCode.INVALID_INPUT, "Rank over 1 to 90 days.", f"{path}.days")
    return {
        "title": check.text(c.v, cfg.get("title"), f"{path}.title", max_len=60, required=False),
        "days": days,
        "limit": c.limit(cfg.get("limit"), f"{path}.limit"),
        "displayCategoryId": c.ref(
            cfg["displayCategoryId"], DisplayCategory, f"{path}.displayCategoryId"
        )
        if cfg.get("displayCategoryId")
        else None,
    }


def _coupon_center(c: _Check, cfg: dict[str, Any], path: str) -> dict[str, Any]:
    ids = cfg.get("templateIds") or []
    if not ids or len(ids) > 20:
        c.v.add(ErrorCode.INVALID_INPUT, "List 1 to 20 coupon templates.", f"{path}.templateIds")
    return {
        "templateIds": [
            c.ref(g, CouponTemplate, f"{path}.templateIds.{i}") for i, g in enumerate(ids)
        ]
    }


def _rich_text(c: _Check, cfg: dict[str, Any], path: str) -> dict[str, Any]:
    html = check.html(cfg.get("html"))
    if not html or not html.strip():
        c.v.add(ErrorCode.INVALID_INPUT, "Rich text cannot be empty.", f"{path}.html")
    return {"html": html}


VALIDATORS = {
    "bannerCarousel": _banner,
    "iconGrid": _icons,
    "productList": _product_list,
    "categoryNav": _category_nav,
    "ranking": _ranking,
    "couponCenter": _coupon_center,
    "richText": _rich_text,
}


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


async def _verify_refs(session: AsyncSession, c: _Check) -> None:
    by_model: dict[type, set[int]] = {}
    for model, pk, _ in c.refs:
        by_model.setdefault(model, set()).add(pk)
    found: dict[type, set[int]] = {}
    for model, ids in by_model.items():
        rows = (
            await session.scalars(
                select(model.id).where(  # type: ignore[attr-defined]
                    model.id.in_(ids)  # type: ignore[attr-defined]
                )
            )
        ).all()
        found[model] = set(rows)
    for model, pk, path in c.refs:
        if pk not in found[model]:
            c.v.add(ErrorCode.NOT_FOUND, f"{model.__name__} not found.", path)


async def validate(
    session: AsyncSession, data: PageData, page_id: int | None
) -> list[dict[str, Any]]:
    c = _Check()
    slug = (data.slug or "").strip().lower()
    if not SLUG.match(slug):
        c.v.add(ErrorCode.INVALID_INPUT, "A slug is lower-case letters, digits and dashes.", "slug")
    data.slug = slug
    data.title = check.text(c.v, data.title, "title", max_len=200) or ""
    modules = []
    if len(data.modules) > 30:
        c.v.add(ErrorCode.INVALID_INPUT, "At most 30 modules.", "modules")
    for i, module in enumerate(data.modules):
        path = f"modules.{i}.{module.kind}"
        c.schedule(module.starts_at, module.ends_at, f"modules.{i}.endsAt")
        config = VALIDATORS[module.kind](c, module.config, path)
        modules.append(
            {
                "type": TYPE_OF[module.kind],
                "config": config,
                "startsAt": module.starts_at,
                "endsAt": module.ends_at,
            }
        )
    await _verify_refs(session, c)
    c.v.raise_if_any()
    await _check_slug(session, data, page_id)
    return modules


async def _check_slug(session: AsyncSession, data: PageData, page_id: int | None) -> None:
    """A slug is unique per channel: pages may share one only on disjoint channels."""
    same = (
        await session.scalars(select(Page).where(Page.slug == data.slug, Page.id != (page_id or 0)))
    ).all()
    for other in same:
        if not other.channels or not data.channels or set(other.channels) & set(data.channels):
            raise DomainError(
                ErrorCode.DUPLICATE_NAME, f"Slug '{data.slug}' is taken on these channels.", "slug"
            )


async def _write(
    session: AsyncSession, page: Page, data: PageData, modules: list[dict[str, Any]], now: datetime
) -> None:
    page.slug, page.title, page.channels = data.slug, data.title, sorted(set(data.channels))
    page.updated_at = now
    await session.flush()
    await session.execute(delete(PageModule).where(PageModule.page_id == page.id))
    session.add_all(
        PageModule(
            page_id=page.id,
            position=i,
            type=m["type"],
            config=m["config"],
            starts_at=m["startsAt"],
            ends_at=m["endsAt"],
        )
        for i, m in enumerate(modules)
    )
    await session.flush()
    await _version(session, page, modules, now)


async def _version(
    session: AsyncSession, page: Page, modules: list[dict[str, Any]] | None, now: datetime
) -> None:
    if modules is None:
        rows = (
            await session.scalars(
                select(PageModule)
                .where(PageModule.page_id == page.id)
                .order_by(PageModule.position)
            )
        ).all()
        modules = [
            {"type": m.type, "config": m.config, "startsAt": m.starts_at, "endsAt": m.ends_at}
            for m in rows
        ]
    latest = (
        await session.scalar(
            select(func.max(PageVersion.version)).where(PageVersion.page_id == page.id)
        )
        or 0
    )
    page.version = latest + 1
    session.add(
        PageVersion(
            page_id=page.id,
            version=page.version,
            saved_at=now,
            snapshot={
                "title": page.title,
                "channels": page.channels,
                "status": page.status,
                "publishStartsAt": _iso(page.publish_starts_at),
                "publishEndsAt": _iso(page.publish_ends_at),
                "modules": [
                    {**m, "startsAt": _iso(m["startsAt"]), "endsAt": _iso(m["endsAt"])}
                    for m in modules
                ],
            },
        )
    )
    await session.flush()


async def create_page(session: AsyncSession, data: PageData, now: datetime) -> Page:
    modules = await validate(session, data, None)
    page = Page(status="DRAFT", created_at=now, version=0)
    session.add(page)
    await _write(session, page, data, modules, now)
    return page


async def update_page(session: AsyncSession, page_id: int, data: PageData, now: datetime) -> Page:
    page = await _page(session, page_id)
    modules = await validate(session, data, page.id)
    await _write(session, page, data, modules, now)
    return page


async def publish(
    session: AsyncSession,
    page_id: int,
    starts: datetime | None,
    ends: datetime | None,
    now: datetime,
) -> Page:
    page = await _page(session, page_id)
    if starts and ends and ends <= starts:
        raise DomainError(ErrorCode.INVALID_SCHEDULE, "endsAt must be after startsAt.", "endsAt")
    if ends and ends <= now:
        raise DomainError(ErrorCode.INVALID_SCHEDULE, "endsAt is in the past.", "endsAt")
    page.status, page.publish_starts_at, page.publish_ends_at = "PUBLISHED", starts, ends
    await _version(session, page, None, now)
    return page


async def unpublish(session: AsyncSession, page_id: int, now: datetime) -> Page:
    page = await _page(session, page_id)
    if page.status != "PUBLISHED":
        raise DomainError(ErrorCode.INVALID_STATUS_TRANSITION, "The page is not published.", "id")
    page.status = "DRAFT"
    await _version(session, page, None, now)
    return page


async def delete_page(session: AsyncSession, page_id: int) -> Page:
    page = await _page(session, page_id)
    await session.execute(delete(PageModule).where(PageModule.page_id == page.id))
    await session.execute(delete(PageVersion).where(PageVersion.page_id == page.id))
    await session.delete(page)
    await session.flush()
    return page


async def _page(session: AsyncSession, page_id: int) -> Page:
    page = await session.get(Page, page_id)
    if page is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Page not found.", "id")
    return page


def live(page: Page, channel: str, at: datetime) -> bool:
    return (
        page.status == "PUBLISHED"
        and (not page.channels or channel in page.channels)
        and (page.publish_starts_at is None or page.publish_starts_at <= at)
        and (page.publish_ends_at is None or at < page.publish_ends_at)
    )


def module_live(module: PageModule, at: datetime) -> bool:
    return (module.starts_at is None or module.starts_at <= at) and (
        module.ends_at is None or at < module.ends_at
    )


def slide_live(slide: dict[str, Any], at: datetime) -> bool:
    starts, ends = slide.get("startsAt"), slide.get("endsAt")
    return (starts is None or datetime.fromisoformat(starts) <= at) and (
        ends is None or at < datetime.fromisoformat(ends)
    )


async def storefront_page(
    session: AsyncSession, slug: str, channel: str, at: datetime
) -> Page | None:
    pages = (
        await session.scalars(select(Page).where(Page.slug == slug.lower()).order_by(Page.id))
    ).all()
    return next((p for p in pages if live(p, channel, at)), None)


async def modules_of(session: AsyncSession, page_id: int) -> list[PageModule]:
    changes.depends_on("page_modules", [page_id])  # modules are noted by their page
    with changes.covered("page_modules"):
        return list(
            (
                await session.scalars(
                    select(PageModule)
                    .where(PageModule.page_id == page_id)
                    .order_by(PageModule.position)
                )
            ).all()
        )


def versions_of(page_id: int) -> Any:
    """A page's published versions, the newest first."""
    return (
        select(PageVersion)
        .where(PageVersion.page_id == page_id)
        .order_by(PageVersion.version.desc())
    )
