"""govbot's configuration: the environment variables of SPEC §1, read once and validated.

A missing or malformed variable stops start-up with one line naming it (``ConfigError``); secrets are
``SecretStr`` so that no repr, log line or error reply can print them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Annotated, Literal, cast

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

from govbot.domain.keys import Keyring

SLACK_USER = r"^[UW][A-Z0-9]{2,20}$"  # a Slack user id (U…, or W… on Enterprise Grid)
SLACK_USER_ID = re.compile(SLACK_USER)


def is_slack_user(text: str) -> bool:
    """Whether ``text`` is a Slack user id (so it can be shown as a mention)."""
    return SLACK_USER_ID.match(text) is not None

# Values that show a secret was copied from an example instead of generated.
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "xxx", "test", "sandbox", "please-change-me"}

ENV_NAMES = {
    "database_url": "DATABASE_URL",
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_api_url": "SLACK_API_URL",
    "jira_url": "JIRA_URL",
    "jira_email": "JIRA_EMAIL",
    "jira_api_token": "JIRA_API_TOKEN",
    "jira_pat": "JIRA_PAT",
    "secret_key": "GOVBOT_SECRET_KEY",
    "admins": "GOVBOT_ADMINS",
    "port": "GOVBOT_PORT",
    "log_format": "GOVBOT_LOG_FORMAT",
    "failover_seconds": "GOVBOT_FAILOVER_SECONDS",
    "verify_secret_keys": "GOVBOT_VERIFY_SECRET_KEYS",
}


class ConfigError(Exception):
    """A configuration problem, phrased as one line that names the variable and says what to do."""


class Settings(BaseSettings):
    """Everything govbot reads from the environment (SPEC §1)."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", populate_by_name=True)

    # Not a SecretStr (every adapter needs the plain URL), but kept out of reprs: it may carry a password.
    database_url: str = Field("sqlite:///govbot.db", validation_alias="DATABASE_URL", repr=False)
    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", validation_alias="SLACK_API_URL")
    jira_url: str | None = Field(None, validation_alias="JIRA_URL")
    jira_email: str | None = Field(None, validation_alias="JIRA_EMAIL")
    jira_api_token: SecretStr | None = Field(None, validation_alias="JIRA_API_TOKEN")
    jira_pat: SecretStr | None = Field(None, validation_alias="JIRA_PAT")
    secret_key: SecretStr | None = Field(None, validation_alias="GOVBOT_SECRET_KEY")
    admins: Annotated[tuple[str, ...], NoDecode] = Field((), validation_alias="GOVBOT_ADMINS")
    port: int = Field(3000, ge=1, le=65535, validation_alias="GOVBOT_PORT")
    log_format: Literal["text", "json"] = Field("text", validation_alias="GOVBOT_LOG_FORMAT")
    # How long a dead process's scheduler lock and claims may stand before another process takes over.
    failover_seconds: float = Field(30.0, ge=3, le=600, validation_alias="GOVBOT_FAILOVER_SECONDS")
    # Keys accepted when checking (the audit chain, survey participation) but never used to sign: the previous
    # GOVBOT_SECRET_KEY after a rotation (docs/operations.md).
    verify_secret_keys: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        (), validation_alias="GOVBOT_VERIFY_SECRET_KEYS")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            make_url(value)
        except Exception as exc:  # sqlalchemy raises ArgumentError with the URL in it: never echo it
            raise ValueError("is not a SQLAlchemy URL such as sqlite:///govbot.db") from exc
        return value

    @field_validator("slack_api_url", "jira_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None if value == "" else value
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        # slack_sdk joins method names with urljoin: without the slash the last path segment is replaced.
        return value if value.endswith("/") else value + "/"

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("verify_secret_keys", mode="before")
    @classmethod
    def _verify_keys(cls, value: object) -> tuple[SecretStr, ...]:
        if value is None:
            return ()
        items = value.split(",") if isinstance(value, str) else list(cast(Iterable[object], value))
        keys = []
        for item in items:
            text = item.get_secret_value() if isinstance(item, SecretStr) else str(item)
            if text.strip():
                keys.append(SecretStr(text.strip()))
        return tuple(keys)

    @field_validator("admins", mode="before")
    @classmethod
    def _admins(cls, value: object) -> tuple[str, ...]:
        if value is None:
            return ()
        items = value.split(",") if isinstance(value, str) else list(cast(Iterable[object], value))
        ids = tuple(str(item).strip() for item in items if str(item).strip())
        for user_id in ids:
            if not SLACK_USER_ID.match(user_id):
                raise ValueError("must be comma-separated Slack user IDs such as U0123ABCD")
        return ids

    # --- what each command needs -------------------------------------------------------------------------

    def require(self, *fields: str) -> None:
        """Stop with one line naming the first of these variables that is not set."""
        for name in fields:
            value = getattr(self, name)
            if value is None or (isinstance(value, SecretStr) and not value.get_secret_value()):
                raise ConfigError(f"{ENV_NAMES[name]} is not set: set it in the environment and start again.")

    def require_slack(self, *, socket: bool = False) -> None:
        """The variables the Slack app needs (Socket Mode also needs the app token)."""
        self.require("slack_bot_token", "slack_signing_secret")
        if socket:
            self.require("slack_app_token")

    def require_jira(self) -> None:
        """JIRA_URL and either Cloud (email + token) or Data Center (PAT) credentials."""
        self.require("jira_url")
        if self.jira_pat is None and (self.jira_email is None or self.jira_api_token is None):
            raise ConfigError(
                "JIRA_EMAIL and JIRA_API_TOKEN (Jira Cloud) or JIRA_PAT (Data Center) are not set: set one of them."
            )

    def secret_key_bytes(self) -> Keyring:
        """The key for participation hashes and the audit chain (with GOVBOT_VERIFY_SECRET_KEYS for checking)."""
        if self.secret_key is None:
            raise ConfigError("GOVBOT_SECRET_KEY is not set: generate one with `openssl rand -hex 32`.")
        return Keyring(self.secret_key.get_secret_value().encode(),
                       [key.get_secret_value().encode() for key in self.verify_secret_keys])


SANDBOX_SECRET_KEY = "govbot-sandbox-secret-key-not-for-production"  # noqa: S105 - refused outside the sandbox


def load_settings(*, sandbox: bool = False, **overrides: object) -> Settings:
    """Read and validate the environment; raise ConfigError with one line naming the bad variable.

    Outside the sandbox GOVBOT_SECRET_KEY is required and must not be a placeholder, because it keys the
    survey participation hashes and the audit chain.
    """
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        name = ENV_NAMES.get(field, field)
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name} is malformed: {message}.") from None
    if sandbox:
        if settings.secret_key is None:
            settings.secret_key = SecretStr(SANDBOX_SECRET_KEY)
        return settings
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    if key is None:
        raise ConfigError("GOVBOT_SECRET_KEY is not set: generate one with `openssl rand -hex 32` and set it.")
    if key.strip().lower() in PLACEHOLDER_SECRETS or key == SANDBOX_SECRET_KEY or len(key) < 16:
        raise ConfigError(
            "GOVBOT_SECRET_KEY is a placeholder or shorter than 16 characters: "
            "generate one with `openssl rand -hex 32`."
        )
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (production start-up path)."""
    return load_settings()
