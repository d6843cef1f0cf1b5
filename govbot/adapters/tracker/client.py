"""The Jira client every tracker call goes through: Cloud or Data Center, retries, errors that say what to do.

This is the one package that imports the ``jira`` package. It uses the package for the session, authentication
and the calls it gets right (fields, myself, create sprint, move issues, comment), and the package's session
with explicit URLs where the package does not fit govbot: Cloud's ``/rest/api/3/search/jql`` with
``nextPageToken``, partial sprint updates with ``POST`` (the package's ``PUT`` nulls the fields it omits),
labels changed with update operations, and retries that are bounded and testable (the package's own retry
loop is switched off).

Every HTTP request goes through ``JiraClient._call``, which counts it, retries 429/503 (honouring
``Retry-After``), gateway errors and connection failures with capped exponential backoff, and turns failures
into the ``TrackerError`` family, whose messages say what to do and never contain a secret. ``search.py`` (JQL
and paging), ``issues.py`` (one issue) and ``agile.py`` (boards and sprints) build on it; ``JiraTracker`` joins
them.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from jira import JIRA, JIRAError
from jira.resilientsession import parse_errors
from urllib3.exceptions import NewConnectionError

from govbot.domain.work import SprintState
from govbot.metrics import count_jira_attempt

T = TypeVar("T")

API_V2 = "{server}/rest/api/2/{path}"
API_V3 = "{server}/rest/api/3/{path}"
AGILE = "{server}/rest/agile/1.0/{path}"

FIRST_BACKOFF = 0.5  # seconds; doubles on each retry up to max_backoff

# Worth retrying: rate limits and gateways/outages. 429 and 503 also mean "not processed", so they are safe to
# retry even for a request that is not idempotent (creating a sprint, posting a comment).
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
NOT_PROCESSED_STATUSES = frozenset({429, 503})

SPRINT_STATES: tuple[SprintState, ...] = ("future", "active", "closed")
SPRINT_FIELD_TYPE = "com.pyxis.greenhopper.jira:gh-sprint"
EPIC_LINK_FIELD_TYPE = "com.pyxis.greenhopper.jira:gh-epic-link"


CREDENTIALS_HINT = "check JIRA_EMAIL and JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center)"


# --- errors


class TrackerError(Exception):
    """Jira could not do what govbot asked; ``str(error)`` is a sentence for the manager saying what to do."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message


class TrackerAuthError(TrackerError):
    """Jira refused govbot's credentials or permissions (401/403)."""


class TrackerNotFound(TrackerError):
    """The board, sprint or issue does not exist, or govbot's account cannot see it (404)."""


class TrackerUnavailable(TrackerError):
    """Jira is rate-limiting, down or unreachable, even after retries: try again later."""


class BoardHasNoSprints(TrackerError):
    """The board is a Kanban board: it has no sprints."""


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _positive_id(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{_shown(value)} is not a Jira {what} id: it must be a positive whole number.")
    return value


# --- the client


class JiraClient:
    """Jira Cloud (email + API token) or Data Center (personal access token) over REST, bounded retries.

    The connection, the instance facts read once, and ``_call``; the search, issue and agile parts build on it.
    """

    def __init__(
        self,
        *,
        url: str,
        email: str | None = None,
        api_token: str | None = None,
        pat: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 4,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(url, str) or not re.match(r"https?://[^/\s]+", url):
            raise ValueError("JIRA_URL must be an http(s) URL such as https://example.atlassian.net")
        if timeout <= 0 or max_retries < 0 or max_backoff < 0:
            raise ValueError("timeout must be positive; max_retries and max_backoff must not be negative")
        # A personal access token means Data Center; it is documented as the alternative to email + token.
        if pat:
            auth: dict[str, Any] = {"token_auth": pat}
            self._secrets: tuple[str, ...] = (pat,)
        elif email and api_token:
            auth = {"basic_auth": (email, api_token)}
            self._secrets = (api_token,)
        else:
            raise ValueError(f"Jira credentials are missing: {CREDENTIALS_HINT}.")
        self.url = url.rstrip("/")
        self.calls = 0
        self._max_retries = max_retries
        self._max_backoff = max_backoff
        self._sleep = sleep
        self._lock = threading.RLock()
        self._deployment: str | None = None
        self._custom_fields: dict[str, str | None] | None = None
        self._user_zone: tzinfo | None = None
        # get_server_info=False: the package would call serverInfo in its constructor, outside our retries.
        # max_retries=0: its ResilientSession then makes one attempt and raises; _call owns retrying.
        self._jira = JIRA(
            server=self.url,
            options={"check_update": False, "rest_api_version": "2"},
            get_server_info=False,
            max_retries=0,
            timeout=timeout,
            **auth,
        )
        self._session = self._jira._session
        _settle_environment(self._session, self.url)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, deployment={self._deployment!r})"

    def close(self) -> None:
        """Close the HTTP session."""
        self._jira.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- instance facts, each read once

    @property
    def deployment(self) -> str:
        """Either "cloud" or "datacenter", from serverInfo's deploymentType (read on first use)."""
        with self._lock:
            if self._deployment is None:
                info = self._call("reading Jira's server info", lambda: self._jira._get_json("serverInfo"))
                kind = info.get("deploymentType") if isinstance(info, dict) else None
                self._jira.deploymentType = kind
                self._deployment = "cloud" if kind == "Cloud" else "datacenter"
            return self._deployment

    def _fields(self) -> dict[str, str | None]:
        """Ids of the instance's Sprint and Epic Link fields (they differ per instance)."""
        with self._lock:
            if self._custom_fields is None:
                found: dict[str, str | None] = {"sprint": None, "epic_link": None}
                for field in self._call("reading Jira's field list", self._jira.fields):
                    custom_type = (field.get("schema") or {}).get("custom")
                    if custom_type == SPRINT_FIELD_TYPE:
                        found["sprint"] = field.get("id")
                    elif custom_type == EPIC_LINK_FIELD_TYPE:
                        found["epic_link"] = field.get("id")
                self._custom_fields = found
            return self._custom_fields

    def _zone(self) -> tzinfo:
        """The time zone Jira reads JQL dates in: the profile zone of govbot's own Jira account."""
        with self._lock:
            if self._user_zone is None:
                me = self._call("reading govbot's Jira account", self._jira.myself)
                try:
                    self._user_zone = ZoneInfo(str(me.get("timeZone") or "UTC"))
                except (ZoneInfoNotFoundError, ValueError):
                    self._user_zone = UTC
            return self._user_zone

    # --- every request goes through here

    def _call(
        self,
        action: str,
        send: Callable[[], T],
        *,
        not_found: str | None = None,
        special: Callable[[int | None, str], TrackerError | None] | None = None,
        idempotent: bool = True,
    ) -> T:
        """Run one HTTP request (``send``), counting and retrying it; failures become TrackerError."""
        attempt = 0
        while True:
            with self._lock:
                self.calls += 1
            try:
                answer = send()
                count_jira_attempt("ok")
                return answer
            except JIRAError as error:
                status = error.status_code
                count_jira_attempt(status)
                retryable = status in (RETRYABLE_STATUSES if idempotent else NOT_PROCESSED_STATUSES)
                delay = self._delay(attempt, error.response) if retryable else None
                if delay is None or attempt >= self._max_retries:
                    raise self._translate(error, action, not_found, special) from None
            except requests.exceptions.JSONDecodeError:
                raise TrackerError(
                    f"Jira answered with something that is not JSON while {action}: check that JIRA_URL "
                    "points at Jira's base URL."
                ) from None
            except (requests.ConnectionError, requests.Timeout) as error:
                count_jira_attempt("unreachable")
                if attempt >= self._max_retries or not (idempotent or _never_reached_jira(error)):
                    raise self._unreachable(error, action, idempotent, attempt + 1) from None
                delay = self._backoff(attempt)
            except requests.RequestException as error:
                raise TrackerUnavailable(
                    f"The request to Jira failed while {action} ({type(error).__name__}): try again later."
                ) from None
            self._sleep(delay)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        return min(self._max_backoff, FIRST_BACKOFF * 2**attempt)

    def _delay(self, attempt: int, response: requests.Response | None) -> float | None:
        """Seconds to wait before retrying: Jira's Retry-After when given, else backoff; None to give up."""
        retry_after = _retry_after(response)
        if retry_after is None:
            return self._backoff(attempt)
        # Waiting longer than max_backoff would stall the caller; give up and let the job retry later instead.
        return retry_after if retry_after <= self._max_backoff else None

    def _translate(
        self,
        error: JIRAError,
        action: str,
        not_found: str | None,
        special: Callable[[int | None, str], TrackerError | None] | None,
    ) -> TrackerError:
        status = error.status_code
        detail = self._redact(_jira_says(error))
        if special is not None and (custom := special(status, detail)) is not None:
            return custom
        if status in (401, 403):
            return TrackerAuthError(
                f"Jira refused govbot's credentials (HTTP {status}) while {action}: {CREDENTIALS_HINT}, "
                "and that this account may see and edit the team's board.",
                status=status,
            )
        if status == 404:
            return TrackerNotFound(
                not_found or f"Jira found nothing while {action} ({detail}): check the team's Jira settings.",
                status=status,
            )
        if status == 429:
            wait = _retry_after(error.response)
            asked = f" (Jira asked to wait {wait:g} s)" if wait is not None else ""
            return TrackerUnavailable(
                f"Jira is rate-limiting govbot while {action}{asked}: try again later.", status=status
            )
        if status is not None and status >= 500:
            return TrackerUnavailable(
                f"Jira is unavailable (HTTP {status}) while {action}: try again later.", status=status
            )
        return TrackerError(
            f"Jira rejected govbot's request while {action} (HTTP {status}: {detail or 'no details'}): "
            "check the team's Jira settings (board, project and fields).",
            status=status,
        )

    def _unreachable(self, error: Exception, action: str, idempotent: bool, attempts: int) -> TrackerUnavailable:
        if isinstance(error, requests.Timeout):
            reason = "did not answer in time"
            if not idempotent and not _never_reached_jira(error):
                reason += " (the change may or may not have been made; govbot checks on its next run)"
        else:
            reason = "could not be reached"
        return TrackerUnavailable(
            f"Jira at {self.url} {reason} while {action}, after {attempts} attempt(s): "
            "try again later, and check JIRA_URL if it persists."
        )

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


def _settle_environment(session: requests.Session, url: str) -> None:
    """Read the proxy and CA-bundle environment once, for every request of this session.

    With ``trust_env`` requests reads the proxy variables (and ~/.netrc) again on every request; govbot's one
    Jira host needs them once: HTTPS_PROXY/HTTP_PROXY/ALL_PROXY unless NO_PROXY exempts JIRA_URL's host, and
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE when set. The session keeps its connections alive between requests.
    """
    proxies = requests.utils.get_environ_proxies(url)
    session.proxies = {scheme: proxy for scheme, proxy in proxies.items() if scheme != "no" and proxy}
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle and session.verify is True:
        session.verify = bundle
    session.trust_env = False


# --- shared mapping helpers


def _jira_says(error: JIRAError) -> str:
    """Jira's own error messages, short (never the request, whose headers carry credentials)."""
    messages = parse_errors(error.response) if error.response is not None else []
    text = "; ".join(m for m in messages if m) or (error.text or "")
    return text if len(text) <= 300 else text[:297] + "..."


def _retry_after(response: requests.Response | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is ignored: backoff applies)."""
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return max(0.0, seconds) if seconds is not None else None


def _never_reached_jira(error: Exception) -> bool:
    """True when the request cannot have reached Jira (no connection), so even a create is safe to resend."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    if isinstance(error, requests.ConnectionError) and error.args:
        return isinstance(getattr(error.args[0], "reason", None), NewConnectionError)
    return False


def _parse_time(value: Any) -> datetime | None:
    """Jira's timestamps (2024-01-10T09:15:00.000+0000, or ...Z in Agile) as aware datetimes."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _issue_not_found(key: str) -> str:
    return f"Jira issue {key} does not exist or govbot's Jira account cannot see it: check the issue key."
