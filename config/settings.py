"""Spindle settings: every value comes from the environment, defaults serve the embedded mode."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import (
    broker_url,
    env_bool,
    env_database,
    env_float,
    env_int,
    env_redis_url,
    env_str,
    is_loopback,
)
from config.project import auth_path, cors_settings, read_document

BASE_DIR = Path(__file__).resolve().parent.parent

# The key a fresh checkout runs with: serving processes refuse it (config/deploy.py) unless
# DEBUG is on or SPINDLE_DEV is set (`make dev` sets it).
DEVELOPMENT_SECRET_KEY = "spindle-insecure-dev-key-change-me"
SECRET_KEY = env_str("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
DEBUG = env_bool("DEBUG", False)
SPINDLE_DEV = env_bool("SPINDLE_DEV", False)
# Served on a loopback address (the default), only loopback names may reach the server: a
# web page cannot then make the browser talk to it under another name (DNS rebinding).
LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
_DEFAULT_HOSTS = ",".join(LOOPBACK_HOSTS) if is_loopback(env_str("HOST", "127.0.0.1")) else "*"
ALLOWED_HOSTS = [
    h.strip() for h in env_str("ALLOWED_HOSTS", _DEFAULT_HOSTS).split(",") if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "assistants",
    "threads",
    "runs",
    "store",
    "django_celery_beat",
    "crons",
    "webhooks",
    "thread_ttl",
    "protocols",
]

MIDDLEWARE = ["config.middleware.InputGateMiddleware", "config.middleware.AdminOnlyMiddleware"]
# Run only for /admin/ (config/middleware.py): the API needs none of it.
SPINDLE_ADMIN_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves /static/ (the admin's CSS and JavaScript) under every server: uvicorn has
    # no static handler of its own.
    "config.middleware.StaticFilesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
# The admin's and the deployment checks look for these in MIDDLEWARE; AdminOnlyMiddleware
# runs them for the admin. The API needs none: it has no cookies or sessions, answers JSON
# that is never framed, and its input gate refuses every body not declared JSON, so no
# cross-site form can reach it.
SILENCED_SYSTEM_CHECKS = [
    "admin.E408",
    "admin.E409",
    "admin.E410",
    "security.W001",
    "security.W002",
    "security.W003",
]
X_FRAME_OPTIONS = "DENY"
# Served behind HTTPS (a proxy that terminates TLS and sets X-Forwarded-Proto): secure
# cookies, HSTS and a redirect to https for the admin. README: "Production".
SPINDLE_HTTPS = env_bool("SPINDLE_HTTPS", False)
if SPINDLE_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env_int("SPINDLE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

ROOT_URLCONF = "config.urls"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
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

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# No DATABASE_URL: SQLite in the working directory, so a fresh checkout just runs.
DATABASES = {"default": env_database("DATABASE_URL", str(Path.cwd() / "spindle.sqlite3"))}
# Services own their transactions; SSE responses must not hold one open.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
SPINDLE_DB_POOL_SIZE = env_int("SPINDLE_DB_POOL_SIZE", 20, minimum=1)
# Threads a web process gives its async views' database calls (core/db/asyncdb.py).
# Each keeps a pooled connection; synchronous views (the admin) need the rest of the pool.
SPINDLE_WEB_DB_THREADS = env_int(
    "SPINDLE_WEB_DB_THREADS", min(4, max(1, SPINDLE_DB_POOL_SIZE // 2)), minimum=1
)
if SPINDLE_WEB_DB_THREADS >= SPINDLE_DB_POOL_SIZE:
    raise ImproperlyConfigured(
        f"SPINDLE_WEB_DB_THREADS={SPINDLE_WEB_DB_THREADS} must be below"
        f" SPINDLE_DB_POOL_SIZE={SPINDLE_DB_POOL_SIZE}"
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters travel apart from the SQL, and psycopg prepares a statement once it has
    # run a few times on a connection: PostgreSQL then skips parsing and planning, which
    # cost it more than executing the run engine's small statements. (Django turns
    # prepared statements off by default for transaction-pooling proxies such as
    # PgBouncer before 1.21; SPINDLE_DB_PREPARE=0 does the same.)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True,
        prepare_threshold=5 if env_bool("SPINDLE_DB_PREPARE", True) else None,
    )
    if env_bool("SPINDLE_DB_POOL", False):
        # Under ASGI every request runs its sync code on a fresh thread, so persistent
        # connections would leak; a pool hands connections across threads instead.
        # config/asgi.py turns this on for the web process.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 2,
            "max_size": SPINDLE_DB_POOL_SIZE,
            "timeout": 10,
        }
    else:
        # Workers run one task after another on the same threads: keep connections.
        DATABASES["default"]["CONN_MAX_AGE"] = env_int("SPINDLE_DB_CONN_MAX_AGE", 60, minimum=0)
        # No ping before every task: the executor retries a run's claim, and the
        # checkpointer's thread (runs.executor.DatabaseThread) a call, once on a new
        # connection when the kept one has died (database restarted); a connection that
        # raised is closed before the next task.
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# `manage.py collectstatic` copies every app's files here; WhiteNoise serves them
# (with far-future caching of the hashed names it finds there).
STATIC_ROOT = BASE_DIR / "staticfiles"
# Without collectstatic (make dev, tests) WhiteNoise finds the files in the apps
# themselves, so the admin is styled from a fresh checkout.
WHITENOISE_USE_FINDERS = True
# Timestamps to the second in the admin (config/formats/en/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]

DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("SPINDLE_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=1024)

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.http.GateJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# GET /openapi.json is generated from the views' annotations; /docs serves Swagger UI from
# drf-spectacular-sidecar's files (no CDN). Paths, operation ids, tags and component names
# are the official document's.
SPECTACULAR_SETTINGS = {
    "TITLE": "Spindle",
    "DESCRIPTION": "A self-hosted LangGraph agent server: the LangGraph server API on Django, Celery, Redis and PostgreSQL.",
    "VERSION": "0.1.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The official document's tags, in its order.
    "TAGS": [
        {"name": "Assistants", "description": "An assistant is a configured instance of a graph."},
        {
            "name": "Threads",
            "description": "A thread contains the accumulated outputs of a group of runs.",
        },
        {
            "name": "Thread Runs",
            "description": "A run is an invocation of a graph / assistant on a thread. It updates the state of the thread.",
        },
        {
            "name": "Stateless Runs",
            "description": "A run is an invocation of a graph / assistant, with no state or memory persistence.",
        },
        {
            "name": "Crons",
            "description": "A cron is a periodic run that recurs on a given schedule. The repeats can be isolated, or share state in a thread",
        },
        {
            "name": "Store",
            "description": "Store is an API for managing persistent key-value store (long-term memory) that is available from any thread.",
        },
        {
            "name": "A2A",
            "description": "Agent-to-Agent Protocol related endpoints for exposing assistants as A2A-compliant agents.",
        },
        {
            "name": "MCP",
            "description": "Model Context Protocol related endpoints for exposing an agent as an MCP server.",
        },
        {
            "name": "System",
            "description": "System endpoints for health checks, metrics, and server information.",
        },
        {
            "name": "Streaming",
            "description": "Thread-centric streaming endpoints. Provides a structured command/event surface over SSE+HTTP; WebSocket is also supported at `/threads/{thread_id}/stream/events` (not documented here — OpenAPI 3.1 does not describe WebSocket).",
        },
    ],
    "SORT_OPERATIONS": False,
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    # Thread and run statuses share the field name "status": name each set.
    "ENUM_NAME_OVERRIDES": {
        "ThreadStatusEnum": "threads.models.ThreadStatus",
        # A stateless run's on_completion and a cron's on_run_completed: delete or keep the thread.
        "OnCompletionEnum": ["delete", "keep"],
    },
    "COMPONENT_SPLIT_REQUEST": False,
    "COMPONENT_SPLIT_PATCH": False,
    "DISABLE_ERRORS_AND_WARNINGS": False,
    # The agent protocols' components, some named only inside hand-written schemas.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "protocols.openapi.add_components",
    ],
}

# --- Spindle ---------------------------------------------------------------
LANGGRAPH_CONFIG = env_str("LANGGRAPH_CONFIG", str(Path.cwd() / "langgraph.json"))
_PROJECT = read_document(LANGGRAPH_CONFIG)
# Who may call the API (access/): API keys, or langgraph.json's custom auth, which wins
# when both are set. Neither: the API is open (the web process says so when it starts).
SPINDLE_API_KEYS = [
    key.strip() for key in env_str("SPINDLE_API_KEYS", "").split(",") if key.strip()
]
SPINDLE_AUTH_PATH = auth_path(_PROJECT, LANGGRAPH_CONFIG)
MIDDLEWARE.insert(0, "access.middleware.AccessMiddleware")
# Cross-origin access (LangGraph Studio in a browser) as langgraph.json's "http.cors" allows it.
_CORS = cors_settings(_PROJECT, LANGGRAPH_CONFIG)
if _CORS:
    globals().update(_CORS)
    INSTALLED_APPS.append("corsheaders")
    MIDDLEWARE.insert(0, "config.middleware.CorsMiddleware")
REDIS_URL = env_redis_url("REDIS_URL")
SPINDLE_HEARTBEAT_SECONDS = env_float("SPINDLE_HEARTBEAT_SECONDS", 5.0, minimum=0.1)
SPINDLE_STALE_AFTER_SECONDS = env_float("SPINDLE_STALE_AFTER_SECONDS", 30.0, minimum=1.0)
SPINDLE_CANCEL_GRACE_SECONDS = env_float("SPINDLE_CANCEL_GRACE_SECONDS", 5.0, minimum=0.0)
SPINDLE_SWEEP_SECONDS = env_float("SPINDLE_SWEEP_SECONDS", 10.0, minimum=0.5)
SPINDLE_REDISPATCH_AFTER_SECONDS = env_float("SPINDLE_REDISPATCH_AFTER_SECONDS", 30.0, minimum=1.0)
SPINDLE_RUN_TIMEOUT_SECONDS = env_int("SPINDLE_RUN_TIMEOUT_SECONDS", 3600, minimum=1)
# Per worker (pool) process: runs executing at once on its event loop. Agent runs spend
# nearly all their time waiting on a model, so one process serves many.
SPINDLE_RUNS_PER_WORKER = env_int("SPINDLE_RUNS_PER_WORKER", 50, minimum=1)
SPINDLE_STREAM_TTL_SECONDS = env_int("SPINDLE_STREAM_TTL_SECONDS", 600, minimum=1)
# Per process: Redis commands (run events mostly) kept while Redis is unreachable and sent
# in order once it answers (runs/outbox.py); beyond this many, new events are dropped.
SPINDLE_REDIS_BUFFER = env_int("SPINDLE_REDIS_BUFFER", 100_000, minimum=100)
# Per process: serialized checkpoint blobs kept in memory (0 turns the cache off).
SPINDLE_CHECKPOINT_CACHE_MB = env_int("SPINDLE_CHECKPOINT_CACHE_MB", 64, minimum=0)
# Webhooks: a separate task POSTs the run to its webhook when it ends.
SPINDLE_WEBHOOK_ALLOW_PRIVATE = env_bool("SPINDLE_WEBHOOK_ALLOW_PRIVATE", False)
SPINDLE_WEBHOOK_TIMEOUT_SECONDS = env_float("SPINDLE_WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=0.1)
SPINDLE_WEBHOOK_MAX_ATTEMPTS = env_int("SPINDLE_WEBHOOK_MAX_ATTEMPTS", 5, minimum=1)
SPINDLE_WEBHOOK_BACKOFF_SECONDS = env_float("SPINDLE_WEBHOOK_BACKOFF_SECONDS", 2.0, minimum=0.0)
# How often beat deletes expired store items and expired idle threads.
SPINDLE_TTL_SWEEP_SECONDS = env_float("SPINDLE_TTL_SWEEP_SECONDS", 60.0, minimum=0.5)

# --- Celery ------------------------------------------------------------------
# No REDIS_URL: `manage.py serve` starts an embedded Redis and sets it for its processes;
# elsewhere (tests, management commands) Celery falls back to an in-memory broker.
CELERY_BROKER_URL = broker_url(REDIS_URL) if REDIS_URL else "memory://"
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # kombu's Redis transport, with one Redis client per channel (config/broker.py).
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Messages are acknowledged on receipt. The run row is the source of truth: a run whose
# message was lost stays pending and the sweeper dispatches it again, a run whose worker
# died is ended by the sweeper, and the claim's compare-and-set makes a second delivery
# harmless. Late acks would add nothing but a message left unacknowledged for the whole
# run, and kombu's Redis transport crashes the worker ("Unrecoverable error") when it
# restores one while reconnecting after a Redis restart.
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# With acks on receipt, take a message only when a pool process is free: a busy worker
# does not hoard runs that an idle one could start. A process is busy only while it
# claims a run, or waits for one of its SPINDLE_RUNS_PER_WORKER slots (runs/runner.py).
CELERY_WORKER_DISABLE_PREFETCH = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Prefork, plus: a pool process that dies has its runs ended at once (runs/pool.py).
CELERY_WORKER_POOL = "runs.pool:RunTaskPool"
# Celery's Django fixup closes every database connection around every task unless this
# is set; the task itself calls close_old_connections(), which honours CONN_MAX_AGE
# and closes a connection that raised, so connections are reused while they work.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # With acks on receipt, kombu's emulated acks (each message parked in an "unacked"
    # hash, then removed) only cost Redis round trips: a message is taken with BRPOP and
    # gone. One lost between BRPOP and the task (the worker died) leaves its run pending,
    # and the sweeper dispatches it again.
    "ack_emulation": False,
    # Only read with ack emulation; kept longer than the longest run should it be turned on.
    "visibility_timeout": SPINDLE_RUN_TIMEOUT_SECONDS + 600,
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
}
CELERY_TASK_SOFT_TIME_LIMIT = SPINDLE_RUN_TIMEOUT_SECONDS
CELERY_TASK_TIME_LIMIT = SPINDLE_RUN_TIMEOUT_SECONDS + 60
# Schedules live in the database (django-celery-beat): crons are periodic tasks that
# operators see and pause in the admin; the entries below are synced into it at start.
# The run sweeper is not scheduled here: it runs in a process of its own (runs/sweeper.py),
# so that it needs no worker to consume its sweeps.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "sweep-store": {"task": "store.sweep_expired", "schedule": SPINDLE_TTL_SWEEP_SECONDS},
    "sweep-threads": {"task": "thread_ttl.sweep_expired", "schedule": SPINDLE_TTL_SWEEP_SECONDS},
    "redeliver-webhooks": {
        "task": "webhooks.redeliver_overdue",
        "schedule": SPINDLE_REDISPATCH_AFTER_SECONDS,
    },
}

# --- Logging -----------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "httpx": {"level": "WARNING"},
        # "ready." tells supervisors (and the test harness) that the worker is up.
        "celery.apps.worker": {"level": "INFO"},
    },
}
