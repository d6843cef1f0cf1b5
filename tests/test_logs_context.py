"""Log lines carry what the thread is working on (a job id, a Slack request id), in JSON and in text."""

from __future__ import annotations

import io
import json
import logging

from govbot.logs import JsonFormatter, TextFormatter, current_context, log_context


def lines(formatter: logging.Formatter, write) -> list[str]:  # type: ignore[no-untyped-def]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger("govbot.test.context")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        write(logger)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue().splitlines()


def test_json_lines_carry_the_job_id_inside_the_block_only():
    def write(logger):  # type: ignore[no-untyped-def]
        with log_context(job_id="send-survey:pulse:20261125T100000"):
            logger.info("inside")
            with log_context(slack_request="Ev0ABC"):
                assert current_context() == {"job_id": "send-survey:pulse:20261125T100000",
                                             "slack_request": "Ev0ABC"}
                logger.info("nested")
        logger.info("outside")

    inside, nested, outside = (json.loads(line) for line in lines(JsonFormatter(), write))
    assert inside["job_id"] == "send-survey:pulse:20261125T100000" and "slack_request" not in inside
    assert nested["slack_request"] == "Ev0ABC" and nested["job_id"] == inside["job_id"]
    assert "job_id" not in outside and outside["message"] == "outside"


def test_text_lines_end_with_the_context_fields():
    def write(logger):  # type: ignore[no-untyped-def]
        with log_context(job_id="plan-sprints:payments:1"):
            logger.info("planning")
        logger.info("idle")

    planning, idle = lines(TextFormatter("%(message)s"), write)
    assert planning == "planning job_id=plan-sprints:payments:1" and idle == "idle"
