"""One settings object, read from environment variables (prefix-free, documented in the README)."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings
from pydantic_settings import SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JWT_SECRET = "dev-only-secret-change-me-in-production!"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(default=f"sqlite+aiosqlite:///{Path.cwd() / 'zhongtai.db'}")
    environment: str = "development"  # "production" turns on the secure defaults
    currency: str = "CNY"
    graphiql: bool | None = None  # default: on, except in production
    introspection: bool | None = None  # default: on, except in production
    cors_origins: list[str] = []  # browsers allowed to call the API cross-origin
    max_body_bytes: int = 1_000_000
    request_timeout_seconds: float = 30.0
    jwt_secret: str = DEFAULT_JWT_SECRET
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    login_max_failures: int = 5  # per account; an address gets 4× as many
    login_lock_minutes: int = 15
    # Proxies whose X-Forwarded-For is believed (comma-separated addresses or networks, "*"
    # for any, "" for none); everyone else is known by the address they connect from, which
    # is what login throttling and rate limits count.
    forwarded_allow_ips: str = "127.0.0.1"
    # While no change listener is live (PostgreSQL link lost; SQLite shared by workers), how
    # long a staff member's token version read from the database is trusted (core/access.py).
    staff_recheck_seconds: float = 5.0
    reservation_ttl_minutes: int = 30  # also the time a customer has to pay
    report_timezone: str = "Asia/Shanghai"  # report days are this zone's calendar days
    auto_complete_days: int = 10  # shipped orders complete on their own after this
    # Points (积分), platform settings (services/members.py): earned per whole yuan of a paid
    # order; how many are worth ¥1 at checkout; at most this % of a checkout's goods (after
    # promotions and coupons) may be paid with them.
    points_earn_per_yuan: int = 1
    points_per_yuan: int = 100
    points_max_percent: int = 50
    # Red packets (红包, services/red_packets.py): per packet, at most this many opens and this
    # much in total (fen); each open gives an amount drawn from min..max fen (equal: fixed),
    # never past what is left; a customer opens at most this many a day (REPORT_TIMEZONE
    # days); a packet opens for this many days after it is shared, and what a friend got
    # is spendable for this many days after opening.
    red_packet_max_opens: int = 5
    red_packet_budget: int = 1000
    red_packet_min_amount: int = 100
    red_packet_max_amount: int = 300
    red_packet_opens_per_day: int = 3
    red_packet_share_days: int = 7
    red_packet_valid_days: int = 7
    sweeper_interval_seconds: float = 30.0  # 0 turns the in-app sweeper off (use cron)
    # a cache of persisted queries and the shared rate-limit buckets; optional (see README)
    redis_url: str | None = None
    # Every key this deployment writes to Redis starts with it: deployments (and test runs)
    # sharing one Redis never meet, and nobody needs to flush what others keep there.
    redis_key_prefix: str = "zt:"
    redis_timeout_seconds: float = 0.5  # per Redis call; past it Redis counts as down
    persisted_queries_only: bool | None = None  # allow-list mode; default: on in production
    # cost points per client bucket; default: off, 100k in production
    rate_limit_capacity: int | None = None
    rate_limit_refill_per_second: float = 10_000.0
    otel_tracing: bool = False  # OpenTelemetry spans (install the otel extra, set an exporter)
    sql_echo: bool = False
    db_pool_size: int = 10
    # a PostgreSQL connection attempt gives up after this (then 503): never the default 60 s
    db_connect_timeout_seconds: float = 5.0
    max_page_size: int = 100
    response_cache_entries: int = 1024  # public browse answers kept per process; 0: off
    response_cache_mb: int = 64  # and at most this many MB of them (0: no byte bound)
    # known query operations run from a plan made once (schema/plans.py); off: graphql-core
    planned_execution: bool = True
    workers: int = 1  # processes serving this database here (set by `zhongtai serve`)
    log_level: str = "INFO"
    # Payment providers (services/payments.py): each is enabled when its ids and keys are set.
    # Keys are PEM text or a path to a PEM file. Notifications come back to
    # PAYMENT_NOTIFY_BASE_URL + /payments/alipay/notify or /payments/wechatpay/notify.
    payment_notify_base_url: str = ""
    payment_timeout_seconds: float = 5.0  # each call to a provider; then PROVIDER_UNAVAILABLE
    alipay_app_id: str = ""
    alipay_app_private_key: str = ""  # ours: signs requests (RSA2)
    alipay_public_key: str = ""  # Alipay's: verifies responses and notifications
    alipay_gateway_url: str = "https://openapi.alipay.com/gateway.do"
    wechatpay_mchid: str = ""
    wechatpay_appid: str = ""
    wechatpay_apiv3_key: str = ""  # 32 bytes: decrypts notification resources (AES-256-GCM)
    wechatpay_private_key: str = ""  # the merchant API key: signs requests
    wechatpay_cert_serial: str = ""  # serial number of the merchant API certificate
    wechatpay_platform_public_key: str = ""  # WeChat Pay's: verifies responses, notifications
    wechatpay_platform_serial: str = ""  # when set, Wechatpay-Serial must name this key
    wechatpay_gateway_url: str = "https://api.mch.weixin.qq.com"

    @property
    def alipay_enabled(self) -> bool:
        return bool(self.alipay_app_id and self.alipay_app_private_key and self.alipay_public_key)

    @property
    def wechatpay_enabled(self) -> bool:
        return bool(
            self.wechatpay_mchid
            and self.wechatpay_appid
            and self.wechatpay_apiv3_key
            and self.wechatpay_private_key
            and self.wechatpay_cert_serial
            and self.wechatpay_platform_public_key
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.is_production

    @property
    def allow_list_only(self) -> bool:
        return (
            self.persisted_queries_only
            if self.persisted_queries_only is not None
            else self.is_production
        )

    @property
    def rate_limit(self) -> int:
        if self.rate_limit_capacity is not None:
            return self.rate_limit_capacity
        return 100_000 if self.is_production else 0

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else not self.is_production

    def check_secure(self) -> None:
        """Refuse to run in production with development secrets."""
        if self.is_production and (
            self.jwt_secret == DEFAULT_JWT_SECRET or len(self.jwt_secret) < 32
        ):
            raise RuntimeError(
                "JWT_SECRET must be set to a private value of 32+ characters in production"
            )


@lru_cache
def get_settings() -> Settings:
    return Settings()
