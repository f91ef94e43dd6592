"""MetricsStack's containers: limits, health, restart, ports, volumes and host access."""

from __future__ import annotations

import pytest

from components.containers import RESTART_POLICY
from preview import run_preview
from tests.conftest import preview_of

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
METRICS_ROLES = {"prometheus", "node-exporter", "cadvisor", "blackbox", "alertmanager", "grafana"}


def metrics_containers(stack: str) -> dict[str, dict]:
    """The metrics containers of a stack, by role."""
    preview = preview_of(stack)
    return {
        resource.name.removeprefix("metrics-"): resource.inputs
        for resource in preview.children_of("metrics")
        if resource.type == CONTAINER
    }


@pytest.mark.parametrize("stack", ["prod", "staging", "local"])
def test_every_metrics_role_runs_with_limit_health_check_and_restart_policy(stack: str) -> None:
    """Each container has a memory limit, a health check and restarts unless stopped."""
    containers = metrics_containers(stack)

    assert set(containers) == METRICS_ROLES
    for role, inputs in containers.items():
        assert inputs["memory"] > 0, role
        assert inputs["restart"] == RESTART_POLICY, role
        assert inputs["healthcheck"]["tests"][0] == "CMD", role
        assert inputs["name"] == f"{stack}-{role}"


@pytest.mark.parametrize("stack", ["prod", "staging", "local"])
def test_ports_are_published_on_loopback_only(stack: str) -> None:
    """Without an explicit setting no metrics port listens beyond 127.0.0.1."""
    for role, inputs in metrics_containers(stack).items():
        for port in inputs.get("ports", []):
            assert port["ip"] == "127.0.0.1", role


def test_a_port_opened_in_the_settings_listens_on_every_interface() -> None:
    """`ports.public` opens one role's ports, and only that role's."""
    # With edge security on, only the edge proxy may be public; this stack goes without it.
    preview = run_preview(
        "staging",
        overrides={
            "ports": {"public": ["grafana"]},
            "components": {"edge_security": False},
        },
    )

    grafana = preview.named("metrics-grafana").inputs
    prometheus = preview.named("metrics-prometheus").inputs
    assert {port["ip"] for port in grafana["ports"]} == {"0.0.0.0"}
    assert {port["ip"] for port in prometheus["ports"]} == {"127.0.0.1"}


def test_node_exporter_reports_the_host_not_its_container() -> None:
    """Host PID and network namespaces, the host root read-only, passed as --path.rootfs."""
    inputs = metrics_containers("prod")["node-exporter"]

    assert inputs["networkMode"] == "host"
    assert inputs["pidMode"] == "host"
    assert "--path.rootfs=/host" in inputs["command"]
    assert {"target": "/host", "source": "/", "type": "bind", "readOnly": True} in inputs["mounts"]
    assert "--web.listen-address=172.30.0.1:9100" in inputs["command"]


def test_cadvisor_gets_the_mounts_and_device_it_needs_on_cgroup_v2() -> None:
    """Read-only host mounts, /dev/kmsg, and flags that keep its own cost low."""
    inputs = metrics_containers("prod")["cadvisor"]

    targets = {mount["target"] for mount in inputs["mounts"]}
    assert {"/rootfs", "/var/run", "/sys", "/var/lib/docker", "/dev/disk"} <= targets
    assert all(mount["readOnly"] for mount in inputs["mounts"])
    assert inputs["devices"] == [{"hostPath": "/dev/kmsg", "containerPath": "/dev/kmsg"}]
    assert "--docker_only=true" in inputs["command"]
    assert "--housekeeping_interval=30s" in inputs["command"]


def test_prod_data_volumes_survive_destroy_and_staging_ones_do_not() -> None:
    """Prod's volumes are protected and retained; staging's can be destroyed."""
    prod = [r for r in preview_of("prod").of_type(VOLUME) if r.parent == "metrics"]
    staging = [r for r in preview_of("staging").of_type(VOLUME) if r.parent == "metrics"]

    assert {r.name for r in prod} == {
        "metrics-prometheus-data",
        "metrics-alertmanager-data",
        "metrics-grafana-data",
    }
    assert all(r.protect and r.retain_on_delete for r in prod)
    assert not any(r.protect or r.retain_on_delete for r in staging)


def test_containers_join_the_stack_network_under_their_role_name() -> None:
    """Roles are DNS names on the stack's own network, which has a fixed subnet."""
    preview = preview_of("prod")

    network = preview.named("network-bridge").inputs
    assert network["ipamConfigs"] == [{"subnet": "172.30.0.0/24", "gateway": "172.30.0.1"}]
    prometheus = preview.named("metrics-prometheus").inputs
    assert prometheus["networksAdvanced"] == [
        {"name": "prod-observability", "aliases": ["prometheus"]},
        {"name": "product"},
    ]


def test_the_local_stack_reaches_services_on_the_laptop_through_the_host_gateway() -> None:
    """Prometheus and the blackbox exporter resolve host.docker.internal on Linux engines too."""
    preview = preview_of("local")

    for role in ("prometheus", "blackbox"):
        hosts = preview.named(f"metrics-{role}").inputs["hosts"]
        assert hosts == [{"host": "host.docker.internal", "ip": "host-gateway"}]


def test_grafana_admin_password_is_generated_and_stays_secret() -> None:
    """The password is a generated secret delivered as a file, never a default."""
    preview = preview_of("prod")

    password = preview.named("metrics-grafana-admin-password")
    assert password.inputs["length"] >= 32
    assert preview.file("prod-grafana", "/run/secrets/grafana_admin_password") == "[secret]"
    assert preview.outputs["grafana_admin_password"] == "[secret]"
