"""Settings: one typed object, read once at start and passed in.

Variable names follow the original system (``APP_PORT``, ``APP_REDIS_HOST``, ...);
URL forms (``REDIS_URL``, ``DATABASE_URL``) win over the split host/port variables.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import AliasChoices, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from smartworker.errors import ConfigurationError

#: Where the bundled demo application (login + hazard handlers) lives.
DEMO_APP_ROOT = Path(__file__).resolve().parent / "demo_app"
DEMO_APP_MODULE = "swdemo"


#: Defaults of AI_TIMEOUT (s) and AI_CANDIDATES when AI_SERVICE_URL is set: a served model answers
#: in seconds, so a call that takes minutes is a fault.
REMOTE_LLM_SIZING: dict[str, Any] = {"ai_timeout_s": 120.0, "ai_candidates": 1}
#: ... and when the bundled local model serves fixes: Qwen2.5-Coder-1.5B on two shared cores spends
#: one to several minutes on a call (FixBench runs use AI_TIMEOUT=600-900), and its later
#: candidates fix what its first misses (FixBench: 36 % at four candidates, 21 % at one).
LOCAL_LLM_SIZING: dict[str, Any] = {"ai_timeout_s": 900.0, "ai_candidates": 4}


def _env(name: str, default: Any, *aliases: str, **kw: Any) -> Any:
    """A field read from environment variable ``name`` (case-insensitive), or from one of ``aliases``."""
    names = [n for variable in (name, *aliases) for n in (variable, variable.lower())]
    return Field(default, validation_alias=AliasChoices(*names), **kw)


def default_data_dir() -> Path:
    """The per-user data directory (``$XDG_DATA_HOME/smartworker``, else ``~/.local/share/smartworker``).

    Absolute, so every command finds the same system wherever it is run from.
    """
    import platformdirs

    return Path(platformdirs.user_data_dir("smartworker", appauthor=False)).resolve()


class Settings(BaseSettings):
    """Every knob SmartWorker reads from the environment or ``.env``."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False, frozen=True,
        populate_by_name=True,
    )

    # -- process --------------------------------------------------------------------------------
    node_env: Literal["development", "production", "test"] = _env("NODE_ENV", "development")
    host: str = _env("APP_HOST", "127.0.0.1")
    port: int = _env("APP_PORT", 9090, ge=1, le=65535)
    #: Unset: the per-user data dir (see default_data_dir); a relative value is made absolute at start.
    data_dir: Path = Field(default_factory=default_data_dir,
                           validation_alias=AliasChoices("APP_DATA_DIR", "app_data_dir"))
    log_level: Literal["debug", "info", "warning", "error"] = _env("LOG_LEVEL", "info")

    # -- application code ---------------------------------------------------------------------------
    root_dir: Path = _env("APP_ROOT_DIR", DEMO_APP_ROOT)
    app_module: str = _env("SMARTWORKER_APP", DEMO_APP_MODULE, pattern=r"^[A-Za-z_][\w.]*$")
    hazard_testing: bool = _env("HAZARD_TESTING", False)

    # -- redis and queues ---------------------------------------------------------------------------
    redis_url: str | None = _env("REDIS_URL", None)
    redis_host: str | None = _env("APP_REDIS_HOST", None)
    redis_port: int = _env("APP_REDIS_PORT", 6379, ge=1, le=65535)
    redis_password: str | None = _env("APP_REDIS_PASSWORD", None)
    redis_db: int = _env("APP_REDIS_DB", 0, ge=0)
    queue_name: str = _env("APP_QUEUE_NAME", "login", pattern=r"^[A-Za-z0-9_.-]+$")
    queue_prefix: str = _env("APP_QUEUE_PREFIX", "bull", pattern=r"^[A-Za-z0-9_.-]+$")
    job_attempts: int = _env("JOB_ATTEMPTS", 3, ge=1, le=100)
    job_backoff_ms: int = _env("JOB_BACKOFF_MS", 1000, ge=0)
    worker_concurrency: int = _env("WORKER_CONCURRENCY", 4, ge=1, le=1000)
    # Recovery after a worker dies (SIGKILL, OOM, lost machine): its jobs' locks lapse at most
    # LOCK_DURATION after their last renewal, and the next stalled check (one per STALLED_INTERVAL
    # across all workers) puts them back in the queue, so they run again within about
    # LOCK_DURATION + STALLED_INTERVAL: 12 s with these defaults (BullMQ's 30 s + 30 s took 45-80 s).
    # The price of a short lock: BullMQ renews it from the event loop every LOCK_DURATION/4 to /2,
    # so an async handler that blocks the loop (sync CPU or I/O without to_thread) for more than
    # LOCK_DURATION/2 (5 s) can lose it; another worker then runs the job again while the first
    # still runs it (the first one's result is refused), and a second stall fails it for good.
    # Sync handlers run in a thread and are not affected. The price of a short interval: one
    # stalled-check script per queue per worker every STALLED_INTERVAL (3 queues: 1.5 calls/s per
    # process), of which one per interval scans the active list; lock renewals are one batched
    # script per worker every LOCK_DURATION/4 while it holds jobs.
    lock_duration_ms: int = _env("WORKER_LOCK_DURATION_MS", 10000, ge=1000)
    stalled_interval_ms: int = _env("WORKER_STALLED_INTERVAL_MS", 2000, ge=500)
    shutdown_timeout_s: float = _env("SHUTDOWN_TIMEOUT", 30.0, ge=0)
    keep_completed: int = _env("KEEP_COMPLETED_JOBS", 1000, ge=0)

    # -- database (memory) --------------------------------------------------------------------------
    database_url: str | None = _env("DATABASE_URL", None)
    db_host: str | None = _env("APP_DB_HOST", None)
    db_port: int = _env("APP_DB_PORT", 5432, ge=1, le=65535)
    db_user: str = _env("APP_DB_USER", "postgres")
    db_password: str | None = _env("APP_DB_PASSWORD", None)
    db_name: str = _env("APP_DB_NAME", "smartworker")
    embedded_services: bool = _env("APP_EMBEDDED", True)

    # -- AI --------------------------------------------------------------------------------------
    ai_service_url: str | None = _env("AI_SERVICE_URL", None)
    ai_model_name: str = _env("AI_MODEL_NAME", "qwen2.5-coder-1.5b-instruct")
    ai_api_key: str | None = _env("AI_API_KEY", None)
    #: Unset: REMOTE_LLM_SIZING, or LOCAL_LLM_SIZING when the bundled model serves fixes (see below).
    ai_timeout_s: float = _env("AI_TIMEOUT", 120.0, gt=0)
    ai_max_retries: int = _env("AI_MAX_RETRIES", 3, ge=0, le=10)
    ai_max_tokens: int = _env("AI_MAX_TOKENS", 1024, ge=16)
    ai_token_budget: int = _env("AI_TOKEN_BUDGET", 20000, ge=100)
    ai_temperature: float = _env("AI_TEMPERATURE", 0.2, ge=0, le=2)
    #: Unset: as AI_TIMEOUT, sized for the model that serves fixes.
    ai_candidates: int = _env("AI_CANDIDATES", 1, ge=1, le=16)
    #: Candidate k asks with seed AI_SEED + k, so a run is repeatable on one server (llama.cpp and
    #: vLLM honour it); another AI_SEED draws other replies to the same prompts (FixBench's spread).
    ai_seed: int = _env("AI_SEED", 0, ge=0)
    #: Ask the model whether a verified fix's result keeps the docstring's promise (reasoning/contract.py).
    ai_output_review: bool = _env("AI_OUTPUT_REVIEW", True)
    ai_local_llm: bool = _env("AI_LOCAL_LLM", True)
    ai_local_llm_port: int = _env("AI_LOCAL_LLM_PORT", 8088, ge=1, le=65535)
    ai_embedding_provider: Literal["local", "http"] = _env("AI_EMBEDDING_PROVIDER", "local")
    ai_embedding_url: str | None = _env("AI_EMBEDDING_URL", None)
    ai_embedding_model: str = _env("AI_EMBEDDING_MODEL", "all-MiniLM-L6-v2")

    # -- memory weights -----------------------------------------------------------------------------
    weight_error_signature: float = _env("MEMORY_WEIGHT_ERROR_SIGNATURE", 3.0, gt=0)
    weight_failure_location: float = _env("MEMORY_WEIGHT_FAILURE_LOCATION", 2.0, gt=0)
    weight_code_context: float = _env("MEMORY_WEIGHT_CODE_CONTEXT", 1.0, gt=0)
    weight_metadata: float = _env("MEMORY_WEIGHT_METADATA", 0.5, gt=0)
    memory_top_k: int = _env("MEMORY_TOP_K", 10, ge=1, le=200)

    # -- sandbox ------------------------------------------------------------------------------------
    sandbox_backend: Literal["bwrap", "docker"] = _env("SANDBOX_BACKEND", "bwrap")
    sandbox_timeout_s: float = _env("SANDBOX_TIMEOUT", 10.0, gt=0)
    sandbox_memory_mb: int = _env("SANDBOX_MEMORY_MB", 512, ge=32)
    sandbox_cpu_s: int = _env("SANDBOX_CPU_SECONDS", 10, ge=1)
    sandbox_max_procs: int = _env("SANDBOX_MAX_PROCS", 64, ge=1)
    sandbox_file_mb: int = _env("SANDBOX_FILE_MB", 16, ge=1)
    sandbox_concurrency: int = _env("SANDBOX_CONCURRENCY", 2, ge=1, le=64)
    sandbox_replay_k: int = _env("SANDBOX_REPLAY_K", 3, ge=0, le=50)
    #: A replayed earlier job must also return what the original code returns for it (when stable).
    sandbox_replay_compare: bool = _env("SANDBOX_REPLAY_COMPARE", True)
    #: Also run the failing data with touched fields null instead of absent (and the reverse).
    sandbox_variants: bool = _env("SANDBOX_VARIANTS", True)
    sandbox_docker_image: str = _env("SANDBOX_DOCKER_IMAGE", "python:3.11-slim")

    # -- email --------------------------------------------------------------------------------------
    smtp_host: str | None = _env("APP_SMTP_HOST", None)
    smtp_port: int = _env("APP_SMTP_PORT", 25, ge=1, le=65535)
    smtp_user: str | None = _env("APP_SMTP_USER", None)
    # The original system's APP_SMTP_PASS and APP_SMTP_TO_USER are accepted too.
    smtp_password: str | None = _env("APP_SMTP_PASSWORD", None, "APP_SMTP_PASS")
    smtp_from: str = _env("APP_SMTP_FROM", "smartworker@localhost")
    smtp_to: str = _env("APP_SMTP_TO", "ops@localhost", "APP_SMTP_TO_USER")
    smtp_tls: Literal["none", "starttls", "tls"] = _env("APP_SMTP_TLS", "none")
    smtp_timeout_s: float = _env("APP_SMTP_TIMEOUT", 10.0, gt=0)
    smtp_retries: int = _env("APP_SMTP_RETRIES", 3, ge=0, le=10)

    # -- fix delivery: branch, review, pull requests, heal (smartworker.fixes) ------------------------
    #: Let a person's ``apply`` step write a verified fix into APP_ROOT_DIR's working tree.
    fix_apply: bool = _env("FIX_APPLY", False)
    #: Author and committer of the fix branches' commits.
    fix_author_name: str = _env("FIX_AUTHOR_NAME", "SmartWorker", min_length=1, max_length=200,
                                pattern=r"^[^<>\n\r]+$")
    fix_author_email: str = _env("FIX_AUTHOR_EMAIL", "smartworker@localhost", min_length=3, max_length=200,
                                 pattern=r"^[^<>\s@]+@[^<>\s@]+$")
    #: Open a pull (GitHub) or merge (GitLab) request when a fix is approved.
    fix_pr_provider: Literal["none", "github", "gitlab"] = _env("FIX_PR_PROVIDER", "none")
    fix_pr_token: str | None = _env("FIX_PR_TOKEN", None, validate_default=True)
    #: "owner/name" on GitHub, "group/project" (or the numeric id) on GitLab.
    fix_pr_repository: str | None = _env("FIX_PR_REPOSITORY", None, validate_default=True,
                                         pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
    fix_pr_api_url: str | None = _env("FIX_PR_API_URL", None)
    #: The git remote (a name, a URL or a path) the fix branch is pushed to.
    fix_pr_remote: str = _env("FIX_PR_REMOTE", "origin", min_length=1, pattern=r"^[^-\s][^\s]*$")
    #: The branch a pull request targets; unset means the repository's default branch.
    fix_pr_base: str | None = _env("FIX_PR_BASE", None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$")
    #: Dead jobs retried at once when a fix is applied or deployed; the next batch waits for these.
    fix_heal_batch: int = _env("FIX_HEAL_BATCH", 50, ge=1, le=1000)
    # -- safety: access, input limits, outage bounds (issue 20) -------------------------------------
    #: An admin key given in the environment (compared, never stored): lets a container bound to
    #: 0.0.0.0 start before any key was created with `smartworker keys create`.
    api_key: str | None = _env("APP_API_KEY", None, min_length=16)
    #: Request bodies above this many bytes are refused with 413 before they are read.
    max_body_bytes: int = _env("APP_MAX_BODY_BYTES", 4 * 1024 * 1024, ge=1024)
    #: Bound on connecting to Redis and on each command the API and producers send.
    redis_timeout_s: float = _env("APP_REDIS_TIMEOUT", 1.0, gt=0, le=60)
    #: Bound on connecting to PostgreSQL (whole seconds, as libpq counts them) and on each query.
    db_timeout_s: int = _env("APP_DB_TIMEOUT", 3, ge=1, le=600)
    #: First pause of the LLM circuit breaker after the server stopped answering; doubles per
    #: failed probe up to AI_BREAKER_MAX_BACKOFF.
    ai_breaker_backoff_s: float = _env("AI_BREAKER_BACKOFF", 5.0, gt=0)
    ai_breaker_max_backoff_s: float = _env("AI_BREAKER_MAX_BACKOFF", 300.0, gt=0)
    # -- observability: Prometheus metrics and OpenTelemetry traces (issue 24) -----------------------
    #: Count jobs, resolutions, LLM calls, sandbox runs and memory searches for GET /metrics;
    #: false turns every hook into a no-op (the throughput benchmark's "metrics off").
    metrics_enabled: bool = _env("APP_METRICS", True)
    #: Where the processes of one system keep their metric files (prometheus-client's multi-process
    #: mode, read by the process serving /metrics); unset: <APP_DATA_DIR>/metrics.
    metrics_dir: Path | None = _env("PROMETHEUS_MULTIPROC_DIR", None)
    #: OTLP/HTTP collector traces are sent to (e.g. http://127.0.0.1:4318); unset: no traces.
    otel_endpoint: str | None = _env("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    #: The service.name traces carry.
    otel_service_name: str = _env("OTEL_SERVICE_NAME", "smartworker", min_length=1)

    # -- escalation (verdict team): a stronger model the loop goes on with when the first one's
    # candidates gave no verified fix; unset URL: no escalation.
    ai_escalation_url: str | None = _env("AI_ESCALATION_URL", None)
    ai_escalation_model: str = _env("AI_ESCALATION_MODEL", "")
    ai_escalation_api_key: str | None = _env("AI_ESCALATION_API_KEY", None)
    ai_escalation_candidates: int = _env("AI_ESCALATION_CANDIDATES", 2, ge=0, le=16)

    # -- demo: defaults sized for the model that serves fixes (issue 18) ---------------------------
    @model_validator(mode="after")
    def _size_for_the_model(self) -> Settings:
        # The bundled 1.5B model on a few cores takes minutes per answer and needs several tries
        # (bench/demo.py, FixBench); a remote server answers in seconds. Explicit settings win.
        sizing = REMOTE_LLM_SIZING if self.ai_service_url else LOCAL_LLM_SIZING
        for name, value in sizing.items():
            if name not in self.model_fields_set:
                object.__setattr__(self, name, value)  # frozen model: set once, while validating
        return self

    @property
    def llm_sizing(self) -> Literal["local", "remote"]:
        """Which defaults AI_TIMEOUT and AI_CANDIDATES take when unset."""
        return "remote" if self.ai_service_url else "local"

    @field_validator("redis_url", "database_url", "ai_service_url", "ai_embedding_url", "ai_escalation_url",
                     "smtp_host", "redis_host", "db_host", "api_key", "otel_endpoint", "metrics_dir",
                     mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # An empty variable in .env or docker-compose means "not configured", not "empty host".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return Path(os.path.abspath(value.expanduser()))

    @field_validator("fix_pr_provider", mode="before")
    @classmethod
    def _blank_provider(cls, value: Any) -> Any:
        return "none" if isinstance(value, str) and not value.strip() else value

    @field_validator("fix_pr_token", "fix_pr_repository", mode="before")
    @classmethod
    def _pr_needs(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            value = value.strip() or None
        if value is None and info.data.get("fix_pr_provider", "none") != "none":
            raise ValueError("required when FIX_PR_PROVIDER is github or gitlab")
        if info.field_name == "fix_pr_repository" and isinstance(value, str) and {".", ".."} & set(value.split("/")):
            raise ValueError("'.' and '..' are not repository path parts")
        return value

    @field_validator("fix_pr_api_url")
    @classmethod
    def _pr_api_scheme(cls, value: str | None) -> str | None:
        if value is not None and value.strip() and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.strip().rstrip("/") if value and value.strip() else None

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("database_url")
    @classmethod
    def _db_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgres://", "postgresql://")):
            raise ValueError("expected a postgresql:// URL")
        return value

    # -- derived --------------------------------------------------------------------------------
    @property
    def production(self) -> bool:
        """True when logs should be JSON."""
        return self.node_env == "production"

    @property
    def redis_configured(self) -> bool:
        """True when the user pointed us at a Redis server; otherwise we embed one."""
        return bool(self.redis_url or self.redis_host)

    def redis_dsn(self) -> str | None:
        """The configured Redis URL, or None when Redis should be embedded."""
        if self.redis_url:
            return self.redis_url
        if self.redis_host:
            auth = f":{quote(self.redis_password, safe='')}@" if self.redis_password else ""
            return f"redis://{auth}{self.redis_host}:{self.redis_port}/{self.redis_db}"
        return None

    @property
    def database_configured(self) -> bool:
        """True when the user pointed us at PostgreSQL; otherwise we may embed one."""
        return bool(self.database_url or self.db_host)

    def database_dsn(self) -> str | None:
        """The configured PostgreSQL URL, or None when it should be embedded."""
        if self.database_url:
            return self.database_url
        if self.db_host:
            auth = quote(self.db_user, safe="")
            if self.db_password:
                auth += ":" + quote(self.db_password, safe="")
            return f"postgresql://{auth}@{self.db_host}:{self.db_port}/{quote(self.db_name, safe='')}"
        return None

    @cached_property
    def app_root(self) -> Path:
        """APP_ROOT_DIR, resolved: the only tree the AI layer reads code from."""
        return self.root_dir.expanduser().resolve()

    @property
    def memory_weights(self) -> dict[str, float]:
        """Weight per embedding category."""
        return {
            "error_signature": self.weight_error_signature,
            "failure_location": self.weight_failure_location,
            "code_context": self.weight_code_context,
            "metadata": self.weight_metadata,
        }


#: Field name -> the environment variable a user sets, for error messages.
def _variable_for(field: str) -> str:
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices) and alias.choices:
        return str(alias.choices[0])
    return field.upper()


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and ``.env``.

    Raises ConfigurationError with one line naming the variable and what was expected.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err.get("loc") or ("?",)
        name = _variable_for(str(loc[0]))
        given = err.get("input")
        # Never echo a value that may carry a credential.
        secret = any(word in name for word in ("PASSWORD", "KEY", "URL", "TOKEN"))
        shown = "" if secret or isinstance(given, dict) else f" (got {given!r})"
        raise ConfigurationError(f"{name}: {err.get('msg', 'invalid value')}{shown}") from None
