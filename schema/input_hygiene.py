"""Input hygiene at the edge: every string a request carries — argument literals, variable
values and variable defaults, nested in input objects and lists, whatever the scalar (String,
ID, Decimal, DateTime, Date) — is checked before anything runs:

* no control characters: C0 except tab, LF and CR, DEL, C1, and lone surrogates. PostgreSQL
  refuses NUL (and invalid UTF-8) in text, which surfaced as INTERNAL_ERROR after other
  statements had run; the rest have no place in commerce text and make logs lie;
* no longer than where it lands: a stored field's limit is its column's String(n), read from
  the model; JSON/Text and unstored text have explicit limits (INPUT_LIMITS); lists of
  strings are bounded in items too;
* Decimal exponents within ±1000: no amount is near, and beyond, Decimal arithmetic
  overflows (1e999999 × 100) or converting to an int holds the event loop (1e900000: 48 s).
  Amounts merely too large for money (1e30) stay the services' user errors on their field.

A refusal names the argument path (`input.lines.0.note`); the endpoint answers BAD_USER_INPUT
with HTTP 400. The document's part (its literals, where each variable is used) is worked out
once per document text; a request then only walks its variables."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from decimal import InvalidOperation
from functools import lru_cache
from typing import Any

from graphql import SKIP
from graphql import ArgumentNode
from graphql import FieldNode
from graphql import FloatValueNode
from graphql import FragmentDefinitionNode
from graphql import GraphQLInputObjectType
from graphql import GraphQLInputType
from graphql import GraphQLList
from graphql import GraphQLNamedType
from graphql import GraphQLNonNull
from graphql import GraphQLSchema
from graphql import IntValueNode
from graphql import ListValueNode
from graphql import ObjectValueNode
from graphql import OperationDefinitionNode
from graphql import StringValueNode
from graphql import TypeInfo
from graphql import TypeInfoVisitor
from graphql import ValueNode
from graphql import VariableDefinitionNode
from graphql import VariableNode
from graphql import Visitor
from graphql import get_nullable_type
from graphql import is_input_object_type
from graphql import is_list_type
from graphql import type_from_ast
from graphql import visit

from resolvers import purchasing as rp
from resolvers import records as m
from schema.limits import QueryTooComplex
from schema.limits import parse_document

# Unicode category Cc except \t \n \r, and the surrogate block (never valid alone in UTF-8).
REFUSED_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
MAX_DECIMAL_EXPONENT = 1000


@dataclass(frozen=True, slots=True)
class Limit:
    chars: int
    items: int | None = None  # a list's length; `chars` then bounds each item

    def item(self) -> Limit:
        return Limit(self.chars)


def column(attribute: Any, items: int | None = None) -> Limit:
    """The limit of the String(n) column a field is stored in."""
    length = attribute.property.columns[0].type.length
    assert length, f"{attribute} is not a String(n) column"
    return Limit(length, items)


# Unstored or JSON/Text-stored text: explicit limits, each well above what the service itself
# accepts where it has a rule of its own (so a form still gets that rule's userError).
SEARCH = Limit(200)  # a search box, not a document
CURSOR = Limit(200)  # our cursors are a few dozen characters
CURSOR_ARGUMENTS = ("after", "before")  # every connection's Relay cursors
PASSWORD = Limit(200)  # the policy allows 8–128; argon2 hashes whatever it is given
TOKEN = Limit(500)  # refresh tokens are "<id>.<secret>", ~50 characters
COUPON_CODE = Limit(64)  # stored only as its hash
URL = Limit(500)  # what services.validation.url accepts
SHORT_TEXT = Limit(200)  # labels, titles and alt text kept inside JSON
TAGS = Limit(40, items=20)
OPTIONS = column(m.ProductAttributeValue.value, items=100)
VALUES = column(m.ProductAttributeValue.value, items=50)
RICH_TEXT = Limit(100_000)  # sanitized HTML in Text columns and CMS modules
LONG_TEXT = Limit(10_000)  # after-sales terms (Text)
REASON = column(m.StockMovement.reason)
BENEFITS = Limit(100, items=10)  # a member level's benefits, kept in JSON

# Every String input of the schema, by (input type, field) or ("Type.field", argument):
# a test fails when one is missing. Other scalars fall back to SCALAR_LIMITS.
INPUT_LIMITS: dict[tuple[str, str], Limit] = {
    # catalog
    ("Query.products", "query"): SEARCH,
    ("Query.page", "slug"): column(m.Page.slug),
    ("AttributeFilterInput", "name"): column(m.Attribute.name),
    ("AttributeFilterInput", "values"): VALUES,
    ("AdminProductFilter", "query"): SEARCH,
    ("BrandInput", "name"): column(m.Brand.name),
    ("BrandInput", "logoUrl"): column(m.Brand.logo_url),
    ("BrandInput", "country"): column(m.Brand.country),
    ("CategoryInput", "name"): column(m.Category.name),
    ("CategoryUpdateInput", "name"): column(m.Category.name),
    ("AttributeInput", "name"): column(m.Attribute.name),
    ("AttributeInput", "options"): OPTIONS,
    ("DisplayCategoryInput", "name"): column(m.DisplayCategory.name),
    ("DisplayCategoryInput", "iconUrl"): column(m.DisplayCategory.icon_url),
    ("DisplayCategoryUpdateInput", "name"): column(m.DisplayCategory.name),
    ("DisplayCategoryUpdateInput", "iconUrl"): column(m.DisplayCategory.icon_url),
    ("MerchantInput", "name"): column(m.Merchant.name),
    ("ShippingTemplateInput", "name"): column(m.ShippingTemplate.name),
    ("ProductInput", "title"): column(m.Product.title),
    ("ProductInput", "subtitle"): column(m.Product.subtitle),
    ("ProductInput", "tags"): TAGS,
    ("ProductInput", "descriptionMobileHtml"): RICH_TEXT,
    ("ProductInput", "descriptionPcHtml"): RICH_TEXT,
    ("ProductInput", "afterSales"): LONG_TEXT,
    ("ProductUpdateInput", "title"): column(m.Product.title),
    ("ProductUpdateInput", "subtitle"): column(m.Product.subtitle),
    ("ProductUpdateInput", "tags"): TAGS,
    ("ProductUpdateInput", "descriptionMobileHtml"): RICH_TEXT,
    ("ProductUpdateInput", "descriptionPcHtml"): RICH_TEXT,
    ("ProductUpdateInput", "afterSales"): LONG_TEXT,
    ("SkuInput", "code"): column(m.Sku.code),
    ("SkuInput", "barcode"): column(m.Sku.barcode),
    ("SkuInput", "imageUrl"): column(m.Sku.image_url),
    ("SkuSpecInput", "value"): column(m.ProductAttributeValue.value),
    ("ProductAttributeInput", "values"): VALUES,
    ("ImageInput", "url"): URL,
    ("ImageInput", "alt"): SHORT_TEXT,
    # accounts
    ("Mutation.tokenCreate", "login"): column(m.Customer.email),  # an email or a phone
    ("Mutation.tokenCreate", "password"): PASSWORD,
    ("Mutation.tokenCreate", "guestCartId"): column(m.Cart.token),
    ("Mutation.staffTokenCreate", "email"): column(m.Staff.email),
    ("Mutation.staffTokenCreate", "password"): PASSWORD,
    ("Mutation.tokenRefresh", "refreshToken"): TOKEN,
    ("Mutation.tokenRevoke", "refreshToken"): TOKEN,
    ("CustomerRegisterInput", "name"): column(m.Customer.name),
    ("CustomerRegisterInput", "password"): PASSWORD,
    ("CustomerRegisterInput", "phone"): column(m.Customer.phone),
    ("CustomerRegisterInput", "email"): column(m.Customer.email),
    ("AddressInput", "name"): column(m.Address.name),
    ("AddressInput", "phone"): column(m.Address.phone),
    ("AddressInput", "province"): column(m.Address.province),
    ("AddressInput", "city"): column(m.Address.city),
    ("AddressInput", "district"): column(m.Address.district),
    ("AddressInput", "line1"): column(m.Address.line1),
    ("AddressInput", "postalCode"): column(m.Address.postal_code),
    ("StaffCreateInput", "email"): column(m.Staff.email),
    ("StaffCreateInput", "name"): column(m.Staff.name),
    ("StaffCreateInput", "password"): PASSWORD,
    ("StaffUpdateInput", "name"): column(m.Staff.name),
    ("RoleInput", "name"): column(m.Role.name),
    ("RoleUpdateInput", "name"): column(m.Role.name),
    ("AuditLogFilter", "targetType"): column(m.AuditEntry.target_type),
    # inventory
    ("WarehouseInput", "code"): column(m.Warehouse.code),
    ("WarehouseInput", "name"): column(m.Warehouse.name),
    ("WarehouseInput", "region"): column(m.Warehouse.region),
    ("WarehouseUpdateInput", "code"): column(m.Warehouse.code),
    ("WarehouseUpdateInput", "name"): column(m.Warehouse.name),
    ("WarehouseUpdateInput", "region"): column(m.Warehouse.region),
    ("StockMoveInput", "reason"): REASON,
    ("StockTransferInput", "reason"): REASON,
    # purchasing and stocktakes
    ("SupplierInput", "name"): column(rp.Supplier.name),
    ("SupplierInput", "contact"): column(rp.Supplier.contact),
    ("SupplierUpdateInput", "name"): column(rp.Supplier.name),
    ("SupplierUpdateInput", "contact"): column(rp.Supplier.contact),
    ("PurchaseOrderInput", "note"): column(rp.PurchaseOrder.note),
    ("PurchaseOrderUpdateInput", "note"): column(rp.PurchaseOrder.note),
    ("PurchaseReceiptInput", "clientKey"): column(rp.PurchaseReceipt.client_key),
    ("StocktakeInput", "reason"): column(rp.Stocktake.reason),
    # promotions and coupons
    ("PromotionInput", "name"): column(m.Promotion.name),
    ("CouponTemplateInput", "name"): column(m.CouponTemplate.name),
    ("Mutation.couponRedeemCode", "code"): COUPON_CODE,
    # CMS: modules are stored as JSON
    ("PageInput", "slug"): column(m.Page.slug),
    ("PageInput", "title"): column(m.Page.title),
    ("SlideInput", "imageUrl"): URL,
    ("LinkInput", "url"): URL,
    ("IconInput", "label"): SHORT_TEXT,
    ("IconInput", "iconUrl"): URL,
    ("ProductListInput", "title"): SHORT_TEXT,
    ("ProductRuleInput", "tag"): TAGS.item(),
    ("RankingInput", "title"): SHORT_TEXT,
    ("RichTextInput", "html"): RICH_TEXT,
    # checkout and orders
    ("CheckoutInput", "note"): column(m.Order.note),
    ("Mutation.checkoutComplete", "idempotencyKey"): column(m.Payment.idempotency_key),
    ("Mutation.paymentConfirm", "transactionId"): column(m.Payment.transaction_id),
    ("Mutation.paymentRecordOffline", "reference"): column(m.Payment.transaction_id),
    ("Mutation.paymentStart", "openid"): Limit(128),  # WeChat openids: 28; passed on, not stored
    ("Mutation.orderCancel", "reason"): column(m.Order.cancel_reason),
    ("Mutation.orderRefundRequest", "reason"): column(m.Refund.reason),
    ("Mutation.refundReject", "reason"): column(m.Refund.reject_reason),
    ("AdminOrderFilter", "number"): column(m.Order.number),
    ("ExportLinkInput", "status"): Limit(40),  # an enum value's name
    ("ShipmentInput", "carrier"): column(m.Shipment.carrier),
    ("ShipmentInput", "trackingNumber"): column(m.Shipment.tracking_number),
    ("ParcelShipInput", "carrier"): column(m.Shipment.carrier),
    ("ParcelShipInput", "trackingNumber"): column(m.Shipment.tracking_number),
    # members
    ("MemberLevelInput", "name"): column(m.MemberLevel.name),
    ("MemberLevelInput", "benefits"): BENEFITS,
    ("Mutation.customerLevelOverride", "reason"): column(m.MemberAccount.override_reason),
    ("Mutation.customerPointsAdjust", "reason"): column(m.MemberAccount.override_reason),
    # red packets
    ("Mutation.redPacketOpen", "token"): column(m.RedPacket.token),
}
# Strings of other scalars, and any String input missing above (the completeness test keeps
# that from happening): IDs are decoded and refused as INVALID_ID when malformed.
SCALAR_LIMITS = {"ID": Limit(1000), "Decimal": Limit(100), "DateTime": Limit(64), "Date": Limit(64)}
GENERIC = Limit(10_000)


def limit_of(owner: str, name: str) -> Limit | None:
    """The limit of an input field or argument; connections' `after`/`before` are cursors."""
    return INPUT_LIMITS.get((owner, name)) or (CURSOR if name in CURSOR_ARGUMENTS else None)


class InputRefused(Exception):
    def __init__(self, path: str, message: str, limit: int | None = None) -> None:
        super().__init__(f"{path}: {message}")
        self.path, self.limit = path, limit


def check_inputs(
    schema: GraphQLSchema, query: str, operation: str | None, variables: dict[str, Any] | None
) -> None:
    """Raise InputRefused for the first unacceptable input of the operation."""
    plan = _plan(schema, query, operation)
    if plan is None:
        return
    if plan.refusal is not None:
        raise plan.refusal
    if variables:
        for name, type_, limit in plan.variables:
            value = variables.get(name)
            if value is not None:
                check_value(value, type_, limit, name)


def check_value(value: Any, type_: Any, limit: Limit | None, path: str) -> None:
    """A variable's value (JSON, before coercion) against its declared type. A value that
    does not fit the type is left to coercion, which refuses it before anything runs."""
    if isinstance(type_, GraphQLNonNull):  # isinstance, not graphql's helpers: the hot path
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        if not isinstance(value, list):  # coercion makes a single value a list of one
            check_value(value, type_.of_type, limit.item() if limit else None, path)
            return
        if limit is not None and limit.items is not None and len(value) > limit.items:
            raise InputRefused(path, f"at most {limit.items} items.", limit.items)
        inner = limit.item() if limit else None
        for i, item in enumerate(value):
            if item is not None:
                check_value(item, type_.of_type, inner, f"{path}.{i}")
    elif isinstance(type_, GraphQLInputObjectType):
        if isinstance(value, dict):
            fields, owner = type_.fields, type_.name
            for key, item in value.items():
                field = fields.get(key)
                if field is not None and item is not None:
                    check_value(item, field.type, limit_of(owner, key), f"{path}.{key}")
    elif isinstance(value, str):
        check_string(value, type_, limit, path)
    elif type_.name == "Decimal" and isinstance(value, int | float):
        _check_decimal(str(value), path)


def check_string(value: str, type_: GraphQLNamedType, limit: Limit | None, path: str) -> None:
    found = REFUSED_CHARACTERS.search(value)
    if found is not None:
        raise InputRefused(
            path,
            f"control character U+{ord(found.group()):04X} is not "
            "accepted (tab, newline and carriage return are).",
        )
    bound = (limit or SCALAR_LIMITS.get(type_.name, GENERIC)).chars
    if len(value) > bound:
        raise InputRefused(path, f"at most {bound} characters.", bound)
    if type_.name == "Decimal":
        _check_decimal(value, path)


def _check_decimal(text: str, path: str) -> None:
    try:
        amount = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return  # not a number: the services answer INVALID_PRICE where it is read
    if amount.is_finite() and amount and abs(amount.adjusted()) > MAX_DECIMAL_EXPONENT:
        raise InputRefused(path, f"the exponent must be within ±{MAX_DECIMAL_EXPONENT}.")


# --- the document's part, worked out once per text ---------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    refusal: InputRefused | None
    variables: tuple[tuple[str, GraphQLInputType, Limit | None], ...]  # name, type, use


@lru_cache(maxsize=1024)
def _plan(schema: GraphQLSchema, query: str, operation: str | None) -> _Plan | None:
    """None when there is nothing to check here (a syntax error, no such operation):
    execution answers those."""
    try:
        document = parse_document(query)
    except QueryTooComplex:
        return None
    if document is None:
        return None
    chosen = [
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        and (operation is None or (d.name is not None and d.name.value == operation))
    ]
    if len(chosen) != 1:
        return None
    fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    literals = _Literals(schema)
    try:
        for definition in (chosen[0], *fragments):
            visit(definition, TypeInfoVisitor(literals.type_info, literals))
    except InputRefused as refused:
        return _Plan(refused, ())
    declared = tuple(
        (name, type_, literals.uses.get(name)) for name, type_ in literals.declared.items()
    )
    return _Plan(None, declared)


class _Literals(Visitor):
    """Checks every literal argument value and default; notes each variable's declared type
    and the tightest limit among the places it is used."""

    def __init__(self, schema: GraphQLSchema) -> None:
        super().__init__()
        self.schema, self.type_info = schema, TypeInfo(schema)
        self.declared: dict[str, GraphQLInputType] = {}
        self.uses: dict[str, Limit] = {}
        self.fields: list[str] = []  # the names of the fields being walked, innermost last

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        self.fields.append(node.name.value)

    def leave_field(self, *_: Any) -> None:
        self.fields.pop()

    def enter_variable_definition(self, node: VariableDefinitionNode, *_: Any) -> Any:
        type_ = type_from_ast(self.schema, node.type)
        if type_ is not None:  # an unknown type: validation refuses it
            name = node.variable.name.value
            self.declared[name] = type_  # type: ignore[assignment]
            if node.default_value is not None:
                self._value(node.default_value, type_, None, name)
        return SKIP

    def enter_argument(self, node: ArgumentNode, *_: Any) -> Any:
        argument = self.type_info.get_argument()
        if argument is None:
            return SKIP  # unknown: validation refuses it
        directive = self.type_info.get_directive()
        parent = getattr(self.type_info.get_parent_type(), "name", "?")
        owner = f"@{directive.name}" if directive else f"{parent}.{self.fields[-1]}"
        name = node.name.value
        self._value(node.value, argument.type, limit_of(owner, name), name)
        return SKIP

    def _value(self, node: ValueNode, type_: Any, limit: Limit | None, path: str) -> None:
        if isinstance(node, VariableNode):
            if limit is not None:
                name = node.name.value
                known = self.uses.get(name)
                self.uses[name] = (
                    limit
                    if known is None
                    else Limit(min(known.chars, limit.chars), _fewer(known.items, limit.items))
                )
            return
        type_ = get_nullable_type(type_)
        if is_list_type(type_):
            self._list(node, type_, limit, path)
        elif is_input_object_type(type_):
            if isinstance(node, ObjectValueNode):
                for item in node.fields:
                    field = type_.fields.get(item.name.value)
                    if field is not None:
                        key = item.name.value
                        self._value(
                            item.value, field.type, limit_of(type_.name, key), f"{path}.{key}"
                        )
        elif isinstance(node, StringValueNode):
            check_string(node.value, type_, limit, path)
        elif isinstance(node, IntValueNode | FloatValueNode) and type_.name == "Decimal":
            _check_decimal(node.value, path)

    def _list(self, node: ValueNode, type_: Any, limit: Limit | None, path: str) -> None:
        inner = limit.item() if limit else None
        if not isinstance(node, ListValueNode):
            self._value(node, type_.of_type, inner, path)
            return
        if limit is not None and limit.items is not None and len(node.values) > limit.items:
            raise InputRefused(path, f"at most {limit.items} items.", limit.items)
        for i, item in enumerate(node.values):
            self._value(item, type_.of_type, inner, f"{path}.{i}")


def _fewer(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)
