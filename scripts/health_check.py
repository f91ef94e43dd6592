"""Check a deployed stack's endpoints until every one answers healthy or the time is up.

The endpoints are each monitored service of the stack's settings (its health URL, expected status
and keyword) and every `*_url` the stack exports (`pulumi stack output --json`). Prints one line
per endpoint; exits 0 when all are healthy, 1 otherwise.

    python -m scripts.health_check --stack staging --outputs outputs.json --timeout 300
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.settings import Settings
from preview.harness import stack_settings

USER_AGENT = "observability-health-check"
BODY_LIMIT = 1_000_000
"""Bytes of a response searched for the keyword; health pages are small."""


@dataclass(frozen=True)
class Endpoint:
    """One URL a healthy stack answers, and what counts as healthy there."""

    name: str
    url: str
    expected_status: int | None = None
    """None accepts any status below 400 (after redirects)."""
    keyword: str | None = None


def endpoints_from_settings(settings: Settings) -> list[Endpoint]:
    """Each monitored service's health URL, with its expected status and keyword."""
    return [
        Endpoint(
            f"service {service.name}", service.health_url, service.expected_status, service.keyword
        )
        for service in settings.services
    ]


def endpoints_from_outputs(outputs: Mapping[str, Any]) -> list[Endpoint]:
    """Every exported `*_url` output that is a plain http(s) URL."""
    return [
        Endpoint(f"output {key}", value)
        for key, value in sorted(outputs.items())
        if key.endswith("_url")
        and isinstance(value, str)
        and value.startswith(("http://", "https://"))
    ]


def probe(endpoint: Endpoint, timeout: float) -> str | None:
    """None if the endpoint answers healthy now, else what is wrong."""
    request = urllib.request.Request(endpoint.url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read(BODY_LIMIT)
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read(BODY_LIMIT)
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return f"unreachable ({reason})"

    if endpoint.expected_status is not None and status != endpoint.expected_status:
        return f"answered {status}, expected {endpoint.expected_status}"
    if endpoint.expected_status is None and status >= 400:
        return f"answered {status}"
    if endpoint.keyword and endpoint.keyword not in body.decode("utf-8", errors="replace"):
        return f"answered {status} without {endpoint.keyword!r}"
    return None


def wait_until_healthy(
    endpoints: Sequence[Endpoint],
    *,
    timeout: float,
    interval: float,
    probe_timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str | None]:
    """Probe until every endpoint is healthy or `timeout` seconds passed; the last results."""
    started = clock()
    results: dict[str, str | None] = {}
    pending = list(endpoints)
    while True:
        for endpoint in pending:
            results[endpoint.name] = probe(endpoint, probe_timeout)
        pending = [endpoint for endpoint in pending if results[endpoint.name] is not None]
        if not pending or clock() - started >= timeout:
            return results
        sleep(interval)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="the stack whose settings list services")
    parser.add_argument("--outputs", type=Path, help="`pulumi stack output --json` of the stack")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait in total")
    parser.add_argument("--interval", type=float, default=10, help="seconds between rounds")
    parser.add_argument("--probe-timeout", type=float, default=10, help="seconds per request")
    args = parser.parse_args(argv)

    endpoints = endpoints_from_settings(stack_settings(args.stack))
    if args.outputs is not None:
        endpoints += endpoints_from_outputs(json.loads(args.outputs.read_text()))

    results = wait_until_healthy(
        endpoints, timeout=args.timeout, interval=args.interval, probe_timeout=args.probe_timeout
    )
    for endpoint in endpoints:
        problem = results[endpoint.name]
        print(
            f"{'ok  ' if problem is None else 'FAIL'} {endpoint.name} {endpoint.url}"
            + (f": {problem}" if problem else "")
        )
    unhealthy = sum(problem is not None for problem in results.values())
    print(f"{args.stack}: {len(endpoints) - unhealthy} healthy, {unhealthy} unhealthy")
    return 1 if unhealthy else 0


if __name__ == "__main__":
    sys.exit(main())
