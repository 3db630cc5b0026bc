"""One settings object for the whole platform.

Settings come from environment variables with no prefix (the names are the ones DESIGN.md uses:
``DATABASE_URL``, ``CELERY_BROKER_URL``, ``APP_ENV`` …); every one is listed in the README.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from ipaddress import ip_address
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A well-known value so that demo and test runs work out of the box; production refuses it.
DEMO_SECRET_KEY = "nanling-pearl-demo-secret-key-not-for-production"  # noqa: S105 - refused in production


# Per-line maximum of a shop order, by unit of sale: pieces and boxes are counted, kg and 斤 weighed.
CART_MAX_LINE_DEFAULTS = {"piece": Decimal(200), "box": Decimal(50), "kg": Decimal(100), "jin": Decimal(200)}


class AppEnv(StrEnum):
    demo = "demo"
    test = "test"
    production = "production"


class SmsProviderKind(StrEnum):
    outbox = "outbox"  # no provider: messages stay in the notification_messages table (/admin/notifications)
    http = "http"  # a JSON-over-HTTPS SMS gateway (SMS_API_URL, SMS_API_KEY)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    app_env: AppEnv = AppEnv.demo
    app_data_dir: Path = Path("./var")
    database_url: str | None = None
    celery_broker_url: str | None = None
    secret_key: SecretStr = SecretStr(DEMO_SECRET_KEY)
    # The site's public address, printed in QR codes (lot and parcel labels) and sent in messages.
    # Unset in demo/test: ``app serve`` sets it from the address it serves (``local_base_url``);
    # production refuses to start without it, since a printed QR code cannot be changed.
    public_base_url: str = "http://127.0.0.1:8000"
    session_ttl_hours: int = 12
    api_token_ttl_days: int = 30
    device_token_ttl_days: int = 365
    # A PDA / till enrolment code is typed or scanned at the device within this many minutes.
    device_enrolment_ttl_minutes: int = Field(default=10, ge=1, le=1440)
    device_enrol_rate_limit: str = "10/minute"  # enrolment code attempts per client address
    login_rate_limit: str = "5/minute"  # sign-in attempts per username
    # A clerk's sign-in at a till (user name + 4–6 digit PIN): attempts per user name and per till,
    # and how long the clerk's session at the till lasts (a shift; signing out ends it earlier).
    pos_pin_rate_limit: str = "5/15 minutes"
    pos_pin_till_rate_limit: str = "20/15 minutes"
    pos_session_ttl_hours: int = Field(default=12, ge=1, le=24)
    # The basket discount a clerk may give alone, in percent of the subtotal; beyond it a store
    # manager's PIN (an approval token) or a manager signed in at the till.
    pos_clerk_discount_limit_percent: int = Field(default=10, ge=0, le=100)
    # How the county's counter scales print GS1 variable-measure labels (EAN-13, prefixes 20–29):
    # ``PREFIXES:KIND:ITEM_DIGITS:VALUE_DIGITS[:check]`` entries, comma-separated; KIND ``weight``
    # (grams) or ``price`` (fen); ``check``: an inner price check digit before the value.
    # Item + value digits (+1 with check) must be 10. See README "POS scanning" (app/pos/scanning.py).
    pos_scale_label_layout: str = "20-24:weight:5:5,25-29:price:5:5"
    login_address_rate_limit: str = "20/minute"  # sign-in attempts per client address
    # Where attempt counters live: "database" (shared by every worker), "redis://…", or "memory://"
    # (one process only: tests).
    rate_limit_storage_url: str = "database"
    # Proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated): the client
    # address of a request from one of them is the last address in that header not itself a proxy.
    trusted_proxies: str = ""
    max_body_bytes: int = 1_048_576
    # Public catalog JSON (products, a product, categories, stations) served again to anonymous
    # callers for this many seconds per process (``app.kit.public_cache``); 0 turns it off.
    public_cache_seconds: float = Field(default=1.0, ge=0, le=60)
    max_image_bytes: int = 5_242_880
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = None
    order_lookup_rate_limit: str = "10/minute"
    # Customers' sign-in by SMS code: code lifetime, sends per phone and per address, checks per phone.
    sms_login_code_ttl_minutes: int = Field(default=5, ge=1, le=30)
    sms_code_send_rate_limit: str = "5/hour"
    sms_code_address_rate_limit: str = "20/hour"
    sms_code_verify_rate_limit: str = "5/10 minutes"
    wholesale_application_rate_limit: str = "5/hour"
    wholesale_min_shelf_life_percent: int = Field(default=60, ge=0, le=100)
    # The cities a wholesale company may have delivery addresses in (the PRD trucks' reach), in the
    # order forms offer them.
    wholesale_cities: str = "广州,深圳,佛山,东莞,中山,珠海,江门,惠州,肇庆"
    # An on-account wholesale order over its company's credit limit waits this long for the centre's
    # approval, holding its stock and truck room; then it expires and both are released.
    wholesale_credit_hold_hours: int = Field(default=24, ge=1, le=24 * 14)
    # A standing order (每周重复订单) is placed this many hours before its trip's cut-off (China time),
    # by the beat's ``wholesale.generate_standing_orders``; the buyer is told either way.
    wholesale_standing_lead_hours: int = Field(default=24, ge=1, le=24 * 6)
    # When the PRD trucks leave the county warehouse on a trip's date (China time), as the order
    # confirmation (订货确认单) prints it.
    wholesale_departure_time: time = time(4, 30)
    # A colleague's invitation link (sent by SMS) works this many days, once.
    wholesale_invitation_ttl_days: int = Field(default=7, ge=1, le=30)
    # A company API key (the buyer's purchasing system) lasts this long unless revoked first.
    company_api_key_ttl_days: int = Field(default=365, ge=1, le=3650)
    reservation_ttl_minutes: int = Field(default=15, ge=1)
    # A live-stream seller's link (/s/{code}) attributes the visitor's shop orders for this many
    # days (first touch: a later seller's link does not replace it).
    streamer_attribution_days: int = Field(default=7, ge=1, le=90)
    # A seller's commission on an order is payable once this many days have passed since the order
    # was completed (picked up / delivered), or since payment while it is not completed yet.
    claim_window_days: int = Field(default=7, ge=0, le=90)
    # The most one shop order line (and one cart line) may hold, per unit of sale: "unit=maximum"
    # pairs; a unit left out keeps its default. Larger quantities are a wholesale matter.
    cart_max_line_quantity: str = ",".join(f"{unit}={most}" for unit, most in CART_MAX_LINE_DEFAULTS.items())
    # Unset in production: on when PUBLIC_BASE_URL is https:// (see _production_cookies_are_secure).
    session_cookie_secure: bool = False
    # Production refuses cookies without Secure unless this says plain HTTP is meant.
    allow_insecure_http: bool = False
    db_pool_size: int = Field(default=10, ge=1)
    # Background work counts as stalled (``/readyz`` 503, a warning in the ops console) once the
    # oldest unprocessed outbox message has waited longer than this. A worker and its relay (every
    # 30 s) take a message within seconds, so minutes mean no worker is running, or a message keeps
    # failing (waiting for its next attempt counts: an SMS gateway that is down shows here too).
    outbox_stall_seconds: int = Field(default=300, ge=30, le=86400)
    # The periodic relay (``outbox.relay``, run by the beat every OUTBOX_RELAY_INTERVAL_SECONDS) sends
    # again a message that was sent this long ago and is still not processed: its broker message died
    # with a worker that was killed (the database broker forgets what it handed out) or ran out of
    # retries. Tasks claim their message, so a second delivery does nothing. The fault tests shorten
    # both (tests/faults/test_worker_kill.py).
    outbox_resend_after_seconds: int = Field(default=900, ge=1, le=86400)
    outbox_relay_interval_seconds: float = Field(default=30.0, gt=0, le=3600)
    log_level: str = "INFO"
    # ``json``: one JSON object per log line (for a log shipper); ``text``: readable lines. Unset:
    # json in production, text in demo and test (README "日志与监控 / Logs and metrics").
    log_format: Literal["json", "text"] = "text"
    # A bearer token Prometheus sends to read ``/metrics`` (besides an admin's session or token).
    metrics_token: SecretStr | None = None
    # Where every web and worker process of ``app serve`` / ``app worker`` on this machine keeps its
    # metrics for ``/metrics`` to sum (prometheus_client's multiprocess mode); unset: APP_DATA_DIR/metrics.
    metrics_dir: Path | None = None
    # Business dates (today, document numbers, cut-offs, report months) are dates in this zone.
    business_timezone: str = "Asia/Shanghai"
    sms_provider: SmsProviderKind = SmsProviderKind.outbox
    sms_api_url: str | None = None
    sms_api_key: SecretStr | None = None
    sms_sign_name: str = Field(default="南岭明珠", min_length=1, max_length=20)
    # The county and its brand, read by pages and documents (another county runs its own brand).
    brand_name: str = Field(default="南岭明珠", min_length=1, max_length=30)
    county_name: str = Field(default="始兴县", min_length=1, max_length=30)
    # The county as people say it before a product (its short name + 枇杷), on cards and in the header.
    county_short_name: str = Field(default="始兴", min_length=1, max_length=20)
    service_centre_name: str = Field(default="始兴县农村电子商务公共服务中心", min_length=1, max_length=60)
    # Where the county is: home-delivery areas (the county seat, the county's townships, the rest
    # of its province, elsewhere) and the checkout's address defaults. COUNTY_TOWNSHIPS is a JSON
    # list in the environment, in the order the checkout lists them.
    county_province: str = Field(default="广东省", min_length=2, max_length=20)
    county_city: str = Field(default="韶关市", min_length=2, max_length=20)
    county_seat_township: str = Field(default="太平镇", min_length=2, max_length=30)
    county_townships: tuple[str, ...] = (
        "太平镇",
        "马市镇",
        "澄江镇",
        "顿岗镇",
        "罗坝镇",
        "司前镇",
        "隘子镇",
        "城南镇",
        "沈所镇",
        "深渡水瑶族乡",
    )
    sms_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Station subsidy statement (村站补贴): fen per parcel scanned in, fen per kg carried upstream.
    subsidy_per_parcel_in_minor: int = Field(default=50, ge=0)
    subsidy_per_upstream_kg_minor: int = Field(default=20, ge=0)
    # VAT rate printed on wholesale invoices (prices include it; the tax line shows the share of the
    # total it is). 9 %: the rate of agricultural products; 0 hides the line.
    wholesale_invoice_tax_rate_percent: int = Field(default=9, ge=0, le=100)
    # The centre's bank account a prepay company transfers to (printed on pro-formas and invoices).
    # Blank account name: the service centre's name; blank account number: "ask the centre".
    wholesale_bank_name: str = Field(default="", max_length=60)
    wholesale_bank_account_name: str = Field(default="", max_length=60)
    wholesale_bank_account_number: str = Field(default="", max_length=40)
    # Alibaba.com international station (ICBU Open Platform). Without an app key: "not connected".
    alibaba_gateway_url: str = "https://openapi-api.alibaba.com"
    alibaba_sync_url: str | None = None  # unset: ALIBABA_GATEWAY_URL + "/sync"
    alibaba_authorize_url: str = "https://openapi-auth.alibaba.com/oauth/authorize"
    alibaba_app_key: str | None = None
    alibaba_app_secret: SecretStr | None = None
    alibaba_redirect_uri: str | None = None  # unset: PUBLIC_BASE_URL + "/admin/crossborder/callback"
    # Fernet key (urlsafe base64 of 32 bytes) encrypting seller tokens and the app secret at rest.
    alibaba_token_key: SecretStr | None = None
    alibaba_calls_per_second: float = Field(default=2.0, gt=0, le=50)
    # A local edit is pushed this long after the last change (a burst of edits becomes one push).
    alibaba_debounce_seconds: float = Field(default=30.0, ge=0, le=3600)
    # How often a listing under Alibaba.com's review is looked at again (and an edit refused with
    # PUB_BIZCHECK_PRODUCT_IN_AUDITING retried).
    alibaba_audit_poll_seconds: float = Field(default=600.0, ge=1, le=86400)

    # Backups (``app backup`` / ``app restore``, README "备份与恢复 / Backup and restore"). With
    # BACKUP_ENABLED the beat makes one every day at BACKUP_HOUR (China time) into BACKUP_DIR
    # (unset: APP_DATA_DIR/backups) and keeps the newest archive of each of the last
    # BACKUP_KEEP_DAILY days and of each of the last BACKUP_KEEP_WEEKLY ISO weeks.
    backup_enabled: bool = False
    backup_dir: Path | None = None
    backup_hour: int = Field(default=3, ge=0, le=23)
    backup_keep_daily: int = Field(default=7, ge=1, le=366)
    backup_keep_weekly: int = Field(default=4, ge=0, le=520)
    # Where pg_dump / pg_restore / psql are found; unset: the pgserver wheel's (PostgreSQL 16, able
    # to dump a server of version 16 or older), else the PATH.
    pg_bin_dir: Path | None = None

    @model_validator(mode="after")
    def _sms_gateway_is_complete(self) -> Settings:
        if self.sms_provider is SmsProviderKind.http:
            if not self.sms_api_url or not self.sms_api_key or not self.sms_api_key.get_secret_value():
                raise ValueError("SMS_PROVIDER=http 需要设置 SMS_API_URL 和 SMS_API_KEY")
            scheme = self.sms_api_url.split("://", 1)[0].lower()
            if scheme not in ("http", "https"):
                raise ValueError("SMS_API_URL 必须是 http(s):// 地址")
            if self.app_env is AppEnv.production and scheme != "https":
                raise ValueError("APP_ENV=production 时 SMS_API_URL 必须使用 https（API 密钥不能明文传输）")
        return self

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.app_env is AppEnv.production:
            if self.secret_key.get_secret_value() in ("", DEMO_SECRET_KEY):
                raise ValueError("APP_ENV=production 需要设置 SECRET_KEY（不能使用演示密钥）")
            if len(self.secret_key.get_secret_value()) < 32:
                raise ValueError("SECRET_KEY 至少 32 个字符")
            if not self.database_url:
                raise ValueError("APP_ENV=production 需要设置 DATABASE_URL（生产环境不启动内嵌数据库）")
            if self.alibaba_app_key and not (self.alibaba_token_key and self.alibaba_token_key.get_secret_value()):
                raise ValueError("APP_ENV=production 设置了 ALIBABA_APP_KEY 时需要 ALIBABA_TOKEN_KEY（令牌加密密钥）")
        return self

    @field_validator("public_base_url")
    @classmethod
    def _public_base_url_is_absolute(cls, value: str) -> str:
        parsed = urlsplit(value.strip())
        if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.query or parsed.fragment:
            raise ValueError("PUBLIC_BASE_URL 必须是完整的 http(s):// 网址，例如 https://shop.example.cn")
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _production_prints_its_own_address(self) -> Settings:
        # After the other production checks, so their messages come first.
        if self.app_env is AppEnv.production:
            # model_fields_set: given by the environment (or a caller), not the demo default.
            if "public_base_url" not in self.model_fields_set:
                raise ValueError(
                    "APP_ENV=production 需要设置 PUBLIC_BASE_URL（标签二维码与短信里的网址，印出去就不能再改）"
                )
            if _is_local_host(urlsplit(self.public_base_url).hostname or ""):
                raise ValueError(f"APP_ENV=production 的 PUBLIC_BASE_URL 不能是本机地址：{self.public_base_url}")
        return self

    @model_validator(mode="after")
    def _limits_are_readable(self) -> Settings:
        from ipaddress import ip_network

        from limits import parse

        for name in (
            "login_rate_limit",
            "login_address_rate_limit",
            "order_lookup_rate_limit",
            "wholesale_application_rate_limit",
            "sms_code_send_rate_limit",
            "sms_code_address_rate_limit",
            "sms_code_verify_rate_limit",
            "device_enrol_rate_limit",
            "pos_pin_rate_limit",
            "pos_pin_till_rate_limit",
        ):
            try:
                item = parse(getattr(self, name))
            except ValueError as exc:
                raise ValueError(f"{name.upper()} 格式应为 次数/时间，例如 5/minute") from exc
            if item.get_expiry() > 86400:  # counters are swept two days after their window
                raise ValueError(f"{name.upper()} 的时间段最长为 1 天")
        for part in self.trusted_proxies.split(","):
            if part.strip():
                try:
                    ip_network(part.strip(), strict=False)
                except ValueError as exc:
                    raise ValueError(f"TRUSTED_PROXIES 中的地址无法识别：{part.strip()}") from exc
        return self

    @model_validator(mode="after")
    def _production_cookies_are_secure(self) -> Settings:
        """In production the session and CSRF cookies must not travel over plain HTTP, where anyone
        on the path (a village's shared Wi-Fi) could lift a staff session. A site whose
        PUBLIC_BASE_URL is https:// gets Secure cookies without saying so; any other production
        set-up must either turn SESSION_COOKIE_SECURE on or declare ALLOW_INSECURE_HTTP."""
        if self.app_env is not AppEnv.production:
            return self
        if "session_cookie_secure" not in self.model_fields_set and self.public_base_url.lower().startswith("https://"):
            self.session_cookie_secure = True
        if not self.session_cookie_secure and not self.allow_insecure_http:
            raise ValueError(
                "APP_ENV=production 需要 SESSION_COOKIE_SECURE=true（经 HTTPS 提供网站，Cookie 带 Secure）；"
                "确实只用 HTTP 时请设置 ALLOW_INSECURE_HTTP=true"
            )
        return self

    @model_validator(mode="after")
    def _production_logs_json(self) -> Settings:
        """Production writes JSON lines for a log shipper unless LOG_FORMAT says otherwise."""
        if self.app_env is AppEnv.production and "log_format" not in self.model_fields_set:
            self.log_format = "json"
        return self

    @model_validator(mode="after")
    def _scale_label_layout_is_readable(self) -> Settings:
        """A typo in POS_SCALE_LABEL_LAYOUT stops the start, not a sale at the counter."""
        from app.pos.scanning import parse_layouts

        parse_layouts(self.pos_scale_label_layout)
        return self

    @model_validator(mode="after")
    def _cart_maximums_are_readable(self) -> Settings:
        self.cart_line_maximums  # noqa: B018 - parsed here so a typo stops the start, not a checkout
        return self

    @property
    def wholesale_city_list(self) -> list[str]:
        return [c.strip() for c in self.wholesale_cities.split(",") if c.strip()]

    @property
    def cart_line_maximums(self) -> dict[str, Decimal]:
        """``CART_MAX_LINE_QUANTITY`` per unit (``piece``, ``box``, ``kg``, ``jin``) as Decimals."""
        maximums = dict(CART_MAX_LINE_DEFAULTS)
        for part in self.cart_max_line_quantity.split(","):
            if not part.strip():
                continue
            unit, _, raw = part.partition("=")
            unit = unit.strip().lower()
            try:
                value = Decimal(raw.strip())
            except InvalidOperation:
                value = Decimal(0)
            if unit not in maximums or not value.is_finite() or value <= 0:
                raise ValueError(
                    f"CART_MAX_LINE_QUANTITY 无法识别：{part.strip()}（格式如 piece=200,box=50,kg=100,jin=200）"
                )
            maximums[unit] = value
        return maximums

    @model_validator(mode="after")
    def _alibaba_token_key_is_fernet(self) -> Settings:
        if self.alibaba_token_key and self.alibaba_token_key.get_secret_value():
            from app.crossborder.crypto import check_key

            check_key(self.alibaba_token_key.get_secret_value())
        return self

    @property
    def served_over_https(self) -> bool:
        """The site is reached over HTTPS: browsers may be told to insist on it (HSTS)."""
        return self.session_cookie_secure or self.public_base_url.lower().startswith("https://")

    @property
    def stripe_enabled(self) -> bool:
        return bool(self.stripe_secret_key and self.stripe_webhook_secret)

    @property
    def alibaba_configured(self) -> bool:
        """An app key and secret are set: the platform may talk to Alibaba.com."""
        return bool(self.alibaba_app_key and self.alibaba_app_secret and self.alibaba_app_secret.get_secret_value())

    @property
    def alibaba_sync_endpoint(self) -> str:
        return self.alibaba_sync_url or f"{self.alibaba_gateway_url.rstrip('/')}/sync"

    @property
    def alibaba_callback_url(self) -> str:
        return self.alibaba_redirect_uri or f"{self.public_base_url.rstrip('/')}/admin/crossborder/callback"

    @property
    def uploads_dir(self) -> Path:
        return self.app_data_dir / "uploads"

    @property
    def metrics_multiprocess_dir(self) -> Path:
        return self.metrics_dir if self.metrics_dir is not None else self.app_data_dir / "metrics"

    @property
    def backups_dir(self) -> Path:
        return self.backup_dir if self.backup_dir is not None else self.app_data_dir / "backups"

    @property
    def is_demo(self) -> bool:
        return self.app_env is AppEnv.demo


def _is_local_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def local_base_url(host: str, port: int) -> str:
    """The address a browser on this machine reaches ``app serve --host H --port P`` at: a server
    listening on every interface (``0.0.0.0``, ``::``) is shown as ``127.0.0.1``."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - naming it, not binding  # nosec B104
    if ":" in shown:  # an IPv6 address goes in brackets in a URL
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
