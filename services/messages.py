"""What the API says to people, in zh-CN and en: the message catalog.

A service states a refusal or a pricing note as a `Message` — a catalog key with its
parameters — and the API says it in the request's language at the edge (`say`). A `Message`
is also the English text itself (a `str`), so logs, exceptions and code that only compares
texts keep working unchanged.

Two tables, one line per entry:

- ERROR_TEXTS: every ErrorCode's general text. A refusal given as a plain English string (no
  key) is answered with it in Chinese; in English with that string.
- MESSAGES: keyed texts with `{params}`: the customer-facing refusals whose details matter
  (amounts, limits, names) and every cart notice / pricing explanation.

tests/unit/test_messages.py fails for an ErrorCode without both texts, for a key the code
uses that is not here, and for templates whose two languages take different parameters."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Language(StrEnum):
    ZH_CN = "zh-CN"
    EN = "en"


@dataclass(frozen=True, slots=True)
class Text:
    zh_cn: str
    en: str

    def in_(self, language: Language) -> str:
        return self.zh_cn if language == Language.ZH_CN else self.en


# Every ErrorCode (services/errors.py), by its value. Adding a code: one line here.
ERROR_TEXTS: dict[str, Text] = {
    "INVALID_INPUT": Text("输入有误，请检查后重试。", "Invalid input."),
    "NOT_FOUND": Text("找不到该对象。", "Not found."),
    "INVALID_ID": Text("ID 无效。", "Invalid ID."),
    "DUPLICATE_NAME": Text("名称已被使用。", "This name is already used."),
    "INVALID_PRICE": Text("金额无效。", "Invalid amount."),
    "INVALID_URL": Text("链接无效。", "Invalid URL."),
    "CATEGORY_TOO_DEEP": Text("类目层级过深。", "The category tree is too deep."),
    "CATEGORY_NOT_LEAF": Text("请选择末级类目。", "Choose a leaf category."),
    "CATEGORY_HAS_PRODUCTS": Text("该类目下还有商品。", "The category has products."),
    "CATEGORY_HAS_CHILDREN": Text("该类目下还有子类目。", "The category has subcategories."),
    "CATEGORY_CYCLE": Text("类目不能成为自己的下级。", "A category cannot be its own descendant."),
    "BRAND_IN_USE": Text("该品牌仍有商品在用。", "The brand is used by products."),
    "MISSING_REQUIRED_ATTRIBUTE": Text("缺少必填属性。", "A required attribute is missing."),
    "INVALID_ATTRIBUTE": Text("属性无效。", "Invalid attribute."),
    "INVALID_ATTRIBUTE_VALUE": Text("属性值无效。", "Invalid attribute value."),
    "SKU_SPEC_MISMATCH": Text("SKU 规格与商品不符。", "The SKU's specs do not match the product."),
    "DUPLICATE_SKU_SPEC": Text("SKU 规格重复。", "Two SKUs have the same specs."),
    "DUPLICATE_SKU_CODE": Text("SKU 编码重复。", "This SKU code is already used."),
    "NO_SKUS": Text("商品至少需要一个 SKU。", "A product needs at least one SKU."),
    "MERCHANT_MISMATCH": Text("不属于同一商家。", "They belong to different merchants."),
    "INVALID_STATUS_TRANSITION": Text("当前状态下不能这样操作。", "Not possible in this status."),
    "INVALID_SCHEDULE": Text("时间设置无效。", "Invalid schedule."),
    "PRODUCT_IN_USE": Text("该商品仍在使用中。", "The product is in use."),
    "INSUFFICIENT_STOCK": Text("库存不足。", "Not enough stock."),
    "RESERVATION_CLOSED": Text("库存预占已结束。", "The reservation is closed."),
    "OVER_RECEIPT": Text("收货数量超过采购数量。", "More than was ordered."),
    "STOCKTAKE_IN_PROGRESS": Text("该仓库正在盘点。", "A stocktake is in progress."),
    "SKU_NOT_IN_STOCKTAKE": Text("该 SKU 不在本次盘点中。", "The SKU is not in this stocktake."),
    "SECOND_APPROVER_REQUIRED": Text("需由另一位员工审核。", "Another staff member must approve."),
    "PROMOTION_CONFLICT": Text("与其他活动冲突。", "It conflicts with another promotion."),
    "INVALID_RULE": Text("活动规则无效。", "Invalid rule."),
    "INVALID_QUANTITY": Text("数量无效。", "Invalid quantity."),
    "PROMOTION_NOT_APPLICABLE": Text("该活动不适用。", "The promotion does not apply."),
    "PRODUCT_UNAVAILABLE": Text("该商品已下架或暂不可售。", "This product is not on sale."),
    "COUPON_SOLD_OUT": Text("优惠券已领完。", "The coupons are all gone."),
    "COUPON_LIMIT_REACHED": Text("已达领取上限。", "The limit per customer is reached."),
    "COUPON_NOT_CLAIMABLE": Text("该优惠券现在不可领取。", "This coupon cannot be claimed now."),
    "COUPON_UNUSABLE": Text("优惠券不可用。", "A coupon is not usable."),
    "AUDIENCE_MISMATCH": Text("您的账户不符合领取条件。", "Not for this account."),
    "INVALID_CODE": Text("兑换码无效。", "No such code."),
    "CODE_ALREADY_USED": Text("兑换码已被使用。", "This code was already redeemed."),
    "EMPTY_CHECKOUT": Text("请至少选择一件可购买的商品。", "Nothing to check out."),
    "PRICE_CHANGED": Text("价格已变化，请确认后重新提交。", "The price changed."),
    "IDEMPOTENCY_KEY_REUSED": Text("请求标识已被其他请求使用。", "The idempotency key was reused."),
    "PROMOTION_SOLD_OUT": Text("活动库存已抢光。", "The offer sold out."),
    "INVALID_ORDER_STATE": Text(
        "订单当前状态下不能这样操作。", "Not possible in the order's status."
    ),
    "INVALID_REFUND_STATE": Text(
        "退款当前状态下不能这样操作。", "Not possible in the refund's status."
    ),
    "INVALID_SHIPMENT": Text("发货信息有误。", "Invalid shipment."),
    "PAYMENT_AMOUNT_MISMATCH": Text("支付金额不符。", "The amount does not match."),
    "PAYMENT_ALREADY_PAID": Text("该笔订单已支付。", "Already paid."),
    "PAYMENT_CLOSED": Text("该笔支付已关闭。", "The payment is closed."),
    "PRESALE_ALONE": Text("预售商品请单独结算。", "Check out a presale on its own."),
    "TRY_AGAIN": Text("系统繁忙，请稍后重试。", "Busy: try again."),
    "BALANCE_NOT_DUE": Text("尚未到尾款支付时间。", "The balance is not due."),
    "PAYMENT_PROVIDER_DISABLED": Text("该支付方式不可用。", "This payment method is off."),
    "PROVIDER_UNAVAILABLE": Text(
        "支付渠道暂时不可用，请稍后重试。", "The provider is unavailable."
    ),
    "PROVIDER_REFUSED": Text("支付渠道拒绝了该请求。", "The provider refused."),
    "DUPLICATE_TRANSACTION": Text(
        "该交易已用于其他支付。", "The transaction paid another payment."
    ),
    "REFUND_EXCEEDS_CAPTURED": Text("退款金额超过实付金额。", "More than was paid."),
    "DUPLICATE_ACCOUNT": Text("该账号已注册。", "An account already exists."),
    "WEAK_PASSWORD": Text(
        "密码需为 8–128 个字符，且至少包含一个字母和一个数字。",
        "Use 8–128 characters with at least one letter and one digit.",
    ),
    "INVALID_EMAIL": Text("邮箱地址无效。", "Not a valid email address."),
    "INVALID_PHONE": Text("手机号无效。", "Not a valid phone number."),
    "INVALID_POSTAL_CODE": Text("邮政编码为六位数字。", "A postal code has six digits."),
    "INVALID_CREDENTIALS": Text("账号或密码错误。", "Wrong login or password."),
    "LOGIN_LOCKED": Text("登录失败次数过多，请稍后再试。", "Too many failed logins."),
    "INVALID_TOKEN": Text("登录已失效，请重新登录。", "Invalid or expired token."),
    "TOKEN_REUSED": Text("登录凭证已被使用，请重新登录。", "The token was already used."),
    "INVALID_PERMISSION": Text("权限无效。", "Invalid permission."),
    "FORBIDDEN": Text("没有权限执行此操作。", "Not allowed."),
    "ROLE_IN_USE": Text("该角色仍有员工在用。", "The role is held by staff."),
    "INSUFFICIENT_POINTS": Text("积分不足。", "Not enough points."),
    "POINTS_UNUSABLE": Text("积分不可用于此订单。", "Points cannot be used here."),
    "LEVEL_ORDER": Text("会员等级顺序有误。", "Levels are out of order."),
    "LEVEL_IN_USE": Text("该会员等级仍在使用中。", "The level is in use."),
    "ADD_ON_MUST_RETURN": Text(
        "退掉这些商品后换购条件不再满足，请把换购商品一并退回。",
        "Without these items the add-on offer no longer holds: return the add-on items too.",
    ),
    "ADD_ON_LIMIT_EXCEEDED": Text("超出换购件数上限。", "More add-on units than the offer allows."),
    "COUPON_IN_PAYMENT": Text(
        "该优惠券所在的订单正在支付中，请稍后再试。",
        "The order holding this coupon is being paid: try again shortly.",
    ),
    "RED_PACKET_OWN": Text("不能领取自己分享的红包。", "You cannot open your own red packet."),
    "RED_PACKET_EXPIRED": Text("红包已过期。", "This red packet has expired."),
    "RED_PACKET_EMPTY": Text("红包已被领完。", "This red packet is empty."),
    "RED_PACKET_ALREADY_OPENED": Text(
        "您已领取过这个红包。", "You opened this red packet already."
    ),
    "RED_PACKET_DAILY_LIMIT": Text(
        "今天领取红包的次数已达上限。", "Today's red packet limit is reached."
    ),
    "INSUFFICIENT_RED_PACKETS": Text("红包余额不足。", "Not enough red packet balance."),
    "RED_PACKETS_UNUSABLE": Text("红包不可用于此订单。", "Red packets cannot be used here."),
}

# Keyed texts with parameters. The English ones are the API's texts of before (tests and
# clients compare them); `{name}`-style placeholders only.
MESSAGES: dict[str, Text] = {
    # cart notices and pricing explanations (services/pricing.py, schema/cart.py)
    "notice.over_limit": Text(
        "{units}件超出「{promotion}」限购，按原价计",
        "{units} unit(s) over the limit of {promotion} at full price",
    ),
    "notice.over_stock": Text(
        "{units}件超出「{promotion}」活动库存，按原价计",
        "{units} unit(s) beyond the {promotion} stock at full price",
    ),
    "notice.only_left": Text("仅剩{units}件", "Only {units} left"),
    "notice.add_on_over_limit": Text(
        "{units}件超出「{tag}」换购上限，按原价计",
        "{units} unit(s) over the {tag} limit at full price",
    ),
    "notice.add_on_locked": Text(
        "活动商品再买¥{amount}即可换购", "Spend ¥{amount} more on the offer's goods to add this"
    ),
    "notice.add_on_unavailable": Text("该换购活动已失效", "This add-on offer is not available"),
    "notice.unavailable": Text("商品已失效", "No longer available"),
    "pricing.bundle_sets": Text("{tag} × {sets}", "{tag} × {sets}"),
    "pricing.applied": Text("已享{tag}：−{amount}", "{tag} applied: −{amount}"),
    "pricing.add_more": Text("再买{amount}元可享{tag}", "Add {amount} more for {tag}"),
    "pricing.gift_out_of_stock": Text(
        "赠品{gift}库存不足（{units}件未赠送）", "Gift {gift} out of stock ({units} not given)"
    ),
    "pricing.coupon_applied": Text("优惠券{coupon}：−{amount}", "Coupon {coupon}: −{amount}"),
    # why a coupon of the customer does not apply to this cart (services/cart.py)
    "coupon.below_threshold": Text("再买¥{amount}可用", "Spend ¥{amount} more to use it"),
    "coupon.out_of_scope": Text("购物车中没有适用商品", "No item in the cart is eligible"),
    "coupon.no_discount": Text("没有可优惠的金额", "Nothing to discount"),
    "coupon.not_yet_valid": Text("尚未到使用时间", "Not valid yet"),
    "coupon.expired": Text("已过期", "Expired"),
    "coupon.audience": Text("您的账户不可使用", "Not for this account"),
    "coupon.not_yours": Text("不是您可用的优惠券", "It is not one of your usable coupons"),
    # customer-facing refusals
    "cart.not_found": Text("购物车不存在。", "Cart not found."),
    "cart.line_quantity": Text("每件商品可买1至{most}件。", "A line holds 1 to {most} units."),
    "cart.too_many_lines": Text("购物车最多放{most}种商品。", "A cart holds at most {most} lines."),
    "cart.not_on_sale": Text("该商品已下架或暂不可售。", "This product is not on sale."),
    "cart.no_such_line": Text("购物车中没有这件商品。", "No such line in this cart."),
    "cart.not_a_choice": Text(
        "该商品不能参加这个活动。", "That promotion is not one of this line's choices."
    ),
    "order.add_on_must_return": Text(
        "退掉这些商品后不再满足「{promotion}」的换购条件，请把换购商品一并退回。",
        "Without these items {promotion} no longer holds: return its add-on items too.",
    ),
    "checkout.log_in": Text(
        "请先登录：登录后游客购物车会合并到您的购物车。",
        "Log in first: a guest cart merges into yours when you do.",
    ),
    "checkout.empty": Text(
        "请至少选择一件可购买的商品再结算。", "Select at least one available line to check out."
    ),
    "checkout.one_coupon_each": Text(
        "每单最多使用一张平台券，每个商家最多一张店铺券。",
        "Use at most one platform coupon and one coupon per merchant.",
    ),
    "checkout.coupon_unusable": Text("优惠券不可用：{why}。", "{why}."),
    "checkout.price_changed": Text(
        "订单金额已变为¥{total}，请确认后重新提交。",
        "The total is now ¥{total}; review and confirm again.",
    ),
    "checkout.presale_alone": Text(
        "预售商品请单独结算：请取消勾选其他商品。",
        "Check out a presale on its own: deselect the other lines.",
    ),
    "checkout.offer_sold_out": Text(
        "{title}的活动刚刚抢光，价格已变化。",
        "The offer on {title} just sold out; the price has changed.",
    ),
    "coupon.claim_audience": Text(
        "该优惠券不适用于您的账户。", "This coupon is not for this account."
    ),
    "coupon.claim_limit": Text("每人限领{most}张。", "At most {most} per customer."),
    "coupon.claim_sold_out": Text("本批优惠券已领完。", "All coupons of this batch are gone."),
    "coupon.not_claimable": Text("该优惠券现在不可领取。", "This coupon cannot be claimed now."),
    "coupon.no_such_code": Text("兑换码不存在。", "No such code."),
    "coupon.batch_withdrawn": Text("该批优惠券已停止发放。", "This batch was withdrawn."),
    "coupon.code_used": Text("兑换码已被使用。", "This code was already redeemed."),
    "coupon.no_longer_usable": Text("有优惠券已不可用。", "A coupon is no longer usable."),
    "account.login_locked": Text(
        "登录失败次数过多，请{minutes}分钟后再试。",
        "Too many failed logins. Try again in {minutes} minute(s).",
    ),
    "account.wrong_login": Text("账号或密码错误。", "Wrong login or password."),
    "account.exists": Text("该{what}已注册。", "An account with this {what} exists."),
    "input.required": Text("此项必填。", "This field is required."),
    "input.too_long": Text("最多{most}个字符。", "Must be at most {most} characters."),
    "stock.not_enough": Text("库存不足，无法下单。", "Not enough stock for this order."),
    "points.over_balance": Text("积分余额不足。", "That is more points than the balance."),
    "points.negative": Text("使用的积分不能为负数。", "Use zero points or more."),
    "order.not_found": Text("订单不存在。", "No such order."),
    "order.cannot": Text(
        "订单{number}当前状态为「{status}」，无法{action}。",
        "Cannot {action}: order {number} is {status}.",
    ),
    "order.refund_instead": Text(
        "订单{number}当前状态为「{status}」，请申请退款。",
        "Order {number} is {status}: ask for a refund instead.",
    ),
    "order.not_paid_in_time": Text(
        "订单{number}已超时未支付。", "Order {number} was not paid in time."
    ),
    "order.refund_units": Text(
        "该商品还可退1至{most}件。",
        "Between 1 and {most} unit(s) of this line can still be refunded.",
    ),
    # words inside messages (`word`): the English word is the text of before
    "word.phone": Text("手机号", "phone"),
    "word.email": Text("邮箱", "email"),
    "word.pay": Text("支付", "pay"),
    "word.cancel before payment": Text("取消", "cancel before payment"),
    "word.cancel after payment": Text("取消", "cancel after payment"),
    "word.ship": Text("发货", "ship"),
    "word.confirm receipt": Text("确认收货", "confirm receipt"),
    "word.request a refund": Text("申请退款", "request a refund"),
    "word.decide a refund": Text("处理退款", "decide a refund"),
    "word.PENDING_PAYMENT": Text("待付款", "PENDING_PAYMENT"),
    "word.AWAITING_BALANCE": Text("待付尾款", "AWAITING_BALANCE"),
    "word.PAID": Text("已付款", "PAID"),
    "word.PARTIALLY_SHIPPED": Text("部分发货", "PARTIALLY_SHIPPED"),
    "word.SHIPPED": Text("已发货", "SHIPPED"),
    "word.COMPLETED": Text("已完成", "COMPLETED"),
    "word.CANCELLED": Text("已取消", "CANCELLED"),
    "word.REFUNDED": Text("已退款", "REFUNDED"),
}


class Message(str):
    """A catalog text with its parameters; as a `str` it is the English text."""

    key: str
    params: Mapping[str, object]

    def __new__(cls, key: str, params: Mapping[str, object]) -> Message:
        text = super().__new__(cls, _fill(_template(key, Language.EN), params, Language.EN))
        text.key, text.params = key, dict(params)
        return text


def message(key: str, **params: object) -> Message:
    """The catalog text `key` with `params` (a key missing from MESSAGES says itself: the
    completeness test names it)."""
    return Message(key, params)


def word(text: str) -> str:
    """A word inside a message — a field, an action, a status — said in the request's
    language when the catalog has it (key `word.<text>`), else as it is."""
    key = f"word.{text}"
    return Message(key, {}) if key in MESSAGES else text


def say(text: str, language: Language, code: str | None = None) -> str:
    """`text` in `language`: a Message from its template; a plain (English) text as it is in
    English, and as its error code's general text in Chinese."""
    if isinstance(text, Message):
        return _fill(_template(text.key, language), text.params, language)
    if language == Language.EN or code is None or code not in ERROR_TEXTS:
        return text
    return ERROR_TEXTS[code].in_(language)


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _template(key: str, language: Language) -> str:
    found = MESSAGES.get(key)
    return found.in_(language) if found is not None else key


def _fill(template: str, params: Mapping[str, object], language: Language) -> str:
    """Parameters are data (names, amounts, counts): put in verbatim, never formatted as
    templates themselves; a nested Message (a `word`, a reason) is said in the language too."""
    values = {
        name: say(value, language) if isinstance(value, Message) else value
        for name, value in params.items()
    }
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError):  # a template and its call disagree: say it raw
        return template
