"""Settings for the appointment scheduler.

Every value comes from the environment through one `env` object (see `.env.example`). The variable
names of the original Node service stay valid. Defaults are safe for production; the local stack
(`make run`, tests) sets `STAGE=local` and the local endpoints.
"""

import contextlib
import os
import zoneinfo
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Stage -------------------------------------------------------------------------------------
STAGE = env.str("STAGE", default="dev")
LOCAL_STAGES = {"local", "test"}
# `test` is the test suite's stage only: the suite proves it is the suite by running under pytest,
# which puts PYTEST_VERSION in its environment (and its subprocesses'). A deployment that says
# STAGE=test gets no local defaults and the safe-default checks below.
UNDER_TEST_SUITE = STAGE == "test" and "PYTEST_VERSION" in os.environ
IS_LOCAL = STAGE == "local" or UNDER_TEST_SUITE
DEBUG = env.bool("DEBUG", default=STAGE == "local")

# --- Security ----------------------------------------------------------------------------------
# `make run` keeps its generated keys (SECRET_KEY, FIELD_ENCRYPTION_KEYS, EMAIL_INDEX_KEY,
# EXPORT_SIGNING_KEY) in this file, never committed; a variable in the environment wins.
LOCAL_SECRETS_FILE = Path(env.str("LOCAL_SECRETS_FILE", default=str(BASE_DIR / ".local" / "secrets.env")))
if STAGE == "local" and LOCAL_SECRETS_FILE.exists():
    environ.Env.read_env(LOCAL_SECRETS_FILE, overwrite=False)
# A fixed key is acceptable only on a developer's machine; anywhere else it must be given.
INSECURE_SECRET_KEY = "local-insecure-key-change-me"  # noqa: S105 - refused outside local stages
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_SECRET_KEY if IS_LOCAL else "")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if IS_LOCAL else [])
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# How many proxies (load balancers) stand before the app. Their X-Forwarded-For gives the client
# address (see REST_FRAMEWORK below) and their X-Forwarded-Proto the scheme; with none (0), neither
# header is believed: a client could claim HTTPS, or any address.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if NUM_PROXIES > 0 else None
# TLS ends at the load balancer, which redirects to HTTPS and sets HSTS; where the app itself faces
# clients, set these two (check --deploy warns W004/W008 until then).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SESSION_COOKIE_SECURE = not IS_LOCAL
CSRF_COOKIE_SECURE = not IS_LOCAL
# The browsable API's login keeps the user's API token in a signed, HttpOnly cookie: no session table,
# and logging out (or revoking the token) ends the session everywhere, since the token is checked on
# every request. API clients send the token as a bearer header instead.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "scheduler_session"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Cross-origin browser calls are refused unless their origins are listed.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/(?!docs|static).*$"

# --- Authentication ------------------------------------------------------------------------------
# Argon2 first; PBKDF2 still verifies passwords stored with it. The test suite trades strength for speed.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if UNDER_TEST_SUITE:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# How long an API token (and a browser session) lasts.
TOKEN_TTL_SECONDS = env.int("TOKEN_TTL_SECONDS", default=12 * 3600)
SESSION_COOKIE_AGE = TOKEN_TTL_SECONDS
# Failed sign-ins in one window, across all API processes (accounts/signin_limits.py): per username
# from one address and per address, then 429 at that address; per username from all addresses, the
# free ones before each attempt waits 1, 2, 4, ... seconds, up to the maximum. The free ones must exceed
# LOGIN_FAILURES_PER_USERNAME (checked below, at start), so that one address alone never slows the
# account for its owner.
LOGIN_FAILURES_PER_USERNAME = env.int("LOGIN_FAILURES_PER_USERNAME", default=10)
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=30)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=900)
LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY = env.int("LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY", default=20)
LOGIN_ACCOUNT_DELAY_MAX_SECONDS = env.int("LOGIN_ACCOUNT_DELAY_MAX_SECONDS", default=300)
# Correct sign-ins per account per minute, then 429: a change of the user retries past the sign-ins
# it races with (every write of a user loses to one), so the limit bounds how long they can hold it off.
LOGIN_SUCCESSES_PER_ACCOUNT = env.int("LOGIN_SUCCESSES_PER_ACCOUNT", default=6)
_login_limits = []
if LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY <= LOGIN_FAILURES_PER_USERNAME:
    _login_limits.append(
        f"LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY ({LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY}) must exceed "
        f"LOGIN_FAILURES_PER_USERNAME ({LOGIN_FAILURES_PER_USERNAME}), else one address alone slows the "
        "account for its owner everywhere"
    )
if LOGIN_SUCCESSES_PER_ACCOUNT < 1:
    _login_limits.append(f"LOGIN_SUCCESSES_PER_ACCOUNT ({LOGIN_SUCCESSES_PER_ACCOUNT}) must be at least 1")
if _login_limits:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("; ".join(_login_limits) + ".")

# --- Encryption of personal data -----------------------------------------------------------------
# Comma-separated `keyid:base64-of-32-bytes`; the first is the active key, the others stay readable
# until `manage.py rotate_keys` has re-encrypted every record under the active one.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
# The key of the e-mail blind index (an HMAC), separate from the encryption keys.
EMAIL_INDEX_KEY = env.str("EMAIL_INDEX_KEY", default="")
# Only while data written before record binding is migrated: read `enc:v1:` values (not bound to
# their record) and values stored in the clear, until `manage.py rotate_keys` has rewritten them.
# Off, both are refused (anyone who can write the table could plant a value with no key).
FIELD_ENCRYPTION_ACCEPT_LEGACY = env.bool("FIELD_ENCRYPTION_ACCEPT_LEGACY", default=False)
# The HMAC key `export` signs its files with and `import` checks them with; unset, both refuse
# (the API does not need it). `make run` writes a local one.
EXPORT_SIGNING_KEY = env.str("EXPORT_SIGNING_KEY", default="")

# --- Application -------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "scheduler",
    "countries",
    "doctors",
    "patients",
    "appointment_types",
    "appointments",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (the browsable API's and the Swagger UI's), whatever the server and DEBUG.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "scheduler.api.middleware.RequestIdMiddleware",
    "scheduler.api.middleware.ProxySettingCheckMiddleware",
    "scheduler.api.middleware.BodySizeLimitMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Protects the login form; DRF's views are exempt and SessionAuthentication checks CSRF itself.
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "scheduler.urls"
WSGI_APPLICATION = "scheduler.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

# There is no SQL database: every record lives in DynamoDB through PynamoDB.
DATABASES: dict = {}

# Time zones come from the pinned tzdata package, not the host's files, so that every machine
# computes the same local times (daylight-saving rules change often).
zoneinfo.reset_tzpath(to=[])

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".local" / "static"
# whitenoise serves the installed apps' static files straight from the packages, so nothing needs
# collecting first (the image collects them anyway, for compressed copies).
WHITENOISE_USE_FINDERS = True
with contextlib.suppress(OSError):  # whitenoise expects the folder; the image fills it (collectstatic)
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# Bodies over this size are refused with 413 before they are parsed.
MAX_BODY_BYTES = env.int("MAX_BODY_BYTES", default=256 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES

# --- AWS ---------------------------------------------------------------------------------------
AWS_REGION = env.str("AWS_REGION", default="us-east-1")
AWS_ENDPOINT_URL = env.str("AWS_ENDPOINT_URL", default="") or None
DYNAMODB_ENDPOINT = (
    env.str("DYNAMODB_ENDPOINT", default="") or env.str("AWS_ENDPOINT_URL_DYNAMODB", default="") or AWS_ENDPOINT_URL
)
SQS_ENDPOINT = env.str("AWS_ENDPOINT_URL_SQS", default="") or AWS_ENDPOINT_URL
SNS_ENDPOINT = env.str("AWS_ENDPOINT_URL_SNS", default="") or AWS_ENDPOINT_URL
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="") or None
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="") or None
# Seconds to wait on an AWS endpoint before a request counts as failed.
AWS_CONNECT_TIMEOUT = env.float("AWS_CONNECT_TIMEOUT", default=2.0)
AWS_READ_TIMEOUT = env.float("AWS_READ_TIMEOUT", default=10.0)
# Retries of a failed DynamoDB call (PynamoDB's max_retry_attempts, botocore's standard backoff of at
# most 1, 2, 4 s between tries). A call that gets no answer takes at most
# (1 + retries) * (connect + read timeout) + backoff: 3 tries, 2 + 10 s each, 3 s backoff = 39 s by
# default, inside gunicorn's 60 s timeout, so the client gets a 503 and not a dropped connection.
DYNAMODB_MAX_RETRY_ATTEMPTS = env.int("DYNAMODB_MAX_RETRY_ATTEMPTS", default=2)

# --- DynamoDB tables ---------------------------------------------------------------------------
# Table names default to appointment-scheduler-<stage>-<name>; DYNAMODB_<NAME>_TABLE overrides one.
DYNAMODB_TABLE_PREFIX = env.str("DYNAMODB_TABLE_PREFIX", default=f"appointment-scheduler-{STAGE}-")
DYNAMODB_TABLES = {
    name: env.str(f"DYNAMODB_{name.upper()}_TABLE", default=f"{DYNAMODB_TABLE_PREFIX}{name}")
    for name in (
        "countries",
        "doctors",
        "patients",
        "appointments",
        "appointment_types",
        "slots",
        "users",
        "tokens",
        "events",
        "audit",
        "logins",
    )
}

# Sparse indexes (byState, byReminder, byUnpublished) spread their items over this many partition
# keys (`pending#17`). `make capacity` (bench/capacity.py): 256 keeps the hottest (byUnpublished) under
# half of a partition's 1,000 writes/s at 10,000 bookings/s; the local stages have a handful of
# bookings and use 8. Changing it moves items to other keys: run `manage.py backfill_keys` after.
# HTTP connections of the process's one DynamoDB client (shared by every thread).
DYNAMODB_POOL_CONNECTIONS = env.int("DYNAMODB_POOL_CONNECTIONS", default=32)
SPARSE_INDEX_SHARDS = env.int("SPARSE_INDEX_SHARDS", default=8 if IS_LOCAL else 256)
# The sweeps also read the pre-sharding constant keys ("pending", "due", "unpublished") until
# `backfill_keys` has rewritten every item and no process writes them any more; then set it false.
SPARSE_INDEX_LEGACY_KEYS = env.bool("SPARSE_INDEX_LEGACY_KEYS", default=True)
# A country's appointments of one UTC day are spread over this many keys of byCountryDay: 32 keep
# today's key of a country with 3,000 bookings/s (reminders and completions rewrite its entries)
# under half its limit (`make capacity`); 4 locally.
COUNTRY_DAY_SHARDS = env.int("COUNTRY_DAY_SHARDS", default=4 if IS_LOCAL else 32)
# Days one page of a country's listing reads at most (each costs COUNTRY_DAY_SHARDS Queries): locally
# the listing's whole default range of 31 days, so a quiet country fills one page; with 32 shards a
# week (at most 224 Queries for a page over an empty week; follow `next`).
COUNTRY_LISTING_DAYS_PER_PAGE = env.int("COUNTRY_LISTING_DAYS_PER_PAGE", default=31 if IS_LOCAL else 7)
# The audit entry of a country's listing page (and of the unfiltered admin listing, "*") is keyed
# `<id>#<k>` in byObject, k a hash of the entry's id over this many keys: a country listed 300 times
# a second puts 60% of a key's write limit on one bare key, 30% on each of 2 (`make capacity`).
# `GET /audit?objectId=` reads the bare key and these, so raise it freely but never lower it: entries
# on the dropped keys would no longer be found by their object (they stay in the table, and byActor).
AUDIT_LIST_SHARDS = env.int("AUDIT_LIST_SHARDS", default=2)
# Threads one reader uses to query the shards of an index at once.
SHARD_QUERY_THREADS = env.int("SHARD_QUERY_THREADS", default=8)

# --- Queues and events -------------------------------------------------------------------------
SQS_QUEUE_PREFIX = env.str("SQS_QUEUE_PREFIX", default=f"appointment-scheduler-{STAGE}-")
# The original service's single queue; here it is the notifications queue when given.
SQS_QUEUE_URL = env.str("SQS_QUEUE_URL", default="") or None
SNS_TOPIC_NAME = env.str("SNS_TOPIC_NAME", default=f"{SQS_QUEUE_PREFIX}appointment-events")
SNS_TOPIC_ARN = env.str("SNS_TOPIC_ARN", default="") or None
# Receives before a message moves to its queue's dead-letter queue.
SQS_MAX_RECEIVE_COUNT = env.int("SQS_MAX_RECEIVE_COUNT", default=5)

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="sqs://")
# kombu's SQS transport, with one boto3 Session per process instead of one per queue (scheduler/messaging/sqs.py).
CELERY_BROKER_TRANSPORT = "scheduler.messaging.sqs:Transport"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "region": AWS_REGION,
    "queue_name_prefix": SQS_QUEUE_PREFIX,
    "visibility_timeout": env.int("SQS_VISIBILITY_TIMEOUT", default=300),
    # An empty queue is asked at most once per long poll (15 s: under kombu's 20 s request timeout);
    # the interval is how soon a queue asks again once a busy worker has room (not 0: it would spin).
    "polling_interval": env.float("SQS_POLLING_INTERVAL", default=0.1),
    "wait_time_seconds": env.int("SQS_WAIT_TIME_SECONDS", default=15),
    # When each received message was sent: how long it waited, for the worker's status line.
    "fetch_message_attributes": ["SentTimestamp"],
    # Filled at run time by scheduler.messaging.workers.declare_queue with each queue's URL (after making sure the
    # queue and its dead-letter queue exist), so kombu never creates a queue without its DLQ.
    "predefined_queues": {},
}
if SQS_ENDPOINT:
    # kombu's SQS transport takes the endpoint from the broker URL's host. Keys are quoted (a secret
    # may hold "/"); with none (an IAM role), boto3's own credential chain is used.
    from urllib.parse import quote, urlsplit

    _sqs = urlsplit(SQS_ENDPOINT)
    _keys = (
        f"{quote(AWS_ACCESS_KEY_ID, safe='')}:{quote(AWS_SECRET_ACCESS_KEY, safe='')}"
        if AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
        else ""
    )
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=f"sqs://{_keys}@{_sqs.netloc}")
    CELERY_BROKER_TRANSPORT_OPTIONS["is_secure"] = _sqs.scheme == "https"
# kombu's SQS client: fail fast instead of botocore's 60 s timeouts (a request that books must not
# hang on SQS; the sweeps enqueue again what could not be sent). Reads outlast the long poll.
CELERY_BROKER_TRANSPORT_OPTIONS["client-config"] = {
    "connect_timeout": AWS_CONNECT_TIMEOUT,
    "read_timeout": CELERY_BROKER_TRANSPORT_OPTIONS["wait_time_seconds"] + AWS_READ_TIMEOUT,
    "retries": {"max_attempts": 2, "mode": "standard"},
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
# Tasks are idempotent, so a message is acknowledged only after its task has run; a failed or lost
# task is not acknowledged and SQS delivers it again, up to SQS_MAX_RECEIVE_COUNT, then the DLQ.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ROUTES = ("scheduler.messaging.workers.route_task",)
# The longest a task may run: well below the visibility timeout, so SQS never hands a running
# task's message to another worker.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=120)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# The sweeps go to their own queue, which a worker of their own serves (Procfile `sweeper`), so no
# country's surge holds them back. One not run before the next is due is dropped, not piled up
# while workers are down.
# Seconds between sweeps (an environment may shorten them, as the fault tests do); each expires a
# little before the next is due.
SWEEP_EVENTS_SECONDS = env.float("SWEEP_EVENTS_SECONDS", default=30.0)
SWEEP_PENDING_SECONDS = env.float("SWEEP_PENDING_SECONDS", default=60.0)
# An appointment still pending this long after its last change is enqueued again by the sweep.
PENDING_REQUEUE_SECONDS = env.float("PENDING_REQUEUE_SECONDS", default=60.0)
# A pending appointment whose message was handed to SQS is sent again only if its country's queue is
# empty, or once this long has passed since (its message may have been dead-lettered behind a busy queue).
PENDING_RESEND_SECONDS = env.float("PENDING_RESEND_SECONDS", default=1800.0)
CELERY_BEAT_SCHEDULE = {
    "publish-unpublished-events": {
        "task": "appointments.publish_pending_events",
        "schedule": SWEEP_EVENTS_SECONDS,
        "options": {"expires": SWEEP_EVENTS_SECONDS * 5 / 6, "queue": "periodic"},
    },
    "requeue-stale-pending": {
        "task": "appointments.requeue_stale_pending",
        "schedule": SWEEP_PENDING_SECONDS,
        "options": {"expires": SWEEP_PENDING_SECONDS * 11 / 12, "queue": "periodic"},
    },
    "send-due-reminders": {
        "task": "appointments.send_due_reminders",
        "schedule": 60.0,
        "options": {"expires": 55, "queue": "periodic"},
    },
}
# After an SNS failure, a worker's relay leaves events to the sweep for this long (appointments/outbox.py).
SNS_BREAKER_SECONDS = env.float("SNS_BREAKER_SECONDS", default=15.0)
# After a commit, the booking's queue message (and an event's relay) is sent by background threads
# of the process, after the response: the request does not wait on SQS (scheduler/messaging/handoff.py).
HANDOFF_BACKGROUND = env.bool("HANDOFF_BACKGROUND", default=True)
HANDOFF_THREADS = env.int("HANDOFF_THREADS", default=4)
# Hand-offs waiting at most; beyond it a request sends its own (back-pressure instead of memory).
HANDOFF_QUEUE_SIZE = env.int("HANDOFF_QUEUE_SIZE", default=1000)
# Seconds a stopping process waits for its hand-offs to go out (the sweeps send what is left).
HANDOFF_FLUSH_SECONDS = env.float("HANDOFF_FLUSH_SECONDS", default=5.0)
# Seconds a worker waits between looks for countries created since it started.
# Short, because a new country's tasks share the default queue until then (one Query of the countries'
# list index: about 8 read units with 249 countries, every 2 s per worker, about US$1.3 a month).
WORKER_QUEUE_REFRESH_SECONDS = env.float("WORKER_QUEUE_REFRESH_SECONDS", default=2.0)
# HTTP connections a worker's SQS polling shares: at least this many, and one per consumed queue
# plus the margin; they grow as the worker takes more queues (scheduler/messaging/workers.py).
WORKER_SQS_CONNECTIONS = env.int("WORKER_SQS_CONNECTIONS", default=32)
WORKER_SQS_CONNECTIONS_MARGIN = env.int("WORKER_SQS_CONNECTIONS_MARGIN", default=32)
# Messages one queue may hold in a worker, received and not yet done (0: max(10, 2 x concurrency)),
# and all its queues together (0: twice that); see scheduler/messaging/sqs.py.
WORKER_QUEUE_PREFETCH = env.int("WORKER_QUEUE_PREFETCH", default=0)
WORKER_PREFETCH_LIMIT = env.int("WORKER_PREFETCH_LIMIT", default=0)
# Seconds between a worker's status lines: its queues, their backlog and oldest message's wait.
WORKER_STATUS_SECONDS = env.float("WORKER_STATUS_SECONDS", default=60.0)
# A country's tasks go to the default queue (which every shared worker consumes) for this long after
# the country is created, until the workers have found its own queue (every WORKER_QUEUE_REFRESH_SECONDS).
NEW_COUNTRY_DEFAULT_QUEUE_SECONDS = env.float(
    "NEW_COUNTRY_DEFAULT_QUEUE_SECONDS", default=3 * WORKER_QUEUE_REFRESH_SECONDS
)

# --- Notifications -------------------------------------------------------------------------------
# E-mail through Django's backend: console locally (or a file folder), SMTP/SES in production.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if IS_LOCAL
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / ".local" / "mail"))
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="appointments@localhost")
# SMS through SNS to the E.164 number ("sns"), or only logged ("log", the local default).
SMS_BACKEND = env.str("SMS_BACKEND", default="log" if IS_LOCAL else "sns")

# --- Countries and holidays ----------------------------------------------------------------------
# Whether a country created without `observesHolidays` observes its public holidays (the holidays
# package's); the test suite sets false (tests/stack.py), since its bookings may land on one.
COUNTRIES_OBSERVE_HOLIDAYS_BY_DEFAULT = env.bool("COUNTRIES_OBSERVE_HOLIDAYS_BY_DEFAULT", default=True)

# --- REST framework ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_PARSER_CLASSES": ["scheduler.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "scheduler.api.renderers.LinkedBrowsableAPIRenderer",
    ],
    # Bearer first: its WWW-Authenticate header makes a missing credential a 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "accounts.authentication.BrowserSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["scheduler.security.permissions.IsAllowed"],
    "UNAUTHENTICATED_USER": "accounts.authentication.Anonymous",
    "EXCEPTION_HANDLER": "scheduler.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["scheduler.security.throttling.ClientRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# Requests a client may make, as DRF writes rates ("1200/minute"); empty turns the limit off.
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="1200/minute")
# The client address is taken from X-Forwarded-For as far as NUM_PROXIES says; 0 trusts none of it
# (the connection's address). (DRF's own default, None, would take whatever X-Forwarded-For a client
# sends, and let it reset its limits.)
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES
# /health/ready (no sign-in): requests per client address, and how long a process reuses its answer,
# so that a flood of checks makes few AWS calls (the load balancer's own checks come far slower).
HEALTH_RATE_LIMIT = env.str("HEALTH_RATE_LIMIT", default="120/minute")
HEALTH_READY_CACHE_SECONDS = env.float("HEALTH_READY_CACHE_SECONDS", default=5.0)

SPECTACULAR_SETTINGS = {
    "TITLE": "Medical appointment scheduler",
    "DESCRIPTION": "Multi-country medical appointment scheduling API (DynamoDB, SQS, SNS).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["scheduler.api.schema.strip_optional_slash"],
    # An enum named after its field alone ("KindEnum") would clash with the next field called kind.
    "ENUM_NAME_OVERRIDES": {"HolidayKindEnum": "countries.holidays.HOLIDAY_KINDS"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "scheduler.api.schema.document_errors",
        "scheduler.api.schema.document_undecryptable",
    ],
}

# --- Safe defaults --------------------------------------------------------------------------------
# Outside the local stage and the test suite the app does not start on settings fit only for a laptop.
if not IS_LOCAL:
    from django.core.exceptions import ImproperlyConfigured

    _unsafe = []
    if not SECRET_KEY or SECRET_KEY == INSECURE_SECRET_KEY:
        _unsafe.append("SECRET_KEY is not set (or is the local default)")
    if not FIELD_ENCRYPTION_KEYS:
        _unsafe.append("FIELD_ENCRYPTION_KEYS is not set")
    if not EMAIL_INDEX_KEY:
        _unsafe.append("EMAIL_INDEX_KEY is not set")
    if DEBUG:
        _unsafe.append("DEBUG is on")
    if _unsafe:
        raise ImproperlyConfigured(f"Refusing to start with STAGE={STAGE}: " + "; ".join(_unsafe) + ".")

# --- Logging -----------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# plain: one readable line per record; json: one JSON object per line (request lines carry method,
# path, status, duration_ms, request_id and user as fields).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "botocore": {"level": "WARNING"},
        "pynamodb": {"level": "WARNING"},
        # The request lines above replace Django's own (which would log 4xx twice).
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}
