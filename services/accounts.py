"""Accounts (DOMAIN.md §9): customers, addresses, staff and roles, login with JWT access tokens
and rotating refresh tokens, brute-force throttling, and the guest-cart hand-over at login."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import os
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from enum import StrEnum
from typing import Any
from typing import TypeVar

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import null
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core import access
from core.settings import Settings
from models.accounts import Address
from models.accounts import Customer
from models.accounts import LoginThrottle
from models.accounts import RefreshToken
from models.accounts import Role
from models.accounts import Staff
from models.accounts import StaffRole
from models.cart import Cart
from models.cart import CartLine
from models.catalog import Merchant
from models.members import MemberLevel
from services import validation as check
from services.errors import DomainError
from services.errors import ErrorCode
from services.errors import Violations
from services.messages import message
from services.messages import word

T = TypeVar("T")


class Permission(StrEnum):
    MANAGE_CATALOG = "MANAGE_CATALOG"
    MANAGE_INVENTORY = "MANAGE_INVENTORY"
    MANAGE_ORDERS = "MANAGE_ORDERS"
    MANAGE_PROMOTIONS = "MANAGE_PROMOTIONS"
    MANAGE_COUPONS = "MANAGE_COUPONS"
    MANAGE_CMS = "MANAGE_CMS"
    MANAGE_STAFF = "MANAGE_STAFF"
    VIEW_REPORTS = "VIEW_REPORTS"
    MANAGE_CUSTOMERS = "MANAGE_CUSTOMERS"


_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# A hash to verify against when the login is unknown, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("not-a-real-password-1")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
CN_MOBILE = re.compile(r"^(\+?86)?1[3-9]\d{9}$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
POSTAL_CODE = re.compile(r"^\d{6}$")
MAX_CART_QUANTITY = 99


def hash_password(password: str) -> str:
    """Blocking (~0.2–0.5 s of CPU): for the CLI, seeding and tests. Request code awaits
    hash_password_async."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# argon2 is slow on purpose; run on the event loop it would stall every request of the
# worker. A few threads (argon2-cffi releases the GIL) keep the loop free; calls beyond them
# wait in the pool's queue, not in new threads, and a request cancelled while waiting (its
# timeout) is dropped from the queue before it costs anything.
_HASH_THREADS = max(1, min(4, os.cpu_count() or 1))
_hash_pool = ThreadPoolExecutor(max_workers=_HASH_THREADS, thread_name_prefix="argon2")


async def _off_loop(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_hash_pool, fn, *args)


async def hash_password_async(password: str) -> str:
    return await _off_loop(hash_password, password)


async def verify_password_async(password_hash: str, password: str) -> bool:
    return await _off_loop(verify_password, password_hash, password)


def check_password_policy(v: Violations, password: str, field: str = "password") -> None:
    if (
        not (8 <= len(password) <= 128)
        or not re.search(r"[A-Za-z]", password)
        or not re.search(r"\d", password)
    ):
        v.add(
            ErrorCode.WEAK_PASSWORD,
            "Use 8–128 characters with at least one letter and one digit.",
            field,
        )


def normalize_phone(v: Violations, phone: str | None, field: str) -> str | None:
    if phone is None or not phone.strip():
        return None
    cleaned = re.sub(r"[\s-]", "", phone)
    if not (CN_MOBILE.match(cleaned) or E164.match(cleaned)):
        v.add(ErrorCode.INVALID_PHONE, "Give a mainland mobile number or +country number.", field)
        return None
    return cleaned[-11:] if CN_MOBILE.match(cleaned) else cleaned


def normalize_email(v: Violations, email: str | None, field: str) -> str | None:
    if email is None or not email.strip():
        return None
    cleaned = email.strip().lower()
    if len(cleaned) > 254 or not EMAIL.match(cleaned):
        v.add(ErrorCode.INVALID_EMAIL, "Not a valid email address.", field)
        return None
    return cleaned


# --- customers -----------------------------------------------------------------------------------


@dataclass
class Registration:
    name: str
    password: str
    email: str | None = None
    phone: str | None = None


async def register_customer(session: AsyncSession, data: Registration) -> Customer:
    v = Violations()
    name = check.text(v, data.name, "name", max_len=80)
    email = normalize_email(v, data.email, "email")
    phone = normalize_phone(v, data.phone, "phone")
    if not data.email and not data.phone:
        v.add(ErrorCode.INVALID_INPUT, "Give a phone number or an email address.", "phone")
    check_password_policy(v, data.password)
    v.raise_if_any()
    for column, value, field in (
        (Customer.email, email, "email"),
        (Customer.phone, phone, "phone"),
    ):
        if value and await session.scalar(select(func.count()).where(column == value)):
            raise DomainError(
                ErrorCode.DUPLICATE_ACCOUNT, message("account.exists", what=word(field)), field
            )
    customer = Customer(
        name=name,
        email=email,
        phone=phone,
        password_hash=await hash_password_async(data.password),
        # the level a member with no growth holds (services/members.py), 0 if none
        member_level=await session.scalar(
            select(func.coalesce(func.max(MemberLevel.rank), 0)).where(
                MemberLevel.growth_threshold <= 0
            )
        ),
    )
    session.add(customer)
    await session.flush()
    return customer


def _login_column(login: str) -> tuple[Any, str]:
    cleaned = login.strip()
    if "@" in cleaned:
        return Customer.email, cleaned.lower()
    digits = re.sub(r"[\s-]", "", cleaned)
    return Customer.phone, digits[-11:] if CN_MOBILE.match(digits) else digits


# --- throttling ----------------------------------------------------------------------------------
# Every login attempt is counted *before* its password is checked, with one atomic upsert per
# key, and committed at once: however many requests and processes race on one account, at most
# LOGIN_MAX_FAILURES of them get a password checked per window (an address: 4× as many).


@dataclass(frozen=True)
class ThrottleKey:
    key: str  # "login:…", "staff:…" or "ip:…"
    limit: int


THROTTLE_KEY_LENGTH = 300  # login_throttles.key


def _account_key(kind: str, login: str) -> str:
    """The throttle key of a login. One too long for the column (no account has such a login,
    but the attempt still counts) goes by its digest: the whole text could not be stored."""
    key = f"{kind}:{login}"
    if len(key) <= THROTTLE_KEY_LENGTH:
        return key
    digest = hashlib.sha256(login.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{kind}:sha256:{digest}"


def _login_keys(settings: Settings, account_key: str, client: str) -> list[ThrottleKey]:
    return [
        ThrottleKey(account_key, settings.login_max_failures),
        ThrottleKey(f"ip:{client}", settings.login_max_failures * 4),
    ]


def _upsert(session: AsyncSession) -> Any:
    """The dialect's INSERT with ON CONFLICT (PostgreSQL and SQLite both have it)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(LoginThrottle)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(LoginThrottle)


async def _count_attempt(
    session: AsyncSession, key: ThrottleKey, now: datetime, window: timedelta
) -> datetime | None:
    """Count one attempt on `key`; the time it is locked until, if it is. The attempt past
    the limit starts the lock; a lock that ran out, or a count idle for a whole window,
    starts over. All in one statement, so concurrent attempts each see their own count."""
    row = LoginThrottle
    stale = or_(
        row.locked_until <= now, and_(row.locked_until.is_(None), row.updated_at <= now - window)
    )
    lock_until = literal(now + window, row.locked_until.type)
    stmt = _upsert(session).values(key=key.key, failures=1, updated_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[row.key],
        set_={
            "failures": case(
                (stale, 1), (row.failures > key.limit, row.failures), else_=row.failures + 1
            ),
            "locked_until": case(
                (stale, null()),
                (and_(row.locked_until.is_(None), row.failures >= key.limit), lock_until),
                else_=row.locked_until,
            ),
            "updated_at": now,
        },
    ).returning(row.locked_until)
    locked_until: datetime | None = await session.scalar(stmt)
    return locked_until if locked_until is not None and locked_until > now else None


async def count_login_attempt(
    session: AsyncSession, keys: list[ThrottleKey], now: datetime, window: timedelta
) -> None:
    """Count the attempt on every key and commit it, then refuse if any key is locked."""
    locks = [until for key in keys if (until := await _count_attempt(session, key, now, window))]
    # The one commit inside a unit of work, on purpose: a refused login rolls the unit back,
    # and the count must outlive that (else guessing costs nothing).
    await session.commit()
    if locks:
        minutes = max(1, math.ceil((max(locks) - now).total_seconds() / 60))
        raise DomainError(
            ErrorCode.LOGIN_LOCKED,
            message("account.login_locked", minutes=minutes),
            "login",
        )


async def forgive_login_attempt(session: AsyncSession, keys: list[ThrottleKey]) -> None:
    """A successful login: the account starts over (unless a concurrent attempt locked it
    meanwhile), and the address gets back the attempt it spent; rows left at zero go, so
    addresses that only ever log in leave nothing behind."""
    account, *others = keys
    unlocked = LoginThrottle.locked_until.is_(None)
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == account.key, unlocked))
    for key in others:
        await session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == key.key, LoginThrottle.failures > 0, unlocked)
            .values(failures=LoginThrottle.failures - 1)
        )
        await session.execute(
            delete(LoginThrottle).where(
                LoginThrottle.key == key.key, LoginThrottle.failures <= 0, unlocked
            )
        )


# --- tokens --------------------------------------------------------------------------------------


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    subject: str


def access_token(
    settings: Settings, subject: str, now: datetime, claims: dict[str, Any] | None = None
) -> str:
    payload = {
        "sub": subject,
        "iat": int(now.timestamp()),
        "typ": "access",
        "exp": int((now + timedelta(minutes=settings.access_token_minutes)).timestamp()),
        **(claims or {}),
    }
    return jwt.encode(payload, settings.jwt_secret, algorithm="HS256")


def decode_access_token(settings: Settings, token: str, now: datetime) -> dict[str, Any] | None:
    """The claims of a valid, unexpired access token; None otherwise."""
    claims = _verified(settings.jwt_secret, token)
    if claims is None or claims.get("typ") != "access" or claims["exp"] <= now.timestamp():
        return None
    return dict(claims)


_VERIFIED: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
_VERIFIED_KEPT = 4096


def _verified(secret: str, token: str) -> dict[str, Any] | None:
    """A token's claims once its signature is checked (None: not a good token now). The same
    text under the same secret always verifies alike, so a client's good token is checked
    once, not on every request (a refused one is checked again: it may be good later, e.g.
    not yet valid); expiry is checked by the caller at each use."""
    key = (secret, token)
    claims = _VERIFIED.get(key)
    if claims is not None:
        _VERIFIED.move_to_end(key)
        return claims
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"verify_exp": False, "require": ["sub", "exp"]},
        )
    except jwt.PyJWTError:
        return None
    # kept for other requests: nested lists become tuples, so no caller can change them
    claims = {k: tuple(v) if isinstance(v, list) else v for k, v in claims.items()}
    _VERIFIED[key] = claims
    if len(_VERIFIED) > _VERIFIED_KEPT:
        _VERIFIED.popitem(last=False)
    return claims


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def _issue_refresh(
    session: AsyncSession, settings: Settings, subject: str, family: str, now: datetime
) -> str:
    secret = secrets.token_urlsafe(32)
    row = RefreshToken(
        family=family,
        subject=subject,
        secret_hash=_digest(secret),
        issued_at=now,
        expires_at=now + timedelta(days=settings.refresh_token_days),
    )
    session.add(row)
    await session.flush()
    return f"{row.id}.{secret}"


async def _claims_for(session: AsyncSession, subject: str) -> dict[str, Any]:
    """Staff tokens carry their permissions, merchant and token version, so an admin request
    needs no database read to authorize; a change to what they may do moves the version and
    the token is refused at its next request (core/access.py)."""
    kind, _, raw_id = subject.partition(":")
    if kind != "staff":
        return {}
    # The version is read before the permissions: a role change committing in between then
    # yields a token already too old, never new version with old permissions.
    staff = await session.get(Staff, int(raw_id))
    if staff is None or not staff.is_active:
        raise DomainError(ErrorCode.INVALID_TOKEN, "This account is disabled.", "refreshToken")
    version = staff.token_version
    permissions = await staff_permissions(session, staff.id)
    return {"perms": sorted(permissions), "mid": staff.merchant_id, "ver": version}


async def issue_tokens(
    session: AsyncSession, settings: Settings, subject: str, now: datetime
) -> Tokens:
    claims = await _claims_for(session, subject)
    refresh = await _issue_refresh(session, settings, subject, secrets.token_hex(16), now)
    return Tokens(access_token(settings, subject, now, claims), refresh, subject)


# "<id>.<secret>": ASCII digits (a BIGINT id) and token_urlsafe characters, nothing else.
_PRESENTED = re.compile(r"([0-9]{1,19})\.([A-Za-z0-9_-]{1,128})")
_MAX_ID = 2**63 - 1
# Compared against when the id is unknown, so an unknown id costs what a wrong secret does.
_NO_DIGEST = "0" * 64


def _invalid_token() -> DomainError:
    return DomainError(ErrorCode.INVALID_TOKEN, "Invalid or expired refresh token.", "refreshToken")


async def _presented_token(session: AsyncSession, presented: str) -> RefreshToken:
    """The row of a refresh token whose secret matches, checked in constant time before
    anything else happens. A malformed token, an unknown id and a wrong secret are all the
    same INVALID_TOKEN: the answer never tells which part was wrong."""
    match = _PRESENTED.fullmatch(presented)
    if match is None or int(match[1]) > _MAX_ID:
        raise _invalid_token()
    row = await session.get(RefreshToken, int(match[1]))
    expected = row.secret_hash if row is not None else _NO_DIGEST
    if not hmac.compare_digest(expected, _digest(match[2])) or row is None:
        raise _invalid_token()
    return row


async def refresh_tokens(
    session: AsyncSession, settings: Settings, presented: str, now: datetime
) -> Tokens:
    """Rotate: the presented token is spent and a new pair issued. A spent token presented
    again (with its secret) means it leaked: the whole family is revoked and the caller must
    log in again."""
    row = await _presented_token(session, presented)
    if row.used_at is not None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family == row.family, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        await session.commit()  # the revocation must stick although the request fails
        raise DomainError(
            ErrorCode.TOKEN_REUSED,
            "This refresh token was already used; log in again.",
            "refreshToken",
        )
    if row.revoked_at is not None or row.expires_at <= now:
        raise _invalid_token()
    row.used_at = now
    claims = await _claims_for(session, row.subject)
    refresh = await _issue_refresh(session, settings, row.subject, row.family, now)
    return Tokens(access_token(settings, row.subject, now, claims), refresh, row.subject)


async def revoke_family_of(session: AsyncSession, presented: str, now: datetime) -> None:
    """Log out: revoke the token's whole login. Only the holder of the secret may; anything
    else is INVALID_TOKEN, exactly as tokenRefresh answers it."""
    row = await _presented_token(session, presented)
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == row.family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def _login(
    session: AsyncSession,
    settings: Settings,
    keys: list[ThrottleKey],
    find: Any,
    password: str,
    now: datetime,
) -> Any:
    """The throttled password check shared by customers and staff: the attempt is counted
    first; an unknown login costs a hash check too, so timing does not reveal accounts."""
    await count_login_attempt(session, keys, now, timedelta(minutes=settings.login_lock_minutes))
    account = await session.scalar(find)
    ok = await verify_password_async(account.password_hash if account else _DUMMY_HASH, password)
    if not ok or account is None or not getattr(account, "is_active", True):
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, message("account.wrong_login"), "login")
    await forgive_login_attempt(session, keys)
    return account


async def login_customer(
    session: AsyncSession,
    settings: Settings,
    login: str,
    password: str,
    now: datetime,
    client: str,
    guest_cart_token: str | None = None,
) -> Tokens:
    column, value = _login_column(login)
    keys = _login_keys(settings, _account_key("login", value), client)
    customer = await _login(
        session, settings, keys, select(Customer).where(column == value), password, now
    )
    if guest_cart_token:
        await attach_guest_cart(session, customer.id, guest_cart_token)
    return await issue_tokens(session, settings, f"customer:{customer.id}", now)


async def login_staff(
    session: AsyncSession, settings: Settings, email: str, password: str, now: datetime, client: str
) -> Tokens:
    value = email.strip().lower()
    keys = _login_keys(settings, _account_key("staff", value), client)
    staff = await _login(
        session, settings, keys, select(Staff).where(Staff.email == value), password, now
    )
    return await issue_tokens(session, settings, f"staff:{staff.id}", now)


# --- guest cart hand-over ------------------------------------------------------------------------


async def attach_guest_cart(session: AsyncSession, customer_id: int, token: str) -> Cart | None:
    """At login a guest cart becomes the customer's: merged into their open cart (quantities
    add, capped at 99) or, if they have none, simply taken over. Unknown tokens are ignored:
    a stale cart id must never block a login."""
    guest = await session.scalar(
        select(Cart).where(Cart.token == token, Cart.is_open.is_(True), Cart.customer_id.is_(None))
    )
    if guest is None:
        return None
    own = await session.scalar(
        select(Cart).where(
            Cart.customer_id == customer_id, Cart.is_open.is_(True), Cart.purpose == "CART"
        )
    )
    if own is None:
        guest.customer_id = customer_id
        await session.flush()
        return guest
    lines = {  # an add-on line (加价购) merges only with the same offer's line of the SKU
        (line.sku_id, line.add_on_promotion_id): line
        for line in (
            await session.scalars(select(CartLine).where(CartLine.cart_id == own.id))
        ).all()
    }
    for line in await session.scalars(select(CartLine).where(CartLine.cart_id == guest.id)):
        if (line.sku_id, line.add_on_promotion_id) in lines:
            kept = lines[(line.sku_id, line.add_on_promotion_id)]
            kept.quantity = min(MAX_CART_QUANTITY, kept.quantity + line.quantity)
            await session.delete(line)
        else:
            line.cart_id = own.id
    guest.is_open = False
    await session.flush()
    return own


# --- addresses -----------------------------------------------------------------------------------


@dataclass
class AddressData:
    name: str | None = None
    phone: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    line1: str | None = None
    postal_code: str | None = None


def _clean_address(data: AddressData, current: Address | None) -> dict[str, Any]:
    v = Violations()

    def pick(name: str) -> Any:
        value = getattr(data, name)
        return value if value is not None else (getattr(current, name) if current else None)

    if not pick("phone"):
        v.add(ErrorCode.INVALID_PHONE, "A phone number is required.", "phone")
    fields = {
        "name": check.text(v, pick("name"), "name", max_len=60),
        "phone": normalize_phone(v, pick("phone"), "phone"),
        "province": check.text(v, pick("province"), "province", max_len=40),
        "city": check.text(v, pick("city"), "city", max_len=40),
        "district": check.text(v, pick("district"), "district", max_len=40, required=False),
        "line1": check.text(v, pick("line1"), "line1", max_len=200),
        "postal_code": pick("postal_code") or None,
    }
    if fields["postal_code"] and not POSTAL_CODE.match(fields["postal_code"]):
        v.add(ErrorCode.INVALID_POSTAL_CODE, "A postal code has six digits.", "postalCode")
    v.raise_if_any()
    return fields


async def own_address(session: AsyncSession, customer_id: int, address_id: int) -> Address:
    address = await session.get(Address, address_id)
    if address is None or address.customer_id != customer_id:
        raise address_not_found()
    return address


def address_not_found() -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, "Address not found.", "id")


async def create_address(session: AsyncSession, customer_id: int, data: AddressData) -> Address:
    fields = _clean_address(data, None)
    has_any = await session.scalar(select(func.count()).where(Address.customer_id == customer_id))
    address = Address(customer_id=customer_id, is_default=not has_any, **fields)
    session.add(address)
    await session.flush()
    return address


async def update_address(
    session: AsyncSession, customer_id: int, address_id: int, data: AddressData
) -> Address:
    address = await own_address(session, customer_id, address_id)
    for key, value in _clean_address(data, address).items():
        setattr(address, key, value)
    await session.flush()
    return address


async def set_default_address(session: AsyncSession, customer_id: int, address_id: int) -> Address:
    address = await own_address(session, customer_id, address_id)
    await session.execute(
        update(Address).where(Address.customer_id == customer_id).values(is_default=False)
    )
    address.is_default = True
    await session.flush()
    return address


async def delete_address(session: AsyncSession, customer_id: int, address_id: int) -> Address:
    """Deleting the default promotes the most recently added remaining address."""
    address = await own_address(session, customer_id, address_id)
    was_default = address.is_default
    await session.delete(address)
    await session.flush()
    if was_default:
        newest = await session.scalar(
            select(Address)
            .where(Address.customer_id == customer_id)
            .order_by(Address.created_at.desc(), Address.id.desc())
            .limit(1)
        )
        if newest is not None:
            newest.is_default = True
            await session.flush()
    return address


# --- staff and roles -----------------------------------------------------------------------------
# Delegation (DOMAIN.md §9): nobody grants a permission they do not hold, nor reaches outside
# their own merchant. Merchant staff see only their merchant's staff and roles (anything else is
# NOT_FOUND); platform staff see all. Nobody changes a role or a staff member wider than
# themselves either: narrowing the Administrator role is as much an escalation of power over
# others as granting it. The system actor (`zhongtai create-admin`) is unrestricted.


@dataclass(frozen=True)
class Actor:
    """Who changes staff and roles: a staff member, with the permissions and merchant their
    token carries (tokens are refused once those change: core/access.py), or the system."""

    staff_id: int | None
    permissions: frozenset[str]
    merchant_id: int | None = None
    system: bool = False

    def sees(self, merchant_id: int | None) -> bool:
        """Staff and roles of `merchant_id` (None: the platform's) are visible to this actor."""
        return self.system or self.merchant_id is None or self.merchant_id == merchant_id

    def lacking(self, permissions: Any) -> list[str]:
        return [] if self.system else sorted(set(permissions) - self.permissions)


SYSTEM = Actor(staff_id=None, permissions=frozenset(p.value for p in Permission), system=True)


def _ensure_grantable(actor: Actor, permissions: Any, field: str) -> None:
    if lacking := actor.lacking(permissions):
        raise DomainError(
            ErrorCode.FORBIDDEN,
            f"You cannot grant {', '.join(lacking)}: you do not hold it yourself.",
            field,
        )


def _ensure_not_wider(actor: Actor, permissions: Any, what: str) -> None:
    if lacking := actor.lacking(permissions):
        raise DomainError(
            ErrorCode.FORBIDDEN,
            f"{what} holds {', '.join(lacking)}, which you "
            "do not: only someone holding it may change it.",
            "id",
        )


def role_not_found(field: str = "id") -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, "Role not found.", field)


def staff_not_found() -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, "Staff member not found.", "id")


async def _visible_role(session: AsyncSession, actor: Actor, role_id: int) -> Role:
    role = await session.get(Role, role_id)
    if role is None or not actor.sees(role.merchant_id):
        raise role_not_found()
    return role


async def _visible_staff(session: AsyncSession, actor: Actor, staff_id: int) -> Staff:
    staff = await session.get(Staff, staff_id)
    if staff is None or not actor.sees(staff.merchant_id):
        raise staff_not_found()
    return staff


def _clean_permissions(v: Violations, permissions: list[str]) -> list[str]:
    unknown = [p for p in permissions if p not in Permission.__members__]
    if unknown or not permissions:
        v.add(ErrorCode.INVALID_PERMISSION, "Give at least one known permission.", "permissions")
    return sorted(set(permissions))


async def _ensure_unique_role_name(
    session: AsyncSession, name: str, owner: int | None, role_id: int | None = None
) -> None:
    stmt = select(func.count()).where(
        func.lower(Role.name) == name.lower(),
        Role.merchant_id.is_(None) if owner is None else Role.merchant_id == owner,
    )
    if role_id is not None:
        stmt = stmt.where(Role.id != role_id)
    if await session.scalar(stmt):
        raise DomainError(ErrorCode.DUPLICATE_NAME, f"Role '{name}' exists.", "name")


async def _role_owner(session: AsyncSession, actor: Actor, merchant_id: int | None) -> int | None:
    """Merchant staff's roles are their merchant's; platform staff choose (None: platform)."""
    if actor.merchant_id is not None and not actor.system:
        if merchant_id not in (None, actor.merchant_id):
            raise DomainError(
                ErrorCode.FORBIDDEN,
                "Merchant staff create roles for their own merchant only.",
                "merchantId",
            )
        return actor.merchant_id
    if merchant_id is not None and await session.get(Merchant, merchant_id) is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Merchant not found.", "merchantId")
    return merchant_id


@dataclass
class RoleData:
    name: str
    permissions: list[str]
    merchant_id: int | None = None  # the owner; merchant staff always own theirs


async def create_role(session: AsyncSession, actor: Actor, data: RoleData) -> Role:
    v = Violations()
    name = check.text(v, data.name, "name", max_len=60)
    permissions = _clean_permissions(v, data.permissions)
    v.raise_if_any()
    _ensure_grantable(actor, permissions, "permissions")
    owner = await _role_owner(session, actor, data.merchant_id)
    await _ensure_unique_role_name(session, name or "", owner)
    role = Role(name=name, permissions=permissions, merchant_id=owner)
    session.add(role)
    await session.flush()
    return role


async def update_role(
    session: AsyncSession,
    actor: Actor,
    role_id: int,
    name: str | None,
    permissions: list[str] | None,
) -> Role:
    """Rename and/or replace the permission set; a new set moves the token version of every
    holder, so their next request with an older token is refused and they refresh."""
    role = await _visible_role(session, actor, role_id)
    v = Violations()
    clean_name = check.text(v, name, "name", max_len=60) if name is not None else role.name
    clean = _clean_permissions(v, permissions) if permissions is not None else role.permissions
    v.raise_if_any()
    _ensure_not_wider(actor, role.permissions, f"Role '{role.name}'")
    _ensure_grantable(actor, clean, "permissions")
    await _ensure_unique_role_name(session, clean_name or "", role.merchant_id, role.id)
    changed = set(clean) != set(role.permissions)
    role.name, role.permissions = clean_name or role.name, list(clean)
    await session.flush()
    if changed:
        holders = (
            await session.scalars(select(StaffRole.staff_id).where(StaffRole.role_id == role.id))
        ).all()
        await bump_token_versions(session, holders)
    return role


async def delete_role(session: AsyncSession, actor: Actor, role_id: int) -> Role:
    """Refused while any staff member holds the role: detaching it would silently take
    permissions away; the admin reassigns first."""
    role = await _visible_role(session, actor, role_id)
    _ensure_not_wider(actor, role.permissions, f"Role '{role.name}'")
    holders = await session.scalar(select(func.count()).where(StaffRole.role_id == role.id))
    if holders:
        raise DomainError(
            ErrorCode.ROLE_IN_USE,
            f"Role '{role.name}' is held by {holders} staff member(s); take it from them first.",
            "id",
        )
    await session.delete(role)
    await session.flush()
    return role


async def _assignable_roles(
    session: AsyncSession, actor: Actor, role_ids: list[int], staff_merchant_id: int | None
) -> list[Role]:
    """The roles `actor` may give a staff member of `staff_merchant_id`: ones the actor can see
    (merchant staff: their merchant's), owned by the platform or by the staff member's own
    merchant, and holding no permission the actor lacks."""
    wanted = set(role_ids)
    roles = list(
        (await session.scalars(select(Role).where(Role.id.in_(wanted)).order_by(Role.id))).all()
    )
    if len(roles) != len(wanted) or not all(actor.sees(r.merchant_id) for r in roles):
        raise role_not_found("roleIds")
    for role in roles:
        if role.merchant_id is not None and role.merchant_id != staff_merchant_id:
            raise DomainError(
                ErrorCode.FORBIDDEN,
                f"Role '{role.name}' belongs to a merchant this staff member does not work for.",
                "roleIds",
            )
    _ensure_grantable(actor, {p for r in roles for p in r.permissions}, "roleIds")
    return roles


@dataclass
class StaffData:
    email: str
    name: str
    password: str
    role_ids: list[int]
    merchant_id: int | None = None


async def create_staff(session: AsyncSession, actor: Actor, data: StaffData) -> Staff:
    if not actor.system and actor.merchant_id is not None and data.merchant_id != actor.merchant_id:
        raise DomainError(
            ErrorCode.FORBIDDEN,
            "Merchant staff can only add staff to their own merchant.",
            "merchantId",
        )
    v = Violations()
    email = normalize_email(v, data.email, "email")
    if not data.email:
        v.add(ErrorCode.INVALID_EMAIL, "An email address is required.", "email")
    name = check.text(v, data.name, "name", max_len=80)
    check_password_policy(v, data.password)
    v.raise_if_any()
    if await session.scalar(select(func.count()).where(Staff.email == email)):
        raise DomainError(
            ErrorCode.DUPLICATE_ACCOUNT, "A staff member with this email exists.", "email"
        )
    if data.merchant_id is not None and await session.get(Merchant, data.merchant_id) is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Merchant not found.", "merchantId")
    roles = await _assignable_roles(session, actor, data.role_ids, data.merchant_id)
    staff = Staff(
        email=email,
        name=name,
        password_hash=await hash_password_async(data.password),
        merchant_id=data.merchant_id,
        is_active=True,
    )
    session.add(staff)
    await session.flush()
    session.add_all(StaffRole(staff_id=staff.id, role_id=r.id) for r in roles)
    await session.flush()
    return staff


async def update_staff(
    session: AsyncSession, actor: Actor, staff_id: int, name: str | None, role_ids: list[int] | None
) -> Staff:
    """Rename and/or replace the role set; a new set moves the staff member's token version."""
    staff = await _visible_staff(session, actor, staff_id)
    _ensure_not_wider(actor, await staff_permissions(session, staff.id), "This staff member")
    if name is not None:
        v = Violations()
        staff.name = check.text(v, name, "name", max_len=80) or staff.name
        v.raise_if_any()
    if role_ids is not None:
        roles = await _assignable_roles(session, actor, role_ids, staff.merchant_id)
        held = set(
            (
                await session.scalars(
                    select(StaffRole.role_id).where(StaffRole.staff_id == staff.id)
                )
            ).all()
        )
        if held != {r.id for r in roles}:
            await session.execute(delete(StaffRole).where(StaffRole.staff_id == staff.id))
            session.add_all(StaffRole(staff_id=staff.id, role_id=r.id) for r in roles)
            await bump_token_versions(session, [staff.id])
    await session.flush()
    return staff


async def set_staff_active(
    session: AsyncSession, actor: Actor, staff_id: int, active: bool, now: datetime
) -> Staff:
    """Deactivation refuses the staff member's access tokens from their next request on, and
    revokes their logins (refresh tokens), so reactivation does not bring old sessions back.
    Nobody deactivates themselves: the last administrator can never lock everyone out."""
    staff = await _visible_staff(session, actor, staff_id)
    if not active and staff.id == actor.staff_id:
        raise DomainError(ErrorCode.FORBIDDEN, "You cannot deactivate yourself.", "id")
    _ensure_not_wider(actor, await staff_permissions(session, staff.id), "This staff member")
    if staff.is_active == active:
        return staff
    staff.is_active = active
    if not active:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.subject == f"staff:{staff.id}", RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    await bump_token_versions(session, [staff.id])
    return staff


async def bump_token_versions(session: AsyncSession, staff_ids: Any) -> None:
    """Move the token version of `staff_ids` in this transaction; at commit this process's map
    learns the new versions (core/access.py) and, on PostgreSQL, a trigger tells the others."""
    ids = sorted(set(staff_ids))
    if not ids:
        return
    await session.flush()
    await session.execute(
        update(Staff).where(Staff.id.in_(ids)).values(token_version=Staff.token_version + 1)
    )
    rows = await session.execute(
        select(Staff.id, Staff.token_version, Staff.is_active).where(Staff.id.in_(ids))
    )
    changed = access.pending(session.sync_session)
    for staff_id, version, active in rows:
        changed[staff_id] = access.Standing(version, active)


async def staff_standing(session: AsyncSession, staff_id: int) -> access.Standing:
    """What the database says of a staff member's tokens (an unknown id accepts none)."""
    row = (
        await session.execute(
            select(Staff.token_version, Staff.is_active).where(Staff.id == staff_id)
        )
    ).first()
    return access.Standing(row[0], row[1]) if row else access.Standing(0, False)


def staff_visible_to(actor: Actor) -> Any:
    """The staff an actor may list: merchant staff their merchant's, platform staff all."""
    stmt = select(Staff)
    return stmt if actor.sees(None) else stmt.where(Staff.merchant_id == actor.merchant_id)


def roles_visible_to(actor: Actor) -> Any:
    stmt = select(Role)
    return stmt if actor.sees(None) else stmt.where(Role.merchant_id == actor.merchant_id)


def roles_of(staff_id: int) -> Any:
    return (
        select(Role)
        .join(StaffRole, StaffRole.role_id == Role.id)
        .where(StaffRole.staff_id == staff_id)
        .order_by(Role.id)
    )


def address_book(customer_id: int) -> Any:
    """A customer's addresses, the default first, then the newest."""
    return (
        select(Address)
        .where(Address.customer_id == customer_id)
        .order_by(Address.is_default.desc(), Address.created_at.desc(), Address.id.desc())
    )


async def staff_permissions(session: AsyncSession, staff_id: int) -> set[str]:
    rows = (
        await session.scalars(
            select(Role.permissions)
            .join(StaffRole, StaffRole.role_id == Role.id)
            .where(StaffRole.staff_id == staff_id)
        )
    ).all()
    return {p for perms in rows for p in perms}


async def ensure_admin(session: AsyncSession, email: str, password: str) -> tuple[Staff, bool]:
    """Bootstrap: a staff member with every permission; idempotent on the email (the
    password is reset to the one given). Returns (staff, created)."""
    role = await session.scalar(
        select(Role).where(Role.name == "Administrator", Role.merchant_id.is_(None))
    )
    if role is None:
        role = Role(name="Administrator", permissions=sorted(p.value for p in Permission))
        session.add(role)
        await session.flush()
    existing = await session.scalar(select(Staff).where(Staff.email == email.strip().lower()))
    if existing is not None:
        v = Violations()
        check_password_policy(v, password)
        v.raise_if_any()
        existing.password_hash = await hash_password_async(password)
        existing.is_active = True
        if not await session.get(StaffRole, (existing.id, role.id)):
            session.add(StaffRole(staff_id=existing.id, role_id=role.id))
        # a reset: tokens issued under the old password or roles are refused from now on
        await bump_token_versions(session, [existing.id])
        return existing, False
    staff = await create_staff(
        session,
        SYSTEM,
        StaffData(email=email, name="Administrator", password=password, role_ids=[role.id]),
    )
    return staff, True
