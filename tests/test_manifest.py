"""The Slack app manifest declares exactly what govbot needs, and every URL points at /slack/events."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import yaml

MANIFEST = Path(__file__).resolve().parent.parent / "manifests" / "slack" / "manifest.yaml"


def _urls(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("url") and isinstance(value, str):
                yield value
            else:
                yield from _urls(value)
    elif isinstance(node, list):
        for item in node:
            yield from _urls(item)


def test_manifest_structure():
    manifest = yaml.safe_load(MANIFEST.read_text())
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/govbot"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "im:write", "im:history", "users:read", "files:write", "channels:read"} <= scopes
    # A digest channel may be private: reading a private channel's details needs groups:read.
    assert "groups:read" in scopes


def test_usage_hint_lists_only_subcommands_that_exist():
    from govbot.runtime import surface

    subcommands = surface().subcommands
    manifest = yaml.safe_load(MANIFEST.read_text())
    hint = manifest["features"]["slash_commands"][0]["usage_hint"]
    for usage in (part.strip() for part in hint.split("|")):
        words = [w for w in usage.split() if not w.startswith(("--", '"', "KEY", "N"))]
        assert " ".join(words[:2]) in subcommands or words[0] in subcommands, usage


def test_every_url_points_at_slack_events():
    manifest = yaml.safe_load(MANIFEST.read_text())
    urls = list(_urls(manifest))
    assert len(urls) == 3
    for url in urls:
        parsed = urlparse(url)
        assert parsed.scheme == "https" and parsed.path == "/slack/events", url
