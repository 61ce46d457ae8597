"""Settings for every environment, driven by environment variables.

Development is the default and needs nothing set. Production (``MATMIS_ENV=production``)
refuses to start without a secret key and turns on every transport-security setting.
See ``.env.example`` for the variables.
"""

import ipaddress
import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from kombu import Exchange, Queue

from matmis.queues import QUEUES

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if not value:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = env(name)
    try:
        return int(value) if value else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from exc


def env_rate(name: str, default: str) -> str:
    """A rate limit such as ``300/minute`` (per second, minute, hour or day)."""
    value = env(name, default)
    if not re.fullmatch(r"[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(f"{name} must be a rate such as 300/minute, not {value!r}.")
    return value


ENVIRONMENT = env("MATMIS_ENV", "development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("MATMIS_ENV must be 'development' or 'production'.")
PRODUCTION = ENVIRONMENT == "production"

DEBUG = env_bool("DJANGO_DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG cannot be on when MATMIS_ENV=production.")

SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Production refuses to start without a secret key."
        )
    SECRET_KEY = "development-only-key-never-used-in-production-" + "x" * 20

# --- Sites: every institution is served on <slug>.<BASE_DOMAIN> -------------------------
BASE_DOMAIN = env("BASE_DOMAIN", "localhost").lower().rstrip(".")
if not BASE_DOMAIN or "/" in BASE_DOMAIN or ":" in BASE_DOMAIN:
    raise ImproperlyConfigured("BASE_DOMAIN must be a bare domain such as 'matmis.example'.")
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}"]
# Scheme and port used when the portal writes absolute links (emails, the site list).
SITE_SCHEME = env("SITE_SCHEME", "https" if PRODUCTION else "http")
SITE_PORT = env("SITE_PORT", "" if PRODUCTION else "8000")
# The bare base domain lists every site only in development.
LIST_SITES_ON_BASE_DOMAIN = env_bool("LIST_SITES_ON_BASE_DOMAIN", default=not PRODUCTION)

INSTALLED_APPS = [
    "portal.apps.SupportAdminConfig",  # django.contrib.admin, as the support admin
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "oauth2_provider",
    "matmis",
    "accounts",
    "institutions",
    "sharing",
    "notifications",
    "mis",
    "analytics",
    "hop",
    "networks",
    "thirdparty",
    "portal",
]

MIDDLEWARE = [
    # First: every response gets its X-Request-ID, every log line its id (observability).
    "matmis.request_context.RequestIdMiddleware",
    "matmis.metrics.RequestLatencyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Outside the tenancy middleware, so its refusals (unknown site, foreign host) get it too.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "matmis.tenancy.SiteMiddleware",
    "matmis.body_limit.RequestBodyLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # After the CSRF check: a NUL in the query or a form field is a 400 for every view.
    "matmis.client_input.NulCharacterMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "hop.middleware.HopMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Development only (DEBUG): the product's 404 page instead of Django's list of URLs.
    "matmis.not_found.NotFoundPageMiddleware",
]

ROOT_URLCONF = "portal.urls"
# The bare base domain (platform pages) is served by its own URLconf.
PLATFORM_URLCONF = "portal.urls_platform"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "matmis.context_processors.layout",
            ],
        },
    },
]

WSGI_APPLICATION = "matmis.wsgi.application"

# --- Database: PostgreSQL always ----------------------------------------------------------
DATABASE_URL = env("DATABASE_URL")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Run the project through scripts/run or scripts/test, which "
        "start the project's own PostgreSQL, or point DATABASE_URL at a PostgreSQL server."
    )
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("matmis runs on PostgreSQL only: DATABASE_URL must be postgres://")
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Who is who in the database (matmis.db_roles). Production: DATABASE_URL logs in as the
# application's own role (owns nothing, cannot bypass Row-Level Security) and
# DATABASE_OWNER_URL as the tables' owner, for migrate, flush and import_gias only.
# Development and tests: DATABASE_URL logs in as the owner and the application switches to
# DATABASE_APP_ROLE with SET ROLE (not a boundary: check --deploy warns in production).
DATABASE_OWNER_URL = env("DATABASE_OWNER_URL")
if DATABASE_OWNER_URL:
    _owner = dj_database_url.parse(DATABASE_OWNER_URL)
    if _owner["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_OWNER_URL must be postgres://, like DATABASE_URL.")
    if _owner["NAME"] != DATABASES["default"]["NAME"]:
        raise ImproperlyConfigured(
            "DATABASE_OWNER_URL must name the same database as DATABASE_URL "
            f"({DATABASES['default']['NAME']!r}), not {_owner['NAME']!r}."
        )
    if _owner["USER"] == DATABASES["default"]["USER"]:
        raise ImproperlyConfigured(
            "DATABASE_OWNER_URL and DATABASE_URL log in as the same role: DATABASE_URL is for "
            "the application's own role, which owns no table."
        )
DATABASE_APP_ROLE = env("DATABASE_APP_ROLE", "" if DATABASE_OWNER_URL else "matmis_app")
if DATABASE_OWNER_URL and DATABASE_APP_ROLE:
    raise ImproperlyConfigured(
        "DATABASE_APP_ROLE must be empty when DATABASE_OWNER_URL is set: the application then "
        "logs in as its own role (DATABASE_URL) and switches to no other."
    )
# DATABASE_POOLER=transaction: DATABASE_URL reaches PostgreSQL through a pooler in
# transaction mode (PgBouncer, docker-compose.yml), which hands each transaction whichever
# server connection is free. The application binds its site with SET LOCAL (per
# transaction) and keeps no session state; server-side cursors, which outlive a
# transaction, are off; and a SET ROLE to another role than the login would be session
# state that the next client inherits, so it is refused.
DATABASE_POOLER = env("DATABASE_POOLER")
if DATABASE_POOLER not in ("", "transaction"):
    raise ImproperlyConfigured("DATABASE_POOLER must be empty or 'transaction'.")
if DATABASE_POOLER:
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    if DATABASE_APP_ROLE and DATABASES["default"]["USER"] != DATABASE_APP_ROLE:
        raise ImproperlyConfigured(
            "DATABASE_APP_ROLE must be empty (or the login role itself) behind a "
            "transaction-mode pooler: SET ROLE would outlive this client's transaction."
        )
# DATABASE_REPLICA_URL: a streaming replica of the same database (read-only, a little
# behind). Group-facing reads of figures inside matmis.replica.group_reads() go there
# (matmis.replica.ReplicaRouter); unset, everything reads the primary.
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60)
    )
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    if DATABASE_POOLER:
        DATABASES["replica"]["DISABLE_SERVER_SIDE_CURSORS"] = True
DATABASE_ROUTERS = ["matmis.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.SiteStaffBackend"]
LOGIN_URL = "accounts:sign-in"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:sign-in"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Production serves the collected files (collectstatic); development and tests serve the
# source folders directly through WhiteNoise's finders.
STATIC_ROOT = BASE_DIR / "staticfiles" if PRODUCTION else None
WHITENOISE_USE_FINDERS = not PRODUCTION
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Uploaded files (the register imports), never served to browsers. With more than one node,
# point MEDIA_ROOT at shared storage (or STORAGES["default"] at an object store).
MEDIA_ROOT = Path(env("MEDIA_ROOT")) if env("MEDIA_ROOT") else BASE_DIR / ".data" / "media"

# --- Uploads on S3-compatible object storage (issue 19, deploy) -----------------------------
# Unset (development, tests): uploads are files under MEDIA_ROOT in the git-ignored .data
# folder. Set AWS_STORAGE_BUCKET_NAME (and S3_ENDPOINT_URL for MinIO or another non-AWS
# store) to keep them in a bucket that web and worker containers share. The credentials are
# boto3's usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (read by boto3 itself).
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env("S3_ENDPOINT_URL") or None,
            "region_name": env("S3_REGION_NAME") or None,
            # MinIO answers at one host name: bucket in the path, not in the host.
            "addressing_style": env("S3_ADDRESSING_STYLE", "path"),
            "signature_version": "s3v4",
            "default_acl": None,  # private: the bucket's own policy decides
            "querystring_auth": True,
            "file_overwrite": False,
            "location": env("S3_LOCATION"),
        },
    }

# --- Sessions, cookies and transport security ---------------------------------------------
# Cookies carry no Domain attribute, so each site host keeps its own session and CSRF
# cookie; the tenancy middleware also refuses a session bound to another site.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "matmis.views.csrf_failure"
SECURE_SSL_REDIRECT = PRODUCTION and env_bool("SECURE_SSL_REDIRECT", default=True)

# --- Client addresses behind proxies (matmis.client_address) --------------------------------
# How many proxies in front of the application append to X-Forwarded-For. 0: the client is
# REMOTE_ADDR and the header is ignored (anyone can write it).
MATMIS_TRUSTED_PROXIES = env_int("MATMIS_TRUSTED_PROXIES", 0)
if MATMIS_TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured("MATMIS_TRUSTED_PROXIES must be 0 or more.")
# X-Forwarded-Proto says "this came in over HTTPS" only when a proxy we run wrote it: behind
# no proxy (MATMIS_TRUSTED_PROXIES = 0) a client could send it to pass as secure.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION and MATMIS_TRUSTED_PROXIES > 0 else None
)
# The liveness probe answers over plain HTTP too: the compose health checks reach it inside
# the compose network through the proxy's internal listener (deploy/Caddyfile).
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = 31536000 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Strict CSP everywhere (development too, so a violation shows up before production):
# no inline script or style, no third-party origins, never framed.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    # The Log in to MIS form posts from a group site to a school site's host.
    "form-action": [CSP.SELF, f"{SITE_SCHEME}://*.{BASE_DOMAIN}:*"],
    "frame-ancestors": [CSP.NONE],
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Any request body larger than this is refused before it is read (views may allow more).
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Staff resources (``networks``): the largest file a member of staff may upload (bytes).
MATMIS_RESOURCE_MAX_BYTES = env_int("MATMIS_RESOURCE_MAX_BYTES", 500 * 1024 * 1024)

# --- Email ---------------------------------------------------------------------------------
_email_host = env("EMAIL_HOST")
if _email_host:
    _email_port = env_int("EMAIL_PORT", 587)
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _email_host,
                "port": _email_port,
                "username": env("EMAIL_HOST_USER"),
                "password": env("EMAIL_HOST_PASSWORD"),
                "use_tls": env_bool("EMAIL_USE_TLS", default=_email_port == 587),
                "use_ssl": env_bool("EMAIL_USE_SSL", default=_email_port == 465),
                "timeout": env_int("EMAIL_TIMEOUT", 20),
            },
        }
    }
else:
    # Development: each message is written to a file under .data/mail for a person to read.
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(BASE_DIR / ".data" / "mail")},
        }
    }
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", f"matmis <no-reply@{BASE_DOMAIN}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where the privacy notice and the accessibility statement send people who write to the
# platform's operator (the processor): questions, requests, accessibility problems.
SUPPORT_EMAIL = env("SUPPORT_EMAIL", f"support@{BASE_DOMAIN}")

# --- Celery ---------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Email, roll-ups and imports each on a queue of their own, the rest on "default"
# (matmis.queues); compose runs a worker per queue.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = ("matmis.queues.route_task",)
# Every queue declared, so a worker started without -Q (development, the tests, a single
# worker deployment) consumes all of them; compose starts one worker per queue with -Q.
CELERY_TASK_QUEUES = tuple(Queue(name, Exchange(name), routing_key=name) for name in QUEUES)
# Beat: re-enqueue email deliveries whose task was lost (broker or mail server down).
CELERY_BEAT_SCHEDULE = {
    "institutions-register-imports-retry-due": {
        "task": "institutions.register_imports_retry_due",
        "schedule": 300.0,
    },
    "mis-rollups-refresh-due": {
        "task": "mis.rollups_refresh_due",
        "schedule": float(env("MIS_ROLLUP_REFRESH_SECONDS", "300")),
    },
    "notifications-deliveries-retry-due": {
        "task": "notifications.deliveries_retry_due",
        "schedule": 300.0,
    },
    # The marks' next academic year partition, made ahead of time (mis.partitions).
    "mis-attendance-partitions-ensure": {
        "task": "mis.attendance_partitions_ensure",
        "schedule": 86400.0,
    },
}

# --- Housekeeping (issue 19): retention and the beat jobs that enforce it --------------------
# Audit events are deleted this many days after they happened (at least 365: the database
# function that deletes them refuses less); sent and failed email deliveries this many days
# after they were queued (never one still to send). README "Housekeeping".
MATMIS_AUDIT_RETENTION_DAYS = env_int("MATMIS_AUDIT_RETENTION_DAYS", 2190)
MATMIS_DELIVERY_RETENTION_DAYS = env_int("MATMIS_DELIVERY_RETENTION_DAYS", 90)
CELERY_BEAT_SCHEDULE |= {
    "accounts-sessions-clear-expired": {
        "task": "accounts.sessions_clear_expired",
        "schedule": 3600.0,
    },
    "accounts-sign-in-failures-prune": {
        "task": "accounts.sign_in_failures_prune",
        "schedule": 3600.0,
    },
    "accounts-provider-sign-ins-prune": {
        "task": "accounts.provider_sign_ins_prune",
        "schedule": 3600.0,
    },
    "accounts-audit-events-prune": {
        "task": "accounts.audit_events_prune",
        "schedule": 86400.0,
    },
    "notifications-deliveries-prune": {
        "task": "notifications.deliveries_prune",
        "schedule": 86400.0,
    },
}

if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = None
    CELERY_TASK_ALWAYS_EAGER = False
else:
    # No broker: tasks run in this process, after the transaction that enqueued them
    # commits, through exactly the same task code.
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True

# --- Cache: shared by every process through Redis, so that rate limits count together -----
# (API throttles, password reset requests). Without REDIS_URL, each process keeps its own.
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "matmis-cache",
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["matmis.api_permissions.UndeclaredEndpoint"],
    "DEFAULT_PAGINATION_CLASS": "matmis.api.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "matmis.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON with a nesting limit and no NUL characters (matmis.api_parsers); forms as DRF's.
    "DEFAULT_PARSER_CLASSES": [
        "matmis.api_parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Rate limits per signed-in person and per client address (matmis.api_throttles).
    "DEFAULT_THROTTLE_CLASSES": [
        "matmis.api_throttles.SignedInUserThrottle",
        "matmis.api_throttles.ClientAddressThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_rate("API_RATE_PER_USER", "300/minute"),
        "client": env_rate("API_RATE_PER_CLIENT", "1200/minute"),
        # The app API (thirdparty.app_api): per third-party app, whatever its address.
        "app": env_rate("API_RATE_PER_APP", "600/minute"),
    },
}

# Third-party apps (issue 14): OAuth2 client credentials for /api/apps/v1/ on the platform
# host. Secrets are stored hashed (shown once); access tokens are short-lived, and a
# suspended app is refused on its next call (thirdparty.oauth, thirdparty.app_api).
OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("APP_TOKEN_SECONDS", 600),
    "OAUTH2_VALIDATOR_CLASS": "thirdparty.oauth.AppOAuth2Validator",
    "SCOPES": {"apps": "Read what the connected schools authorised"},
    "DEFAULT_SCOPES": ["apps"],
    "PKCE_REQUIRED": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    # Only client credentials are used; the other grants are refused their unsafe forms.
    # (RFC 9700, the OAuth 2.0 security best practice: tokens stored hashed, only in the
    # Authorization header, and the rest).
    **{
        f"COMPLIANT_BCP_RFC9700_{name}": True
        for name in (
            "ACCESS_TOKEN_TRANSPORT",
            "AUTHZ_RESPONSE_ISS",
            "IMPLICIT_GRANT",
            "PASSWORD_GRANT",
            "PKCE_METHOD",
            "PKCE_REQUIRED",
            "REDIRECT_URI_MATCHING",
            "REDIRECT_URI_SCHEME",
            "REFRESH_TOKEN",
            "TOKEN_STORAGE",
        )
    },
}
# The toolkit's own models (its migrations name them through these settings).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105  (a model name)
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105  (a model name)
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105  (a model name)
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
SPECTACULAR_SETTINGS = {
    "TITLE": "matmis API",
    "DESCRIPTION": (
        "REST API of matmis. Every endpoint is served on a site's own host and only ever "
        "reads or changes that site's data. Errors share one shape: "
        '{"error": {"code", "message", "fields"}}.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for a choice set several fields share (a role's grant, the level a page
    # needs and the level a person holds).
    "ENUM_NAME_OVERRIDES": {
        "AccessLevelEnum": "accounts.roles.api.ACCESS_VALUES",
        "CtfImportStateEnum": "mis.models.CtfImport.State",
        "ArrivalStateEnum": "mis.models.PupilArrival.State",
        "NetworkKindEnum": "networks.models.NetworkKind",
    },
}

# --- Observability (issue 19): logs, error tracking, readiness, metrics -------------------
# Logs: one JSON object a line in production, plain text in development and tests; either
# way every line has the request id, site and user (matmis.request_context).
LOG_FORMAT = env("LOG_FORMAT", "json" if PRODUCTION else "plain")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'json' or 'plain', not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "matmis.request_context.LogContextFilter"}},
    "formatters": {
        "plain": {
            "format": (
                "%(asctime)s %(levelname)s %(name)s [request=%(request_id)s "
                "site=%(site_id)s user=%(user_id)s] %(message)s"
            )
        },
        "json": {"()": "matmis.request_context.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.security.DisallowedHost": {"level": "ERROR"}},
}
# The worker logs through the same handlers (Celery would otherwise replace them).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Error tracking: Sentry, only when SENTRY_DSN is set (matmis.error_tracking); no personal
# data is sent (send_default_pii=False).
SENTRY_DSN = env("SENTRY_DSN")
if SENTRY_DSN:
    from matmis.error_tracking import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", ENVIRONMENT),
        release=env("SENTRY_RELEASE"),
        traces_sample_rate=float(env("SENTRY_TRACES_SAMPLE_RATE", "0")),
    )

# Readiness (/readyz, matmis.readiness): how long each check may wait, in seconds.
MATMIS_READINESS_TIMEOUT = float(env("MATMIS_READINESS_TIMEOUT", "2"))
# ... and how long one answer is reused (a public page: a burst is answered once).
MATMIS_READINESS_CACHE_SECONDS = float(env("MATMIS_READINESS_CACHE_SECONDS", "5"))

# Metrics (/metrics on the platform host, matmis.metrics and portal.metrics): readable only
# from these networks (comma-separated CIDRs, the client address as matmis.client_address
# finds it); anyone else gets a 404. With several gunicorn workers, set
# PROMETHEUS_MULTIPROC_DIR to an empty directory shared by them (see README).
MATMIS_METRICS_ALLOWED_NETWORKS = [
    part.strip()
    for part in env("MATMIS_METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128").split(",")
    if part.strip()
]
# A Celery worker's own task counts: served by the worker on this port when set (a scrape
# of the web's /metrics sees only the web's processes), on this address.
MATMIS_WORKER_METRICS_PORT = env_int("MATMIS_WORKER_METRICS_PORT", 0)
MATMIS_WORKER_METRICS_ADDRESS = env("MATMIS_WORKER_METRICS_ADDRESS", "127.0.0.1")
for _network in MATMIS_METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"MATMIS_METRICS_ALLOWED_NETWORKS must list networks such as 10.0.0.0/8, "
            f"not {_network!r}."
        ) from exc

# --- Sign-in with Microsoft or Google (OpenID Connect; accounts.identity.provider) --------
# One registration per provider for the whole deployment, whose one redirect URI is
# <SITE_SCHEME>://<BASE_DOMAIN>[:SITE_PORT]/sign-in/provider/callback/. A provider without
# a client id is offered to no site. Each site chooses its provider and domains on its
# Security settings page.
SIGN_IN_PROVIDERS = {
    "microsoft": {
        "name": "Microsoft",
        "client_id": env("OIDC_MICROSOFT_CLIENT_ID"),
        "client_secret": env("OIDC_MICROSOFT_CLIENT_SECRET"),
        "discovery_url": env(
            "OIDC_MICROSOFT_DISCOVERY_URL",
            "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration",
        ),
    },
    "google": {
        "name": "Google",
        "client_id": env("OIDC_GOOGLE_CLIENT_ID"),
        "client_secret": env("OIDC_GOOGLE_CLIENT_SECRET"),
        "discovery_url": env(
            "OIDC_GOOGLE_DISCOVERY_URL",
            "https://accounts.google.com/.well-known/openid-configuration",
        ),
    },
}
