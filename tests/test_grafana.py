"""Grafana: provisioned datasources, dashboards, environment, and no secret in its files."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from components.dashboards import DASHBOARDS_DIR, LOGS_DASHBOARD_UID, encode_dashboard
from components.metrics import render_grafana
from components.metrics.dashboards import metrics_dashboards
from config.settings import SECRET_KEYS, ConfigError
from preview import Preview, run_preview
from preview.harness import SECRET_MARK, stack_settings
from tests.conftest import preview_of, real_tool

CONTAINER = "docker:index/container:Container"
DATASOURCE_FIELDS = ("name", "type", "uid", "url", "access")
FIXED_UIDS = {"prometheus": "prometheus", "alertmanager": "alertmanager", "loki": "loki"}
LOGGING_OFF = {"components": {"logging": False}}
# One recognisable value per secret stack key; none may surface in what Grafana receives.
CANARIES = {key: f"canary-{key.replace('_', '-')}-7f3a9c" for key in SECRET_KEYS}
# Grafana's own variables have no meaning to PromQL; promtool gets plain stand-ins.
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__range": "1h",
    "$__interval": "1m",
}


def grafana_files(preview: Preview) -> dict[str, str]:
    """What the Grafana container receives, by path."""
    name = f"{preview.stack}-grafana"
    return {path: content for (owner, path), content in preview.files().items() if owner == name}


def dashboards(preview: Preview) -> dict[str, dict[str, Any]]:
    """Every dashboard the Grafana container receives, parsed, by path."""
    return {
        path: json.loads(content)
        for path, content in grafana_files(preview).items()
        if path.startswith(f"{DASHBOARDS_DIR}/") and path.endswith(".json")
    }


def datasource_document(preview: Preview) -> Any:
    """The parsed datasource provisioning file."""
    return yaml.safe_load(grafana_files(preview)[render_grafana.DATASOURCES_PATH])


def provisioning_problems(document: Any) -> list[str]:
    """Why Grafana would refuse this datasource provisioning document; empty when it is fine."""
    if not isinstance(document, dict):
        return [f"the document is a {type(document).__name__}, not a mapping"]
    problems = []
    if document.get("apiVersion") != 1:
        problems.append(f"apiVersion is {document.get('apiVersion')!r}, not 1")
    entries = document.get("datasources")
    if not isinstance(entries, list) or not entries:
        return [*problems, "datasources is not a non-empty list"]
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(f"datasources[{index}] is a {type(entry).__name__}, not a mapping")
            continue
        for field in DATASOURCE_FIELDS:
            if not isinstance(entry.get(field), str) or not entry[field]:
                problems.append(f"datasources[{index}] has no {field}")
    for field in ("name", "uid"):
        values = [entry.get(field) for entry in entries if isinstance(entry, dict)]
        if len(values) != len(set(values)):
            problems.append(f"two datasources share a {field}: {values}")
    return problems


def provisioned_uids(preview: Preview) -> set[str]:
    """The uids of every provisioned datasource."""
    return {entry["uid"] for entry in datasource_document(preview)["datasources"]}


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows and the panels inside collapsed rows included."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def datasource_references(dashboard: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """Where the dashboard names a datasource, and the reference it gives."""
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        yield f"panel {panel['title']!r}", panel.get("datasource")
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} target {target['refId']}", target.get("datasource")
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable["type"] in ("query", "adhoc"):
            yield f"variable {variable['name']!r}", variable.get("datasource")
    for annotation in dashboard.get("annotations", {}).get("list", []):
        yield f"annotation {annotation['name']!r}", annotation.get("datasource")


def environment(preview: Preview) -> dict[str, str]:
    """Grafana's environment variables as a mapping."""
    entries = preview.named("metrics-grafana").inputs["envs"]
    assert all(isinstance(entry, str) and "=" in entry for entry in entries), entries
    keys = [entry.split("=", 1)[0] for entry in entries]
    assert len(keys) == len(set(keys)), f"a variable is set twice: {keys}"
    return dict(entry.split("=", 1) for entry in entries)


def test_datasource_file_is_a_provisioning_document_grafana_accepts(deployed_stack: str) -> None:
    """apiVersion 1 and a list of datasources, each one mapping with its own fields."""
    document = datasource_document(preview_of(deployed_stack))

    assert provisioning_problems(document) == []
    assert [entry["access"] for entry in document["datasources"]] == ["proxy"] * len(
        document["datasources"]
    )
    assert [entry["name"] for entry in document["datasources"] if entry["isDefault"]] == [
        "Prometheus"
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "apiVersion: 1\ndatasources:\n- name: Prometheus\n- type: prometheus\n"
            "- uid: prometheus\n- url: http://prometheus:9090\n- access: proxy\n",
            r"datasources\[0\] has no type",
        ),
        ("apiVersion: 1\ndatasources:\n  name: Prometheus\n", "not a non-empty list"),
        ("datasources:\n- Prometheus\n", "apiVersion is None"),
        ("- name: Prometheus\n", "not a mapping"),
        (
            "apiVersion: 1\ndatasources:\n"
            + "- {name: A, type: loki, uid: a, url: http://a, access: proxy}\n" * 2,
            "share a name",
        ),
    ],
)
def test_the_datasource_check_rejects_documents_grafana_refuses(text: str, problem: str) -> None:
    """One field per list item, a mapping for the list, a bare string: each is caught."""
    problems = provisioning_problems(yaml.safe_load(text))

    assert any(re.search(problem, line) for line in problems), problems


def test_provisioning_files_hold_nothing_grafana_would_expand(deployed_stack: str) -> None:
    """Grafana replaces `$NAME` in provisioning files with environment variables."""
    files = grafana_files(preview_of(deployed_stack))

    for path in (render_grafana.DATASOURCES_PATH, render_grafana.DASHBOARD_PROVIDERS_PATH):
        assert "$" not in files[path], path


def test_datasources_have_fixed_unique_uids_and_addresses(deployed_stack: str) -> None:
    """Prometheus, Alertmanager (Prometheus flavour) and Loki under their fixed uids."""
    entries = datasource_document(preview_of(deployed_stack))["datasources"]
    by_type = {entry["type"]: entry for entry in entries}

    assert len({entry["uid"] for entry in entries}) == len(entries)
    assert {kind: entry["uid"] for kind, entry in by_type.items()} == FIXED_UIDS
    assert by_type["prometheus"]["url"] == "http://prometheus:9090"
    assert by_type["alertmanager"]["url"] == "http://alertmanager:9093"
    assert by_type["alertmanager"]["jsonData"]["implementation"] == "prometheus"
    assert by_type["loki"]["url"] == "http://loki:3100"


def test_without_logging_loki_is_removed_and_no_dashboard_links_to_logs() -> None:
    """Loki and the link to the logs dashboard exist only while the logging stack runs."""
    preview = run_preview("staging", overrides=LOGGING_OFF)

    assert provisioned_uids(preview) == {"prometheus", "alertmanager"}
    assert datasource_document(preview)["deleteDatasources"] == [{"name": "Loki", "orgId": 1}]
    for path, dashboard in dashboards(preview).items():
        assert all(LOGS_DASHBOARD_UID not in link["url"] for link in dashboard.get("links", [])), (
            path
        )


def test_http_services_dashboard_links_to_the_logs_dashboard(deployed_stack: str) -> None:
    """With logging on, one click opens the logs of the same services and time range."""
    dashboard = next(
        board
        for board in dashboards(preview_of(deployed_stack)).values()
        if board["uid"] == "http-services"
    )

    [link] = dashboard["links"]
    assert link["url"] == f"/d/{LOGS_DASHBOARD_UID}"
    assert link["includeVars"] and link["keepTime"]


def test_every_panel_variable_and_target_uses_a_provisioned_datasource(
    deployed_stack: str,
) -> None:
    """No dashboard names a datasource uid that Grafana does not have."""
    preview = preview_of(deployed_stack)
    uids = provisioned_uids(preview)

    for path, dashboard in dashboards(preview).items():
        for where, reference in datasource_references(dashboard):
            assert isinstance(reference, dict), f"{path}: {where} names no datasource"
            assert reference.get("uid") in uids, f"{path}: {where} uses {reference}"


def test_every_dashboard_parses_with_a_unique_uid_and_title(deployed_stack: str) -> None:
    """Four metrics dashboards at least, no two sharing a uid or a title."""
    boards = list(dashboards(preview_of(deployed_stack)).values())
    uids = [board["uid"] for board in boards]
    titles = [board["title"] for board in boards]

    assert {"host", "containers", "http-services", "probes"} <= set(uids)
    assert len(uids) == len(set(uids)), uids
    assert len(titles) == len(set(titles)), titles
    assert all(board.get("id") is None for board in boards), "provisioned dashboards carry no id"


def test_panel_ids_are_unique_within_each_dashboard(deployed_stack: str) -> None:
    """Fixed, distinct panel ids keep links to a single panel stable."""
    for path, dashboard in dashboards(preview_of(deployed_stack)).items():
        ids = [panel["id"] for panel in panels(dashboard)]
        assert len(ids) == len(set(ids)) and 0 not in ids, path


def test_dashboards_are_byte_for_byte_deterministic() -> None:
    """Rendering twice, and previewing twice, gives the same bytes."""
    settings = stack_settings("prod")

    assert render_grafana.grafana_files(settings) == render_grafana.grafana_files(settings)
    assert grafana_files(run_preview("prod")) == grafana_files(preview_of("prod"))


def test_dashboard_json_has_sorted_keys_and_reads_back_unchanged() -> None:
    """Each file is the SDK's own encoding with sorted keys: parsing it changes nothing."""
    for path, text in render_grafana.dashboard_files(stack_settings("staging")).items():
        parsed = json.loads(text)
        assert json.dumps(parsed, sort_keys=True, indent=2, ensure_ascii=False) + "\n" == text
        model = Dashboard.from_json(parsed)
        again = json.dumps(model, cls=JSONEncoder, sort_keys=True, indent=2, ensure_ascii=False)
        assert again + "\n" == text, path


def test_a_dashboard_without_a_uid_is_refused() -> None:
    """Grafana would invent a uid on every start; the encoder stops that early."""
    [host, *_] = metrics_dashboards(stack_settings("local"))
    host.uid("")

    with pytest.raises(ValueError, match="needs a fixed uid"):
        encode_dashboard(host)


def test_dashboard_provider_reads_every_dashboard_file(deployed_stack: str) -> None:
    """One file provider on the dashboards directory; every dashboard lies beneath it."""
    files = grafana_files(preview_of(deployed_stack))
    document = yaml.safe_load(files[render_grafana.DASHBOARD_PROVIDERS_PATH])

    assert document["apiVersion"] == 1
    [provider] = document["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == DASHBOARDS_DIR
    assert all(path.startswith(f"{DASHBOARDS_DIR}/") for path in files if path.endswith(".json"))


def test_every_promql_expression_in_the_dashboards_passes_promtool(tmp_path: Path) -> None:
    """Each panel query and variable selector is valid PromQL to the real parser."""
    rules = []
    for text in render_grafana.dashboard_files(stack_settings("prod")).values():
        dashboard = json.loads(text)
        expressions = [
            target["expr"] for panel in panels(dashboard) for target in panel.get("targets", [])
        ]
        for variable in dashboard["templating"]["list"]:
            selector = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"])
            assert selector, variable["query"]
            expressions.append(selector.group(1))
        for expression in expressions:
            rules.append({"record": f"dashboard:query_{len(rules)}", "expr": promql(expression)})
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))

    result = subprocess.run(
        [real_tool("promtool"), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert len(rules) > 40


def promql(expression: str) -> str:
    """The expression with Grafana's variables replaced by values promtool can parse."""
    for variable, value in GRAFANA_VARIABLES.items():
        expression = expression.replace(variable, value)
    return re.sub(r"\$\w+", ".*", expression)


def test_thresholds_follow_the_alert_settings() -> None:
    """Change an alert threshold and the dashboards draw the new line."""
    settings = stack_settings("staging", {"alerts": {"cpu_percent": 65, "api_error_ratio": 0.02}})
    files = render_grafana.dashboard_files(settings)
    host = files[f"{DASHBOARDS_DIR}/Metrics/host.json"]
    services = files[f"{DASHBOARDS_DIR}/Metrics/http-services.json"]

    assert '"value": 0.65' in host
    assert '"value": 0.02' in services


def test_environment_keeps_anonymous_access_sign_up_and_reporting_off(
    deployed_stack: str,
) -> None:
    """Logins only, no self sign-up, nothing sent home, the public HTTPS root URL."""
    preview = preview_of(deployed_stack)
    variables = environment(preview)
    settings = stack_settings(deployed_stack)

    assert variables["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert variables["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert variables["GF_SECURITY_DISABLE_GRAVATAR"] == "true"
    assert variables["GF_ANALYTICS_REPORTING_ENABLED"] == "false"
    assert variables["GF_UNIFIED_ALERTING_ENABLED"] == "true"
    assert variables["GF_SECURITY_ADMIN_USER"] == "admin"
    assert variables["GF_SERVER_ROOT_URL"] == f"https://{settings.hostnames.grafana}/"
    assert variables["GF_SECURITY_ADMIN_PASSWORD__FILE"] == render_grafana.ADMIN_PASSWORD_PATH
    assert variables["GF_SECURITY_COOKIE_SECURE"] == "true"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in variables


def test_session_cookies_are_secure_only_behind_the_tls_proxy() -> None:
    """Without the edge proxy a local Grafana is plain HTTP, where secure cookies get lost."""
    local = render_grafana.grafana_environment(stack_settings("local"))

    assert "GF_SECURITY_COOKIE_SECURE=false" in local
    assert "GF_AUTH_ANONYMOUS_ENABLED=false" in local


def test_admin_password_reaches_grafana_only_as_a_secret_file(deployed_stack: str) -> None:
    """The password file's content is a secret; no environment value carries the password."""
    preview = preview_of(deployed_stack)
    password_file = grafana_files(preview)[render_grafana.ADMIN_PASSWORD_PATH]
    grafana = preview.named("metrics-grafana")
    raw = preview.raw_inputs[preview.resources.index(grafana)]
    [password] = [
        upload["content"]
        for upload in raw["uploads"]
        if upload["file"] == render_grafana.ADMIN_PASSWORD_PATH
    ]

    assert password_file == SECRET_MARK
    assert password and all(password not in entry for entry in raw["envs"])


def test_no_secret_value_reaches_any_other_grafana_file() -> None:
    """With canary secrets set, no Grafana file or variable holds one or the admin password."""
    preview = run_preview("prod", secrets=CANARIES, dry_run=False)
    grafana = preview.named("metrics-grafana")
    raw = preview.raw_inputs[preview.resources.index(grafana)]
    uploads = {upload["file"]: upload["content"] for upload in raw["uploads"]}
    password = uploads.pop(render_grafana.ADMIN_PASSWORD_PATH)
    secrets = [*CANARIES.values(), password]
    masked = grafana_files(preview)

    assert any(canary in text for canary in CANARIES.values() for text in preview.walk_strings())
    for path, content in uploads.items():
        assert masked[path] != SECRET_MARK, f"{path} is built from a secret"
        assert not [secret for secret in secrets if secret in content], path
    for entry in raw["envs"]:
        assert not [secret for secret in secrets if secret in entry], entry


def test_admin_user_comes_from_the_settings() -> None:
    """`metrics.grafana_admin_user` names the admin login."""
    settings = stack_settings("staging", {"metrics": {"grafana_admin_user": "ops-admin"}})

    assert "GF_SECURITY_ADMIN_USER=ops-admin" in render_grafana.grafana_environment(settings)


@pytest.mark.parametrize("user", ["", "has space", "-dash-first", "x" * 65])
def test_an_invalid_admin_user_is_rejected(user: str) -> None:
    """The admin login must be a plain name Grafana accepts in a URL and a form."""
    with pytest.raises(ConfigError, match=r"observability:metrics\.grafana_admin_user"):
        stack_settings("staging", {"metrics": {"grafana_admin_user": user}})


def test_without_the_edge_grafana_lives_at_its_loopback_port() -> None:
    """The local stack has no proxy, so links and the exported URL use 127.0.0.1:3000."""
    preview = preview_of("local")

    assert environment(preview)["GF_SERVER_ROOT_URL"] == "http://127.0.0.1:3000/"
    assert preview.outputs["grafana_url"] == "http://127.0.0.1:3000/"
