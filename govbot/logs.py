"""Logging set-up: text or JSON lines, and a filter that scrubs anything that looks like a secret."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

SECRET_PATTERNS = [
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(token|secret|password|signature)=([^&\s]+)"),
]


def scrub(text: str) -> str:
    """Replace token-like substrings with a marker."""
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) + " [redacted]") if m.lastindex else "[redacted]", text)
    return text


class ScrubSecrets(logging.Filter):
    """Last line of defence: even a careless log call cannot print a token."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log pipelines."""

    def format(self, record: logging.LogRecord) -> str:
        body = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            body["error"] = scrub(self.formatException(record.exc_info))
        return json.dumps(body)


def setup_logging(fmt: str = "text", level: int = logging.INFO) -> None:
    """Configure the root logger once for the process."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ScrubSecrets())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "urllib3", "slack_bolt", "slack_sdk", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
