"""Builds a small catalog through the admin operations of the contract, exactly as written."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from tests.conftest import Api


@dataclass
class Catalog:
    merchant: str = ""
    other_merchant: str = ""
    template: str = ""
    brands: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    display: dict[str, str] = field(default_factory=dict)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)


async def create(api: Api, op: str, key: str, input_: dict[str, Any]) -> dict[str, Any]:
    data = await api.admin(op, {"input": input_})
    return next(iter(data.values()))[key]


async def build_catalog(api: Api) -> Catalog:
    c = Catalog()
    c.merchant = (
        await create(api, "MerchantCreate", "merchant", {"name": "自营 Self", "selfOperated": True})
    )["id"]
    c.other_merchant = (
        await create(api, "MerchantCreate", "merchant", {"name": "Shop B", "selfOperated": False})
    )["id"]
    c.template = (
        await create(
            api,
            "ShippingTemplateCreate",
            "shippingTemplate",
            {
                "merchantId": c.merchant,
                "name": "Flat",
                "kind": "FLAT",
                "flatFee": "10.00",
                "freeOver": "99.00",
            },
        )
    )["id"]
    for name in ("Apple", "华为 Huawei", "Nike"):
        c.brands[name] = (
            await create(
                api,
                "BrandCreate",
                "brand",
                {"name": name, "logoUrl": "https://x.example/l.png", "country": "CN"},
            )
        )["id"]
    digital = await create(api, "CategoryCreate", "category", {"name": "数码"})
    phones = await create(
        api, "CategoryCreate", "category", {"name": "手机通讯", "parentId": digital["id"]}
    )
    phone = await create(
        api, "CategoryCreate", "category", {"name": "手机", "parentId": phones["id"]}
    )
    apparel = await create(api, "CategoryCreate", "category", {"name": "服饰"})
    tees = await create(
        api, "CategoryCreate", "category", {"name": "T恤", "parentId": apparel["id"]}
    )
    c.categories = {
        "digital": digital["id"],
        "phones": phones["id"],
        "phone": phone["id"],
        "apparel": apparel["id"],
        "tees": tees["id"],
    }
    attrs = [
        ("model", digital["id"], "型号", "KEY", "TEXT", None, False),
        ("colour", digital["id"], "颜色", "SALES", "OPTIONS", ["黑", "白", "蓝"], True),
        ("storage", phone["id"], "存储", "SALES", "OPTIONS", ["128GB", "256GB"], True),
        ("port", phone["id"], "接口", "GENERAL", "OPTIONS", ["USB-C", "Lightning"], True),
        ("size", tees["id"], "尺码", "SALES", "OPTIONS", ["S", "M", "L"], True),
    ]
    for key, category, name, kind, vtype, options, filterable in attrs:
        c.attributes[key] = (
            await create(
                api,
                "AttributeCreate",
                "attribute",
                {
                    "categoryId": category,
                    "name": name,
                    "kind": kind,
                    "valueType": vtype,
                    "options": options,
                    "required": kind == "KEY",
                    "filterable": filterable,
                    "allowCustomValues": False,
                },
            )
        )["id"]
    c.display["digital"] = (
        await create(
            api,
            "DisplayCategoryCreate",
            "displayCategory",
            {
                "name": "手机数码",
                "iconUrl": "https://x.example/i.png",
                "position": 1,
                "channels": [],
                "categoryIds": [],
                "brandIds": [],
            },
        )
    )["id"]
    c.display["phones"] = (
        await create(
            api,
            "DisplayCategoryCreate",
            "displayCategory",
            {
                "name": "手机",
                "parentId": c.display["digital"],
                "position": 1,
                "categoryIds": [c.categories["phones"]],
            },
        )
    )["id"]
    c.display["app_only"] = (
        await create(
            api,
            "DisplayCategoryCreate",
            "displayCategory",
            {"name": "APP 专享", "channels": ["APP"], "brandIds": [c.brands["Nike"]]},
        )
    )["id"]
    return c


def phone_input(
    c: Catalog,
    title: str,
    brand: str,
    prices: list[str],
    *,
    code: str,
    colours: tuple[str, ...] = ("黑", "白"),
    port: str = "USB-C",
) -> dict[str, Any]:
    skus = []
    for i, (colour, price) in enumerate(zip(colours, prices, strict=False)):
        skus.append(
            {
                "specs": [
                    {"attributeId": c.attributes["colour"], "value": colour},
                    {"attributeId": c.attributes["storage"], "value": "128GB"},
                ],
                "code": f"{code}-{i}",
                "barcode": f"69{i:011d}",
                "price": price,
                "marketPrice": str(int(float(price)) + 100) + ".00",
                "costPrice": "1.00",
                "weightGrams": 200,
                "imageUrl": f"https://x.example/{code}-{i}.png",
            }
        )
    return {
        "title": title,
        "subtitle": f"{title} 卖点",
        "brandId": c.brands[brand],
        "categoryId": c.categories["phone"],
        "merchantId": c.merchant,
        "shippingTemplateId": c.template,
        "tags": ["新品"],
        "attributes": [
            {"attributeId": c.attributes["model"], "values": [title]},
            {"attributeId": c.attributes["port"], "values": [port]},
        ],
        "images": [{"url": f"https://x.example/{code}.png", "alt": title}],
        "descriptionMobileHtml": "<p>mobile</p><script>alert(1)</script>",
        "descriptionPcHtml": "<p>pc</p>",
        "afterSales": "7天无理由",
        "skus": skus,
    }


async def add_product(
    api: Api, c: Catalog, key: str, input_: dict[str, Any], *, listed: bool = True
) -> dict[str, Any]:
    data = await api.admin("ProductCreate", {"input": input_})
    product = data["productCreate"]["product"]
    if listed:
        await api.admin("ProductList", {"id": product["id"]})
    c.products[key] = product
    return product
