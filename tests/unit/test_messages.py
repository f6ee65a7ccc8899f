"""The message catalog (services/messages.py) is complete: every ErrorCode and every key the
code says has a zh-CN and an en text taking the same parameters. A failure here names the
code or key to translate: add one line to ERROR_TEXTS or MESSAGES."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.cart import REASON_TEXT
from services.errors import DomainError
from services.errors import ErrorCode
from services.messages import ERROR_TEXTS
from services.messages import MESSAGES
from services.messages import Language
from services.messages import Message
from services.messages import message
from services.messages import placeholders
from services.messages import say
from services.messages import word
from services.orders import ACTIONS
from services.orders import OrderStatus
from web.language import MAX_TAGS
from web.language import language_of

ROOT = Path(__file__).resolve().parents[2]
SAID = re.compile(r"""\bmessage\(\s*["']([\w.]+)["']""")


def keys_in_code() -> dict[str, str]:
    """Every literal key passed to `message(...)` in the application, with where."""
    found: dict[str, str] = {}
    for folder in ("services", "resolvers", "schema", "web", "core"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for key in SAID.findall(path.read_text(encoding="utf-8")):
                found.setdefault(key, str(path.relative_to(ROOT)))
    return found


def test_every_error_code_has_both_languages() -> None:
    missing = [c.value for c in ErrorCode if c.value not in ERROR_TEXTS]
    assert not missing, f"add to services/messages.py ERROR_TEXTS: {missing}"
    stale = sorted(set(ERROR_TEXTS) - {c.value for c in ErrorCode})
    assert not stale, f"ERROR_TEXTS names codes that do not exist: {stale}"
    empty = [k for k, t in ERROR_TEXTS.items() if not (t.zh_cn.strip() and t.en.strip())]
    assert not empty, empty


def test_every_key_the_code_says_has_both_languages() -> None:
    used = keys_in_code()
    assert len(used) >= 30  # the scan finds them
    missing = {k: where for k, where in used.items() if k not in MESSAGES}
    assert not missing, f"add to services/messages.py MESSAGES: {missing}"
    unused = sorted(k for k in set(MESSAGES) - set(used) if not k.startswith("word."))
    assert not unused, f"MESSAGES no code says: {unused}"


def test_the_words_messages_name_are_in_both_languages() -> None:
    """`word(...)` keys are made at run time: the order actions and statuses, the login
    fields."""
    words = [*ACTIONS, *(s.value for s in OrderStatus), "phone", "email"]
    missing = [w for w in words if not isinstance(word(w), Message)]
    assert not missing, f"add word.<w> to services/messages.py MESSAGES: {missing}"
    status = message(
        "order.cannot", action=word("confirm receipt"), number="N1", status=word("PAID")
    )
    assert status == "Cannot confirm receipt: order N1 is PAID."
    assert say(status, Language.ZH_CN) == "订单N1当前状态为「已付款」，无法确认收货。"
    assert word("not a word") == "not a word"


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_both_templates_take_the_same_parameters(key: str) -> None:
    text = MESSAGES[key]
    assert text.zh_cn.strip() and text.en.strip()
    assert placeholders(text.zh_cn) == placeholders(text.en), key
    assert not re.search(r"[\u4e00-\u9fff]", text.en), f"{key}: Chinese in the English text"


def test_a_message_is_its_english_text_and_says_itself_in_chinese() -> None:
    note = message("pricing.add_more", amount="20", tag="满300减30")
    assert note == "Add 20 more for 满300减30" and isinstance(note, str)
    assert say(note, Language.EN) == "Add 20 more for 满300减30"
    assert say(note, Language.ZH_CN) == "再买20元可享满300减30"
    # parameters are data: braces in a name are not a template
    odd = message("pricing.coupon_applied", coupon="{amount}", amount="5")
    assert say(odd, Language.ZH_CN) == "优惠券{amount}：−5"
    # a nested message and a word are said in the same language
    why = message("checkout.coupon_unusable", why=message("coupon.expired"))
    assert (say(why, Language.EN), say(why, Language.ZH_CN)) == (
        "Expired.",
        "优惠券不可用：已过期。",
    )
    exists = message("account.exists", what=word("phone"))
    assert (exists, say(exists, Language.ZH_CN)) == (
        "An account with this phone exists.",
        "该手机号已注册。",
    )


def test_a_plain_refusal_is_english_as_written_and_chinese_by_its_code() -> None:
    error = DomainError(ErrorCode.DUPLICATE_NAME, "Brand 'Nike' already exists.", "name")
    violation = error.violations[0]
    assert say(violation.message, Language.EN, violation.code) == "Brand 'Nike' already exists."
    assert say(violation.message, Language.ZH_CN, violation.code) == "名称已被使用。"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, Language.ZH_CN),
        ("", Language.ZH_CN),
        ("zh-CN", Language.ZH_CN),
        ("zh", Language.ZH_CN),
        ("zh-Hans-CN", Language.ZH_CN),
        ("zh-TW", Language.ZH_CN),  # the only Chinese we have
        ("en", Language.EN),
        ("en-US,en;q=0.9", Language.EN),
        ("EN-gb", Language.EN),
        ("en;q=0.5, zh-CN;q=0.9", Language.ZH_CN),
        ("zh;q=0.4, en;q=0.8", Language.EN),
        ("fr-FR, en;q=0.1, zh;q=0.05", Language.EN),
        ("en, zh", Language.EN),  # a tie: the first
        ("zh;q=0, en;q=0.1", Language.EN),  # q=0: not wanted
        ("en;q=0", Language.ZH_CN),
        ("*", Language.ZH_CN),
        ("de, ja", Language.ZH_CN),  # nothing we speak: the default
        ("en;q=abc", Language.ZH_CN),  # a malformed q ignores the tag
        ("en;q=2", Language.ZH_CN),
        ("en;q=nan", Language.ZH_CN),
        (" en ; q = 0.7 ", Language.EN),
        (",,;,", Language.ZH_CN),
        ("de," * MAX_TAGS + "en", Language.ZH_CN),  # read up to MAX_TAGS tags
    ],
)
def test_accept_language(header: str | None, expected: Language) -> None:
    assert language_of(header, Language.ZH_CN) == expected


def test_the_default_is_the_callers() -> None:
    assert language_of(None, Language.EN) == Language.EN
    assert language_of("*", Language.EN) == Language.EN
    assert language_of("de", Language.EN) == Language.EN
    assert language_of("zh", Language.EN) == Language.ZH_CN
    assert language_of("en;q=0, *", Language.EN) == Language.ZH_CN  # * but not en
    assert language_of("*;q=0.5, en;q=0.5", Language.ZH_CN) == Language.EN  # named first
    assert language_of("en-US;q=0.3, en;q=0.9, zh;q=0.5", Language.ZH_CN) == Language.EN


def test_every_coupon_reason_has_a_text() -> None:
    """Why a coupon does not apply (`UnusableCoupon.code`): each reason the pricing and the
    wallet give is said through services/cart.py REASON_TEXT (BELOW_THRESHOLD with its
    shortfall)."""
    source = "".join(
        (ROOT / "services" / name).read_text(encoding="utf-8") for name in ("pricing.py", "cart.py")
    )
    reasons = set(re.findall(r'CouponOption\([^)]*?"([A-Z_]+)"', source, re.DOTALL))
    reasons |= set(re.findall(r'\breason = "([A-Z_]+)"', source))
    assert {"OUT_OF_SCOPE", "EXPIRED"} <= reasons  # the scan finds them
    missing = sorted(reasons - set(REASON_TEXT) - {"BELOW_THRESHOLD"})
    assert not missing, f"add to services/cart.py REASON_TEXT: {missing}"
    assert all(isinstance(text, Message) for text in REASON_TEXT.values())
