"""Settings for Transform, read from environment variables (see README and .env.example).

Defaults need no server: SQLite and a filesystem Celery broker under ``var/``, e-mail written to
``var/outbox/``. Production sets ``DEBUG=false`` and must then provide ``SECRET_KEY``.
"""

import ipaddress
import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from transform.web.sso_config import role_map_parse

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TRANSFORM_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false")
    SECRET_KEY = "insecure-development-key-only-for-debug-use-never-in-production-0123456789"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
# Where people reach the web app: check-in links in e-mails and chat messages start with it.
TRANSFORM_BASE_URL = os.environ.get("TRANSFORM_BASE_URL", "http://127.0.0.1:8000")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_celery_beat",
    "axes",
    # Readiness probes' HTML page template (transform/health.py); request metrics at /metrics.
    "health_check",
    "django_prometheus",
    "teams",
    "playbooks",
    "transform",
]

MIDDLEWARE = [
    # First and last: request counts and latencies by view for /metrics (docs/deployment.md).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Each request's id (X-Request-ID, or a new one) in its log lines and response.
    "transform.logs.RequestIdMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the 429 page.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "transform.urls"
WSGI_APPLICATION = "transform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL, else SQLite under var/. SQLite runs in WAL mode with a busy timeout
# because the web app, the Celery worker and beat write to it at the same time.
DEFAULT_SQLITE_PATH = VAR_DIR / "transform.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE_PATH}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default must work from a fresh clone, so its folder is made on demand.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file, not memory, so a Celery worker in another process can share the test
    # database (tests/transform/test_delivery_worker.py); one file per test run (the process id),
    # so two runs at once never share one.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}

# Query counts and durations for /metrics: django-prometheus's wrappers of the same backends.
_METERED_ENGINES = {
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}
DATABASES["default"]["ENGINE"] = _METERED_ENGINES.get(
    DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"]
)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
# Each organisation has its own zone (docs/time-zones.md); TIME_ZONE is a new one's default. The
# hourly check-in round reaches an organisation from this hour of its own day (0-23; 0: from
# midnight), so check-ins, reminders and digests arrive in its morning.
TRANSFORM_CHECKIN_HOUR = int(os.environ.get("TRANSFORM_CHECKIN_HOUR", "0"))
if not 0 <= TRANSFORM_CHECKIN_HOUR <= 23:
    raise ImproperlyConfigured("TRANSFORM_CHECKIN_HOUR is an hour of the day, 0 to 23.")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The web interface's browser libraries come from the npm registry (package.json, pinned in
# package-lock.json) and are served straight from node_modules/: nothing third-party is committed.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/cytoscape", NODE_MODULES / "cytoscape" / "dist"),
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
if DEBUG:
    # WhiteNoise warns on every request while STATIC_ROOT is missing; in development it serves
    # from the apps' static folders (finders), so an empty folder is all it needs.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
    WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Caches: Redis when REDIS_URL is set (use another database number than the Celery broker's), so
# every process and machine counts the same rate limits; else each process's own memory, where a
# limit holds per process (fine for one server).
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Login lockout (django-axes; docs/api.md#authentication). Every login, the pages, the admin,
# DRF's /api-auth/login/ and the token endpoint, goes through authenticate() with its request.
# AXES_FAILURE_LIMIT failed logins for one username from one address lock that username from that
# address for AXES_COOLOFF_TIME: a guesser elsewhere cannot lock the real user out, and the lock
# ends at a fixed time (refused attempts during it do not extend it). A success resets the count.
# An admin unlocks early with `manage.py axes_reset_username <name>` or in the admin.
AUTHENTICATION_BACKENDS = [
    "core.auth.LoginLockoutBackend",
    # Django's ModelBackend, refusing passwords when TRANSFORM_PASSWORD_LOGIN is false.
    "transform.web.sso_backends.PasswordBackend",
    # Single sign-on (docs/sso.md); answers nothing while TRANSFORM_OIDC_ISSUER is unset.
    "transform.web.sso_backends.SsoBackend",
]
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "20"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "core.auth.lockout_response"
AXES_CLIENT_IP_CALLABLE = "core.throttles.client_ip"
# The single sign-on callback checks no password: not counted (docs/sso.md).
AXES_WHITELIST_CALLABLE = "transform.web.sso_backends.axes_skips_sso_callbacks"
# Failed attempts are what the lockout needs; a row per successful login is not. No banner on
# every start of a command.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Single sign-on with OpenID Connect (docs/sso.md): on when TRANSFORM_OIDC_ISSUER is set. The
# endpoints come from {issuer}/.well-known/openid-configuration on first use (never at startup),
# unless set explicitly. Password login (and its reset by e-mail) can be switched off.
TRANSFORM_PASSWORD_LOGIN = env_bool("TRANSFORM_PASSWORD_LOGIN", True)
TRANSFORM_OIDC_ISSUER = os.environ.get("TRANSFORM_OIDC_ISSUER", "").strip().rstrip("/")
TRANSFORM_OIDC_PROVIDER_NAME = os.environ.get("TRANSFORM_OIDC_PROVIDER_NAME", "single sign-on")
OIDC_RP_CLIENT_ID = os.environ.get("TRANSFORM_OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("TRANSFORM_OIDC_CLIENT_SECRET", "")
OIDC_RP_SCOPES = os.environ.get("TRANSFORM_OIDC_SCOPES", "openid email profile")
OIDC_RP_SIGN_ALGO = os.environ.get("TRANSFORM_OIDC_SIGN_ALGO", "RS256")
OIDC_USE_PKCE = env_bool("TRANSFORM_OIDC_USE_PKCE", True)
OIDC_TOKEN_USE_BASIC_AUTH = env_bool("TRANSFORM_OIDC_TOKEN_BASIC_AUTH", False)
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("TRANSFORM_OIDC_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("TRANSFORM_OIDC_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("TRANSFORM_OIDC_USERINFO_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("TRANSFORM_OIDC_JWKS_ENDPOINT", "")
# Signing out of Transform signs out of the provider too (RP-initiated logout), at the provider's
# end_session_endpoint (discovered, or set here); the ID token kept in the session is the hint.
TRANSFORM_OIDC_PROVIDER_LOGOUT = env_bool("TRANSFORM_OIDC_PROVIDER_LOGOUT", True)
TRANSFORM_OIDC_END_SESSION_ENDPOINT = os.environ.get("TRANSFORM_OIDC_END_SESSION_ENDPOINT", "")
OIDC_STORE_ID_TOKEN = TRANSFORM_OIDC_PROVIDER_LOGOUT
OIDC_TIMEOUT = 10
TRANSFORM_OIDC_EMAIL_VERIFIED_CLAIM = os.environ.get(
    "TRANSFORM_OIDC_EMAIL_VERIFIED_CLAIM", "email_verified"
)
TRANSFORM_OIDC_ROLE_CLAIM = os.environ.get("TRANSFORM_OIDC_ROLE_CLAIM", "groups")
TRANSFORM_OIDC_ROLE_MAP = role_map_parse(os.environ.get("TRANSFORM_OIDC_ROLE_MAP", ""))
if TRANSFORM_OIDC_ISSUER and not (OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET):
    raise ImproperlyConfigured(
        "TRANSFORM_OIDC_ISSUER is set: TRANSFORM_OIDC_CLIENT_ID and TRANSFORM_OIDC_CLIENT_SECRET "
        "must be set too"
    )
if not TRANSFORM_PASSWORD_LOGIN and not TRANSFORM_OIDC_ISSUER:
    raise ImproperlyConfigured(
        "TRANSFORM_PASSWORD_LOGIN is false but TRANSFORM_OIDC_ISSUER is unset: nobody could log in"
    )

# E-mail: SMTP when EMAIL_HOST is set, else messages are written as files to var/outbox/.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
    EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "outbox"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "transform@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0), else kombu's filesystem transport.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("out", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
# Queues (docs/deployment.md#celery-queues): sending messages on "delivery", everything else
# (planning rounds, readiness) on "default", so a slow SMTP server never delays planning and each
# can be scaled on its own (`celery -A transform worker -Q delivery`). A worker started without
# -Q, like make run's, consumes both.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = (
    Queue("default", routing_key="default"),
    Queue("delivery", routing_key="delivery"),
)
CELERY_TASK_ROUTES = {
    "transform.dispatch_deliveries": {"queue": "delivery"},
    "transform.dispatch_organization_deliveries": {"queue": "delivery"},
    "transform.deliver_checkins": {"queue": "delivery"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Delivery of check-ins and alerts (docs/delivery.md): messages per task, tries before a message
# is marked failed, the first retry delay (doubling each try), and how long a worker's claim on a
# message lasts before another worker may take it over (the first worker is presumed dead).
DELIVERY_BATCH_SIZE = int(os.environ.get("DELIVERY_BATCH_SIZE", "100"))
DELIVERY_MAX_ATTEMPTS = int(os.environ.get("DELIVERY_MAX_ATTEMPTS", "5"))
# Webhook deliveries are kept this many days, then pruned nightly (docs/integrations.md).
TRANSFORM_WEBHOOK_RETENTION_DAYS = int(os.environ.get("TRANSFORM_WEBHOOK_RETENTION_DAYS", "90"))
DELIVERY_RETRY_SECONDS = int(os.environ.get("DELIVERY_RETRY_SECONDS", "60"))
DELIVERY_CLAIM_TIMEOUT_SECONDS = int(os.environ.get("DELIVERY_CLAIM_TIMEOUT_SECONDS", "600"))
# Sent rows are recorded in one UPDATE per this many messages (docs/delivery.md, "At most once").
# "auto": 25 when the cache is shared (REDIS_URL), which then holds the sent journal that keeps a
# crash from sending messages twice; 1 (every message on its own) without it.
DELIVERY_MARK_EVERY: int | str = os.environ.get("DELIVERY_MARK_EVERY", "auto")
if DELIVERY_MARK_EVERY != "auto":
    DELIVERY_MARK_EVERY = int(DELIVERY_MARK_EVERY)
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
# Slack's Web API (docs/integrations.md#slack-and-microsoft-teams); tests point it at a fake.
TRANSFORM_SLACK_API_URL = os.environ.get("TRANSFORM_SLACK_API_URL", "https://slack.com/api/")

# API tokens and rate limits (docs/api.md#authentication). A token expires TRANSFORM_TOKEN_TTL after
# it was issued. Rates are "<number>/<second|minute|hour|day>", or "off": per user on the API,
# per address for anonymous API calls, for requests with an invalid token and for check-in links
# (page and API together). Addresses are REMOTE_ADDR, or with TRUSTED_PROXY_COUNT reverse proxies
# in front, the address the outermost trusted proxy saw in X-Forwarded-For.
TRANSFORM_TOKEN_TTL = timedelta(days=int(os.environ.get("TRANSFORM_TOKEN_TTL_DAYS", "30")))
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))


def env_rate(name: str, default: str) -> str | None:
    value = os.environ.get(name, "").strip() or default
    if value.lower() == "off":
        return None
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(
            f"{name} must be <number>/<second|minute|hour|day> or off, got {value!r}"
        )
    return value


THROTTLE_RATES = {
    "user": env_rate("THROTTLE_USER_RATE", "1000/minute"),
    "anon": env_rate("THROTTLE_ANON_RATE", "120/minute"),
    "invalid_token": env_rate("THROTTLE_INVALID_TOKEN_RATE", "20/minute"),
    "checkin_link": env_rate("THROTTLE_CHECKIN_LINK_RATE", "60/minute"),
    "webhook": env_rate("THROTTLE_WEBHOOK_RATE", "600/minute"),
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous API call gets 401 with WWW-Authenticate rather than 403.
        "core.auth.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's own parsers, with JSON that is nested too deeply answered 400 instead of 500.
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["core.throttles.UserThrottle", "core.throttles.AnonThrottle"],
    "DEFAULT_THROTTLE_RATES": THROTTLE_RATES,
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Transform API",
    "DESCRIPTION": "Organisation graph, transformation plans, check-ins and readiness.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs are for logged-in users (session or API token), as README says.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Request bodies get their own components, so required text fields say minLength 1 and
    # read-only fields stay out of what a client sends.
    "COMPONENT_SPLIT_REQUEST": True,
    # The error shape and each operation's error responses (core/schema.py), after the enums.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.error_responses_hook",
    ],
    # Swagger UI's files are served by this app, not fetched from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set, whichever field uses it (several fields share "role", "status"
    # and "kind"), so responses carry typed enums.
    "ENUM_NAME_OVERRIDES": {
        "OrganizationRoleEnum": "teams.models.Role",
        "MembershipRoleEnum": "teams.models.MembershipRole",
        "MilestoneStatusEnum": "transform.models.MilestoneStatus",
        "MilestoneEventKindEnum": "transform.models.EventKind",
        "DeliveryStatusEnum": "transform.models.DeliveryStatus",
        "DeliveryKindEnum": "transform.models.DeliveryKind",
        "SignalEventKindEnum": "transform.models.SignalEventKind",
        "CheckInKindEnum": "transform.models.CheckInKind",
        "ChannelEnum": "transform.models.Channel",
        "LineageKindEnum": "teams.models.LineageKind",
        "HandoverKindEnum": "teams.models.HANDOVER_KINDS",
        "WebhookStatusEnum": "transform.models.WebhookStatus",
        "WebhookSenderEnum": "transform.models.WebhookSender",
        "WebhookReprocessStatusEnum": "transform.webhooks.apis.REPROCESS_CHOICES",
    },
}

# Production hardening: on when DEBUG is off, each overridable by its own variable.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Logs on standard error: plain text, or one JSON object per line with LOG_FORMAT=json
# (timestamp, level, logger, message, request id, exception; transform/logs.py).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower() or "text"
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "transform.logs.RequestIdFilter"}},
    "formatters": {"json": {"()": "transform.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            **({"formatter": "json"} if LOG_FORMAT == "json" else {}),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
# Celery workers and beat keep this configuration with LOG_FORMAT=json (their own lines would be
# plain text otherwise).
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"

# Operations (docs/deployment.md). /metrics answers a request bearing TRANSFORM_METRICS_TOKEN
# ("Authorization: Bearer <token>") or coming from one of TRANSFORM_METRICS_NETWORKS
# (comma-separated addresses or CIDR networks); with neither set it answers nobody.
TRANSFORM_METRICS_TOKEN = os.environ.get("TRANSFORM_METRICS_TOKEN", "")
TRANSFORM_METRICS_NETWORKS = env_list("TRANSFORM_METRICS_NETWORKS", [])
for _network in TRANSFORM_METRICS_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _error:
        raise ImproperlyConfigured(
            f"TRANSFORM_METRICS_NETWORKS: {_network!r} is not an address or CIDR network"
        ) from _error
# The probes are plain HTTP from inside the cluster: never redirected to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
