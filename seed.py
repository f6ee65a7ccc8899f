"""Idempotent, realistic demo data: merchants, brands, a 3-level category tree with inherited
attributes, display trees per channel, 216 products with 1–6 SKUs, warehouses and stock.
Everything goes through the services, so the demo data obeys the same rules as the API."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import utcnow
from core.ids import encode_id
from models.catalog import AttributeKind
from models.catalog import AttributeValueType
from models.catalog import Category
from models.catalog import DisplayCategory
from models.catalog import Merchant
from models.catalog import ShippingKind
from models.coupons import CouponType
from models.coupons import Distribution
from services import accounts
from services import catalog
from services import cms
from services import coupons
from services import inventory
from services import members
from services import products

SELF_OPERATED = "中台自营 Zhongtai Self-operated"
PRODUCTS_PER_LEAF = 24
IMG = "https://img.zhongtai.example/{}.jpg"


@dataclass
class Leaf:
    path: tuple[str, str, str]
    noun: str
    merchant: int
    brands: list[str]
    sales: dict[str, list[str]]  # attribute name → options, declared on the leaf
    models: list[str]
    base_price: int  # yuan


BRANDS = [
    ("Apple", "US"),
    ("华为 Huawei", "CN"),
    ("小米 Xiaomi", "CN"),
    ("Sony", "JP"),
    ("联想 Lenovo", "CN"),
    ("Bose", "US"),
    ("Nike", "US"),
    ("Adidas", "DE"),
    ("优衣库 Uniqlo", "JP"),
    ("李宁 Li-Ning", "CN"),
    ("三只松鼠 Three Squirrels", "CN"),
    ("立顿 Lipton", "GB"),
    ("农夫山泉 Nongfu Spring", "CN"),
    ("苏泊尔 Supor", "CN"),
    ("双立人 Zwilling", "DE"),
]

MERCHANTS = [
    (SELF_OPERATED, True),
    ("潮流服饰旗舰店 TrendWear", False),
    ("鲜味食品专营店 FreshBite", False),
    ("家居生活馆 HomeLiving", False),
]

COLOURS = ["黑色 Black", "白色 White", "蓝色 Blue", "红色 Red", "绿色 Green"]
SIZES = ["S", "M", "L", "XL"]

LEAVES = [
    Leaf(
        ("数码 Electronics", "手机通讯 Phones", "手机 Smartphones"),
        "智能手机 Smartphone",
        0,
        ["Apple", "华为 Huawei", "小米 Xiaomi"],
        {"存储容量 Storage": ["128GB", "256GB", "512GB"]},
        ["Pro", "Max", "Lite", "Ultra", "Air", "Mini"],
        3999,
    ),
    Leaf(
        ("数码 Electronics", "电脑办公 Computers", "笔记本 Laptops"),
        "笔记本电脑 Laptop",
        0,
        ["Apple", "联想 Lenovo", "华为 Huawei", "小米 Xiaomi"],
        {"配置 Config": ["16GB+512GB", "32GB+1TB"]},
        ["Book 14", "Pad 16", "X1", "Air 13"],
        6999,
    ),
    Leaf(
        ("数码 Electronics", "影音 Audio", "耳机 Headphones"),
        "无线耳机 Headphones",
        0,
        ["Sony", "Bose", "Apple", "小米 Xiaomi"],
        {},
        ["QC", "WH-1000", "Buds", "Pods"],
        899,
    ),
    Leaf(
        ("服饰 Apparel", "男装 Menswear", "T恤 T-shirts"),
        "纯棉T恤 Cotton Tee",
        1,
        ["优衣库 Uniqlo", "Nike", "Adidas", "李宁 Li-Ning"],
        {"尺码 Size": SIZES},
        ["Classic", "Sport", "Oversize", "Slim"],
        99,
    ),
    Leaf(
        ("服饰 Apparel", "女装 Womenswear", "连衣裙 Dresses"),
        "连衣裙 Dress",
        1,
        ["优衣库 Uniqlo", "李宁 Li-Ning"],
        {"尺码 Size": SIZES},
        ["Summer", "Floral", "Linen"],
        259,
    ),
    Leaf(
        ("服饰 Apparel", "鞋靴 Shoes", "运动鞋 Sneakers"),
        "运动鞋 Sneakers",
        1,
        ["Nike", "Adidas", "李宁 Li-Ning"],
        {"鞋码 Shoe size": ["39", "40", "41", "42", "43"]},
        ["Air Zoom", "Ultraboost", "Wade", "Pegasus"],
        599,
    ),
    Leaf(
        ("食品 Food", "饮料 Drinks", "茶饮 Tea"),
        "茶饮 Tea",
        2,
        ["立顿 Lipton", "农夫山泉 Nongfu Spring"],
        {"规格 Pack": ["6瓶 6-pack", "12瓶 12-pack", "24瓶 24-pack"]},
        ["东方树叶 Oriental Leaf", "Yellow Label", "乌龙 Oolong", "茉莉 Jasmine"],
        39,
    ),
    Leaf(
        ("食品 Food", "零食 Snacks", "坚果 Nuts"),
        "每日坚果 Daily Nuts",
        2,
        ["三只松鼠 Three Squirrels"],
        {"规格 Pack": ["250g", "500g", "1kg"]},
        ["夏威夷果 Macadamia", "碧根果 Pecan", "混合 Mix"],
        59,
    ),
    Leaf(
        ("家居 Home", "厨房 Kitchen", "锅具 Cookware"),
        "不粘锅 Non-stick Pan",
        3,
        ["苏泊尔 Supor", "双立人 Zwilling"],
        {"尺寸 Size": ["24cm", "28cm", "32cm"]},
        ["Pro", "Classic", "Titan"],
        299,
    ),
]

# Attributes declared on the level-1 category and inherited by every leaf below it.
# root category → (name, kind, value type, options, filterable) of the attributes it declares
ROOT_ATTRIBUTES: dict[str, list[tuple[str, AttributeKind, AttributeValueType, list[str], bool]]] = {
    "数码 Electronics": [
        ("型号 Model", AttributeKind.KEY, AttributeValueType.TEXT, [], False),
        ("颜色 Colour", AttributeKind.SALES, AttributeValueType.OPTIONS, COLOURS[:3], True),
        (
            "接口 Port",
            AttributeKind.GENERAL,
            AttributeValueType.OPTIONS,
            ["USB-C", "Lightning", "3.5mm"],
            True,
        ),
    ],
    "服饰 Apparel": [
        ("颜色 Colour", AttributeKind.SALES, AttributeValueType.OPTIONS, COLOURS, True),
        (
            "材质 Material",
            AttributeKind.GENERAL,
            AttributeValueType.OPTIONS,
            ["棉 Cotton", "涤纶 Polyester", "亚麻 Linen"],
            True,
        ),
    ],
    "食品 Food": [("产地 Origin", AttributeKind.GENERAL, AttributeValueType.TEXT, [], True)],
    "家居 Home": [
        (
            "材质 Material",
            AttributeKind.GENERAL,
            AttributeValueType.OPTIONS,
            ["不锈钢 Steel", "铝 Aluminium", "铸铁 Cast iron"],
            True,
        )
    ],
}

# (top node, its categories, [(child node, its categories, its brands)])
DISPLAY_TREE: list[tuple[str, list[str], list[tuple[str, list[str], list[str]]]]] = [
    (
        "手机数码",
        [],
        [
            ("手机", ["手机 Smartphones"], []),
            ("电脑", ["笔记本 Laptops"], []),
            ("耳机音箱", ["耳机 Headphones"], []),
        ],
    ),
    (
        "服饰鞋包",
        [],
        [
            ("男装", ["男装 Menswear"], []),
            ("女装", ["女装 Womenswear"], []),
            ("运动鞋", ["运动鞋 Sneakers"], ["Nike", "Adidas"]),
        ],
    ),
    ("美食生鲜", [], [("饮料", ["饮料 Drinks"], []), ("零食", ["零食 Snacks"], [])]),
    ("家居厨具", [], [("厨房", ["厨房 Kitchen"], [])]),
]
# Channel-specific navigation: the same tree everywhere plus one node per channel.
CHANNEL_NODES = [
    ("APP 专享 App deals", ["APP"], ["Apple", "华为 Huawei"]),
    ("小程序好物 Mini-program picks", ["MINI_PROGRAM"], ["三只松鼠 Three Squirrels"]),
    ("H5 特卖 H5 sale", ["H5"], ["Nike"]),
    ("PC 精选 Web picks", ["WEB"], ["联想 Lenovo", "Sony"]),
]


# name, rank, growth threshold (yuan paid), benefits
MEMBER_LEVELS = [
    ("普通会员", 1, 0, ["积分抵现"]),
    ("银卡会员", 2, 1000, ["积分抵现", "会员专享价"]),
    ("金卡会员", 3, 5000, ["积分抵现", "会员专享价", "专属客服"]),
]


async def already_seeded(session: AsyncSession) -> bool:
    found = await session.scalar(select(func.count()).where(Merchant.name == SELF_OPERATED))
    return bool(found)


async def seed_demo(
    session: AsyncSession, products_per_leaf: int = PRODUCTS_PER_LEAF, now: datetime | None = None
) -> bool:
    """Create the demo data once; return False when it was already there. `now` is when
    products are listed and the home page published (tests pass their fixed clock)."""
    if await already_seeded(session):
        return False
    rng = random.Random(20261123)
    merchants = [
        await catalog.create_merchant(session, catalog.MerchantData(n, s)) for n, s in MERCHANTS
    ]
    brands = {
        n: await catalog.create_brand(session, catalog.BrandData(n, IMG.format(f"brand-{i}"), c))
        for i, (n, c) in enumerate(BRANDS)
    }
    templates = await _shipping_templates(session, merchants)
    leaves = await _categories(session)
    warehouses = await _warehouses(session, merchants)
    await _display_categories(session, leaves, brands)
    now = now or utcnow()
    for leaf in LEAVES:
        category, attributes = leaves[leaf.path[2]]
        for n in range(products_per_leaf):
            product = await _product(
                session,
                rng,
                leaf,
                n,
                category,
                attributes,
                brands,
                merchants[leaf.merchant].id,
                templates[leaf.merchant],
            )
            await _stock(session, rng, product.id, warehouses[leaf.merchant])
            await _list(session, rng, product, now)
    for name, rank, threshold, benefits in MEMBER_LEVELS:  # before the demo customer joins
        await members.create_level(session, members.LevelData(name, rank, threshold, benefits), now)
    await _accounts(session)
    await _home_page(session, now)
    await session.commit()
    return True


async def _home_page(session: AsyncSession, now: datetime) -> None:
    """A published `home` page for every channel, so `page(slug: "home")` shows the CMS at
    work in the demo: its modules name display categories and coupons, and resolve to the
    live catalog when asked."""
    roots = [
        node
        for node in await session.scalars(
            select(DisplayCategory)
            .where(DisplayCategory.parent_id.is_(None))
            .order_by(DisplayCategory.position)
        )
        if not node.channels
    ]  # every channel's tree
    templates = [
        await coupons.create_template(
            session,
            coupons.TemplateData(
                name=name,
                type=CouponType.THRESHOLD,
                total_quantity=1000,
                distribution=Distribution.PUBLIC,
                amount=Decimal(amount),
                min_spend=Decimal(spend),
                days_after_claim=30,
            ),
        )
        for name, amount, spend in DEMO_COUPONS
    ]
    await session.flush()

    def link(node: DisplayCategory) -> dict[str, str]:
        return {"type": "DISPLAY_CATEGORY", "targetId": encode_id("DisplayCategory", node.id)}

    modules = [
        cms.ModuleData(
            "bannerCarousel",
            {
                "slides": [
                    {"imageUrl": IMG.format(f"banner-{i}"), "link": link(node)}
                    for i, node in enumerate(roots[:3])
                ]
            },
        ),
        cms.ModuleData(
            "iconGrid",
            {
                "icons": [
                    {"label": node.name.split()[0], "iconUrl": node.icon_url, "link": link(node)}
                    for node in roots
                ]
            },
        ),
        cms.ModuleData(
            "productList",
            {
                "title": "为你推荐 Picked for you",
                "rule": {
                    "displayCategoryId": encode_id("DisplayCategory", roots[0].id),
                    "sort": "SALES_DESC",
                    "limit": 10,
                },
            },
        ),
        cms.ModuleData(
            "couponCenter", {"templateIds": [encode_id("CouponTemplate", t.id) for t in templates]}
        ),
        cms.ModuleData("ranking", {"title": "热销榜 Best sellers", "days": 30, "limit": 10}),
    ]
    page = await cms.create_page(session, cms.PageData("home", "首页 Home", [], modules), now)
    await session.flush()
    await cms.publish(session, page.id, None, None, now)


DEMO_COUPONS = [("满200减20 20 off 200", "20", "200"), ("满500减60 60 off 500", "60", "500")]


DEMO_ADMIN = ("admin@zhongtai.example", "admin-pass-1")
DEMO_CUSTOMER = ("13800138000", "customer-pass-1")


async def _accounts(session: AsyncSession) -> None:
    """A demo admin and customer, so GraphiQL can be tried at once (demo data only)."""
    await accounts.ensure_admin(session, *DEMO_ADMIN)
    customer = await accounts.register_customer(
        session,
        accounts.Registration(
            name="演示用户 Demo", phone=DEMO_CUSTOMER[0], password=DEMO_CUSTOMER[1]
        ),
    )
    await accounts.create_address(
        session,
        customer.id,
        accounts.AddressData(
            name="演示用户",
            phone=DEMO_CUSTOMER[0],
            province="上海",
            city="上海市",
            district="浦东新区",
            line1="世纪大道 100 号",
            postal_code="200120",
        ),
    )


async def _shipping_templates(session: AsyncSession, merchants: list) -> list[int]:
    specs: list[tuple[ShippingKind, dict[str, Any]]] = [
        (ShippingKind.FREE, {}),
        (ShippingKind.FLAT, {"flat_fee": Decimal("10"), "free_over": Decimal("99")}),
        (
            ShippingKind.BY_PIECE,
            {"first_fee": Decimal("8"), "additional_fee": Decimal("2"), "free_over": Decimal("88")},
        ),
        (ShippingKind.BY_WEIGHT, {"first_fee": Decimal("12"), "additional_fee": Decimal("5")}),
    ]
    ids = []
    for merchant, (kind, fees) in zip(merchants, specs, strict=True):
        template = await catalog.create_shipping_template(
            session,
            catalog.ShippingTemplateData(
                merchant_id=merchant.id, name=f"{kind.value} shipping", kind=kind, **fees
            ),
        )
        ids.append(template.id)
    return ids


async def _categories(session: AsyncSession) -> dict[str, tuple]:
    made: dict[tuple[str, ...], Category] = {}
    leaves = {}
    for leaf in LEAVES:
        parent: Category | None = None
        for depth in range(3):
            key = leaf.path[: depth + 1]
            if key not in made:
                made[key] = await catalog.create_category(
                    session, key[-1], parent.id if parent else None
                )
                if depth == 0:
                    for name, kind, vtype, options, filterable in ROOT_ATTRIBUTES[key[0]]:
                        await catalog.create_attribute(
                            session,
                            catalog.AttributeData(
                                made[key].id, name, kind, vtype, options, filterable=filterable
                            ),
                        )
            parent = made[key]
        category = made[leaf.path]
        for name, options in leaf.sales.items():
            await catalog.create_attribute(
                session,
                catalog.AttributeData(
                    category.id,
                    name,
                    AttributeKind.SALES,
                    AttributeValueType.OPTIONS,
                    options,
                    filterable=True,
                ),
            )
        leaves[leaf.path[2]] = (category, await catalog.lineage_attributes(session, category))
    return leaves


async def _warehouses(session: AsyncSession, merchants: list) -> list[list[int]]:
    result = []
    for i, merchant in enumerate(merchants):
        codes = (
            [("SH", "上海仓 Shanghai", 10), ("GZ", "广州仓 Guangzhou", 5)]
            if i == 0
            else [("HZ", "杭州仓 Hangzhou", 5)]
        )
        made = [
            await inventory.create_warehouse(
                session, merchant.id, f"{code}-{i + 1:02d}", name, name.split()[0], priority
            )
            for code, name, priority in codes
        ]
        result.append([w.id for w in made])
    return result


async def _display_categories(session: AsyncSession, leaves: dict, brands: dict) -> None:
    by_name = {}
    for leaf in LEAVES:
        category = leaves[leaf.path[2]][0]
        by_name[leaf.path[1]] = category.parent_id
        by_name[leaf.path[2]] = category.id
    for position, (name, _, children) in enumerate(DISPLAY_TREE):
        top = await catalog.create_display_category(
            session,
            catalog.DisplayCategoryData(
                name=name,
                parent_id=None,
                icon_url=IMG.format(f"icon-{position}"),
                position=position,
                channels=[],
            ),
        )
        for child_pos, (child, categories, brand_names) in enumerate(children):
            await catalog.create_display_category(
                session,
                catalog.DisplayCategoryData(
                    name=child,
                    parent_id=top.id,
                    icon_url=IMG.format(f"icon-{position}-{child_pos}"),
                    position=child_pos,
                    channels=[],
                    category_ids=[by_name[c] for c in categories],
                    brand_ids=[brands[b].id for b in brand_names],
                ),
            )
    for position, (name, channels, brand_names) in enumerate(CHANNEL_NODES, len(DISPLAY_TREE)):
        await catalog.create_display_category(
            session,
            catalog.DisplayCategoryData(
                name=name,
                parent_id=None,
                icon_url=IMG.format(f"icon-ch-{position}"),
                position=position,
                channels=channels,
                brand_ids=[brands[b].id for b in brand_names],
            ),
        )


async def _product(
    session: AsyncSession,
    rng: random.Random,
    leaf: Leaf,
    n: int,
    category,
    attributes,
    brands: dict,
    merchant_id: int,
    template_id: int,
):
    brand = leaf.brands[n % len(leaf.brands)]
    model = f"{leaf.models[n % len(leaf.models)]} {n // len(leaf.models) + 1}"
    sales = [a for a in attributes if a.kind == AttributeKind.SALES]
    value_sets = [rng.sample(a.options, k=min(len(a.options), rng.randint(1, 3))) for a in sales]
    combos = list(itertools.product(*value_sets))[: rng.randint(1, 6)]
    base = leaf.base_price * rng.uniform(0.6, 1.6)
    skus = []
    for i, combo in enumerate(combos):
        price = Decimal(round(base * (1 + 0.15 * i))) - Decimal("0.01")
        skus.append(
            products.SkuDraft(
                specs=[(a.id, v) for a, v in zip(sales, combo, strict=True)],
                code=f"{category.id}-{n:03d}-{i}",
                price=price,
                market_price=(price * Decimal("1.2")).quantize(Decimal("1"))
                if i % 2 == 0
                else None,
                cost_price=(price * Decimal("0.6")).quantize(Decimal("0.01")),
                weight_grams=rng.randint(100, 3000),
                image_url=IMG.format(f"p{category.id}-{n}-{i}"),
            )
        )
    key_or_general = [
        (a.id, [_value_for(rng, a, model)]) for a in attributes if a.kind != AttributeKind.SALES
    ]
    title_brand = brand.split()[-1] if " " in brand else brand
    return await products.create_product(
        session,
        products.ProductDraft(
            title=f"{title_brand} {model} {leaf.noun}",
            subtitle=f"{brand} 官方正品 · 限时好价",
            brand_id=brands[brand].id,
            category_id=category.id,
            merchant_id=merchant_id,
            shipping_template_id=template_id,
            tags=rng.sample(["新品", "热卖", "包邮", "爆款"], 2),
            attributes=key_or_general,
            skus=skus,
            images=[
                (IMG.format(f"p{category.id}-{n}-main"), leaf.noun),
                (IMG.format(f"p{category.id}-{n}-side"), None),
            ],
            description_mobile_html=f'<p>{leaf.noun}: {model}</p><img src="{IMG.format("d")}">',
            description_pc_html=f"<h2>{brand} {model}</h2><p>{leaf.noun}</p>",
            after_sales="7天无理由退货 · 7-day no-reason returns",
            # every other demo product takes red packets (红包), at most ¥5 a unit
            red_packets_usable=n % 2 == 0,
            red_packet_cap=Decimal("5") if n % 2 == 0 else None,
        ),
    )


def _value_for(rng: random.Random, attribute, model: str) -> str:
    if attribute.value_type == AttributeValueType.OPTIONS:
        return rng.choice(attribute.options)
    return model if attribute.kind == AttributeKind.KEY else rng.choice(["浙江", "云南", "福建"])


async def _stock(
    session: AsyncSession, rng: random.Random, product_id: int, warehouse_ids: list[int]
) -> None:
    from models.catalog import Sku

    sku_ids = (await session.scalars(select(Sku.id).where(Sku.product_id == product_id))).all()
    for sku_id in sku_ids:
        for warehouse_id in warehouse_ids:
            quantity = rng.choice([0, 0, 3, 20, 50, 120])
            if quantity:
                await inventory.receive_stock(
                    session,
                    sku_id,
                    warehouse_id,
                    quantity,
                    "demo opening stock",
                    None,
                    safety_stock=rng.choice([0, 0, 2, 5]),
                )


async def _list(session: AsyncSession, rng: random.Random, product, now) -> None:
    roll = rng.random()
    if roll < 0.05:
        return  # stays a draft
    await products.list_product(session, product.id, now)
    product.sales_count = rng.randint(0, 5000)
    if roll < 0.09:
        await products.delist_product(session, product.id, now)
