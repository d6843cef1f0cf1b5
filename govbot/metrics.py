"""Every Prometheus metric govbot exports, in one place (docs/operations.md lists them and what to alert on).

Each process exports its own: web replicas the Slack request and call metrics, schedulers the job metrics and the
leader gauge. Names follow Prometheus conventions (``_total`` counters, ``_seconds`` histograms).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

JOB_RUNS = Counter("govbot_job_runs_total", "Job runs by kind and outcome (ok, error)", ["kind", "outcome"])
JOB_SECONDS = Histogram("govbot_job_seconds", "Job run time by kind", ["kind"],
                        buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800))
JOBS_RESUMED = Counter("govbot_jobs_resumed_total",
                       "Job runs of a dead or stopping process resumed by the leader, by kind", ["kind"])
LEADER = Gauge("govbot_scheduler_leader", "1 while this process leads the scheduler (runs the jobs), else 0")
LEADER_CHANGES = Counter("govbot_scheduler_leadership_acquired_total",
                         "Times this process became the scheduler leader")
SLACK_CALLS = Counter("govbot_slack_api_calls_total",
                      "Slack Web API HTTP attempts by method and HTTP status (0: no answer)", ["method", "status"])
SLACK_RATE_LIMITED = Counter("govbot_slack_rate_limited_total", "Slack answers of 429 (rate limited), by method",
                             ["method"])
JIRA_CALLS = Counter("govbot_jira_calls_total", "Jira HTTP attempts by outcome (ok, HTTP status, unreachable)",
                     ["outcome"])
JIRA_RATE_LIMITED = Counter("govbot_jira_rate_limited_total", "Jira answers of 429 (rate limited)")


class SlackCallMeter(RetryHandler):
    """Counts every Slack Web API attempt and every 429; never asks for a retry itself.

    slack_sdk shows each answer (success or error) to its retry handlers in order, so this one, listed first,
    sees every attempt, including those the real handlers then retry.
    """

    def __init__(self) -> None:
        super().__init__(max_retry_count=1_000_000)

    def _can_retry(
        self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = request.url.rstrip("/").rsplit("/", 1)[-1] or "unknown"
        status = response.status_code if response is not None else 0
        SLACK_CALLS.labels(method, str(status)).inc()
        if status == 429:
            SLACK_RATE_LIMITED.labels(method).inc()
        return False


def count_jira_attempt(outcome: Any) -> None:
    """One Jira HTTP attempt: "ok", its HTTP status, or "unreachable"."""
    JIRA_CALLS.labels(str(outcome)).inc()
    if outcome == 429:
        JIRA_RATE_LIMITED.inc()
