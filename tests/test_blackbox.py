"""The Blackbox Exporter's modules: the real exporter accepts them and probes with them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.metrics.render_blackbox import CONFIG_PATH, go_regexp_literal
from preview import Preview, run_preview
from tests.conftest import DEPLOYED_STACKS, preview_of, real_tool
from tests.daemons import LOOPBACK, Daemons, HttpService, free_ports, http_get

SERVICES = [
    {
        "name": "api",
        "health_url": "https://api.example.com/health",
        "metrics_target": "backend:8000",
        "keyword": '"status": "ok" (v1.2+) [a|b] $5 \\n',
    },
    {"name": "web", "health_url": "https://app.example.com/", "expected_status": 301},
    {"name": "docs", "health_url": "https://docs.example.com/", "expected_status": 204},
]


def blackbox_yml(preview: Preview) -> str:
    """The exporter's config as the preview's blackbox container receives it."""
    return preview.file(f"{preview.stack}-blackbox", CONFIG_PATH)


def modules(preview: Preview) -> dict[str, Any]:
    """The modules of the preview's exporter, by name."""
    return dict(yaml.safe_load(blackbox_yml(preview))["modules"])


def config_check(config: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the exporter's own `--config.check` on a config text."""
    path = tmp_path / "blackbox.yml"
    path.write_text(config)
    return subprocess.run(
        [real_tool("prometheus-blackbox-exporter"), "--config.check", f"--config.file={path}"],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_the_exporter_accepts_the_config_the_container_receives(stack: str, tmp_path: Path) -> None:
    """`prometheus-blackbox-exporter --config.check` passes."""
    result = config_check(blackbox_yml(preview_of(stack)), tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Config file is ok" in result.stderr


def test_the_exporter_accepts_modules_for_statuses_and_keywords(tmp_path: Path) -> None:
    """Modules built for other statuses and awkward keywords pass the exporter's check."""
    result = config_check(
        blackbox_yml(run_preview("staging", overrides={"services": SERVICES})), tmp_path
    )

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_http_tcp_and_icmp_modules_prefer_ipv4_within_the_probe_timeout(stack: str) -> None:
    """The generic modules exist; each ends before Prometheus gives up on the probe."""
    found = modules(preview_of(stack))

    assert {name: module["prober"] for name, module in found.items()} == {
        "http_2xx": "http",
        "tcp_connect": "tcp",
        "icmp": "icmp",
    }
    for module in found.values():
        assert module["timeout"] == "9.5s"
        assert module[module["prober"]]["preferred_ip_protocol"] == "ip4"
    assert "valid_status_codes" not in found["http_2xx"]["http"]


def test_a_service_with_another_status_or_a_keyword_gets_its_own_module() -> None:
    """The expected status is the only valid one; a 3xx is not followed; the keyword must match."""
    found = modules(run_preview("staging", overrides={"services": SERVICES}))

    assert set(found) == {"http_2xx", "tcp_connect", "icmp", "http_api", "http_web", "http_docs"}
    assert found["http_api"]["http"]["valid_status_codes"] == [200]
    assert found["http_api"]["http"]["fail_if_body_not_matches_regexp"] == [
        go_regexp_literal(SERVICES[0]["keyword"])
    ]
    assert found["http_web"]["http"] == {
        "preferred_ip_protocol": "ip4",
        "valid_status_codes": [301],
        "follow_redirects": False,
    }
    assert found["http_docs"]["http"]["valid_status_codes"] == [204]
    assert "follow_redirects" not in found["http_docs"]["http"]


@pytest.mark.parametrize(
    "keyword", ['"status": "ok"', "(v1.2+)", "[a|b] $5 ^x", "a\\nb", "price: 5.00 {€}", "plain"]
)
def test_a_keyword_matches_itself_literally(keyword: str) -> None:
    """Regular-expression characters are escaped the way Go's QuoteMeta escapes them."""
    pattern = go_regexp_literal(keyword)

    assert re.fullmatch(pattern, keyword)
    assert not re.search(pattern, keyword[:-1] + "\x00")
    assert re.sub(r"\\[\\.+*?()|\[\]{}^$]", "", pattern).count("\\") == 0


def test_icmp_probes_get_the_raw_socket_capability() -> None:
    """The container adds CAP_NET_RAW and nothing else."""
    inputs = preview_of("prod").named("metrics-blackbox").inputs

    assert inputs["capabilities"] == {"adds": ["CAP_NET_RAW"]}
    assert inputs["command"] == [f"--config.file={CONFIG_PATH}"]


@pytest.mark.e2e
def test_the_real_exporter_checks_status_and_keyword_with_the_rendered_modules(
    tmp_path: Path,
) -> None:
    """Debian's exporter, given the rendered modules, passes and fails the right answers."""
    exporter_port, healthy_port, redirect_port = free_ports(3)
    services = [
        {"name": "api", "health_url": "https://api.example.com/health", "keyword": '"ok" (1.0)'},
        {"name": "web", "health_url": "https://app.example.com/", "expected_status": 301},
    ]
    config = tmp_path / "blackbox.yml"
    config.write_text(blackbox_yml(run_preview("staging", overrides={"services": services})))
    healthy = HttpService(healthy_port, lambda path: (200, b'{"status": "ok" (1.0)}'))
    redirect = HttpService(redirect_port, lambda path: (301, b"moved"))

    def probe(module: str, target: str) -> str:
        answer = http_get(
            f"http://{LOOPBACK}:{exporter_port}/probe?module={module}&target={target}", timeout=15
        )
        assert answer is not None and answer[0] == 200
        success = re.search(rb"^probe_success (\d)", answer[1], re.MULTILINE)
        assert success is not None, answer[1]
        return success.group(1).decode()

    healthy.start()
    redirect.start()
    try:
        with Daemons(tmp_path / "logs") as daemons:
            daemons.start(
                "blackbox",
                [
                    real_tool("prometheus-blackbox-exporter"),
                    f"--config.file={config}",
                    f"--web.listen-address={LOOPBACK}:{exporter_port}",
                ],
                ready_url=f"http://{LOOPBACK}:{exporter_port}/-/healthy",
            )

            healthy_url = f"http://{LOOPBACK}:{healthy_port}/"
            redirect_url = f"http://{LOOPBACK}:{redirect_port}/"
            assert probe("http_api", healthy_url) == "1"
            assert probe("http_api", redirect_url) == "0"
            assert probe("http_web", redirect_url) == "1"
            assert probe("http_web", healthy_url) == "0"
            assert probe("http_2xx", healthy_url) == "1"
            assert probe("tcp_connect", f"{LOOPBACK}:{healthy_port}") == "1"
    finally:
        healthy.stop()
        redirect.stop()
