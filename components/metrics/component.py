"""MetricsStack: Prometheus, Node Exporter, cAdvisor, Blackbox Exporter, Alertmanager, Grafana."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_docker as docker

from components.containers import (
    ComponentContainers,
    ContainerFile,
    ContainerSpec,
    HealthCheck,
    Mount,
    Port,
)
from components.images import image
from components.metrics import (
    render_alertmanager,
    render_blackbox,
    render_grafana,
    render_prometheus,
    render_rules,
)
from components.passwords import generated_password
from config.secrets import StackSecrets
from config.settings import Settings

PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
GRAFANA_PORT = render_grafana.PORT
CADVISOR_PORT = 8080

# Docker's name for the host itself, which Linux engines only resolve when asked; the local stack
# reaches the services running on the laptop through it.
HOST_GATEWAY = docker.ContainerHostArgs(host="host.docker.internal", ip="host-gateway")


def _http_check(port: int, path: str) -> HealthCheck:
    return HealthCheck(test=["CMD", "wget", "-q", "--spider", f"http://127.0.0.1:{port}{path}"])


class MetricsStack(pulumi.ComponentResource):
    """The metrics half of the stack: collection, alerting and dashboards."""

    grafana_url: pulumi.Output[str]
    grafana_admin_password: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        settings: Settings,
        secrets: StackSecrets,
        network: pulumi.Input[str],
        grafana_files: Sequence[ContainerFile] = (),
        rule_files: Sequence[ContainerFile] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("observability:metrics:MetricsStack", name, None, opts)
        containers = ComponentContainers(name, settings, network, parent=self)
        memory = settings.metrics.memory_limit

        prometheus_data = containers.volume("prometheus")
        containers.declare(
            ContainerSpec(
                role="prometheus",
                image=image("prometheus"),
                memory_mb=memory("prometheus"),
                healthcheck=_http_check(PROMETHEUS_PORT, "/-/healthy"),
                command=render_prometheus.prometheus_flags(settings),
                files=[
                    ContainerFile(
                        render_prometheus.CONFIG_PATH,
                        render_prometheus.render_prometheus_config(settings),
                    ),
                    ContainerFile(
                        render_rules.RULES_PATH, render_rules.render_alert_rules(settings)
                    ),
                    *rule_files,
                ],
                mounts=[Mount(target="/prometheus", source=prometheus_data.name)],
                ports=[Port(PROMETHEUS_PORT, PROMETHEUS_PORT)],
                # The product's services are scraped on their own network.
                networks=[settings.ports.app_network] if settings.ports.app_network else [],
                hosts=[HOST_GATEWAY],
            ),
        )

        node_exporter_address = f"{settings.ports.gateway}:{render_prometheus.NODE_EXPORTER_PORT}"
        containers.declare(
            ContainerSpec(
                role="node-exporter",
                image=image("node-exporter"),
                memory_mb=memory("node-exporter"),
                healthcheck=HealthCheck(
                    test=["CMD", "wget", "-q", "--spider", f"http://{node_exporter_address}/"]
                ),
                # Host namespaces and the host root make it report the host, not its container.
                # It listens only on the host's address on the stack network, where Prometheus
                # reaches it and nothing outside the host does.
                host_namespaces=True,
                command=[
                    "--path.rootfs=/host",
                    f"--web.listen-address={node_exporter_address}",
                    "--collector.filesystem.mount-points-exclude="
                    "^/(dev|proc|sys|run|var/lib/docker/.+)($|/)",
                ],
                mounts=[Mount(target="/host", source="/", type="bind", read_only=True)],
            ),
        )
        containers.declare(
            ContainerSpec(
                role="cadvisor",
                image=image("cadvisor"),
                memory_mb=memory("cadvisor"),
                healthcheck=_http_check(CADVISOR_PORT, "/healthz"),
                command=[
                    "--docker_only=true",
                    "--housekeeping_interval=30s",
                    "--max_housekeeping_interval=60s",
                    "--store_container_labels=false",
                    "--whitelisted_container_labels=observability.role,observability.stack,"
                    "com.docker.compose.service",
                    "--disable_metrics="
                    "advtcp,cpu_topology,cpuset,hugetlb,memory_numa,percpu,process,"
                    "referenced_memory,resctrl,sched,tcp,udp",
                ],
                mounts=[
                    Mount(target="/rootfs", source="/", type="bind", read_only=True),
                    Mount(target="/var/run", source="/var/run", type="bind", read_only=True),
                    Mount(target="/sys", source="/sys", type="bind", read_only=True),
                    Mount(
                        target="/var/lib/docker",
                        source="/var/lib/docker",
                        type="bind",
                        read_only=True,
                    ),
                    Mount(target="/dev/disk", source="/dev/disk", type="bind", read_only=True),
                ],
                # Limitation: cAdvisor reads every cgroup and /dev/kmsg; without privileges it
                # misses container metrics on cgroup v2 hosts, so it runs privileged.
                privileged=True,
                devices=[
                    docker.ContainerDeviceArgs(host_path="/dev/kmsg", container_path="/dev/kmsg")
                ],
            ),
        )
        containers.declare(
            ContainerSpec(
                role="blackbox",
                image=image("blackbox"),
                memory_mb=memory("blackbox"),
                healthcheck=_http_check(render_blackbox.PORT, "/-/healthy"),
                command=[f"--config.file={render_blackbox.CONFIG_PATH}"],
                files=[
                    ContainerFile(
                        render_blackbox.CONFIG_PATH,
                        render_blackbox.render_blackbox_config(settings),
                    )
                ],
                # ICMP probes open raw sockets.
                capabilities=docker.ContainerCapabilitiesArgs(adds=["CAP_NET_RAW"]),
                hosts=[HOST_GATEWAY],
            ),
        )

        alertmanager_data = containers.volume("alertmanager")
        containers.declare(
            ContainerSpec(
                role="alertmanager",
                image=image("alertmanager"),
                memory_mb=memory("alertmanager"),
                healthcheck=_http_check(ALERTMANAGER_PORT, "/-/healthy"),
                command=render_alertmanager.alertmanager_flags(),
                files=[
                    ContainerFile(
                        render_alertmanager.CONFIG_PATH,
                        render_alertmanager.render_alertmanager_config(settings),
                    ),
                    *(
                        ContainerFile(path, value, permissions="0400")
                        for path, value in render_alertmanager.secret_files(secrets)
                    ),
                ],
                mounts=[Mount(target="/alertmanager", source=alertmanager_data.name)],
                ports=[Port(ALERTMANAGER_PORT, ALERTMANAGER_PORT)],
                user=render_alertmanager.USER,
            ),
        )

        password = generated_password(
            f"{name}-grafana-admin-password", protect=settings.prod, parent=self
        )
        grafana_data = containers.volume("grafana")
        containers.declare(
            ContainerSpec(
                role="grafana",
                image=image("grafana"),
                memory_mb=memory("grafana"),
                healthcheck=_http_check(GRAFANA_PORT, "/api/health"),
                envs=render_grafana.grafana_environment(settings),
                files=[
                    *(
                        ContainerFile(path, content)
                        for path, content in render_grafana.grafana_files(settings).items()
                    ),
                    *grafana_files,
                    ContainerFile(
                        render_grafana.ADMIN_PASSWORD_PATH,
                        password,
                        permissions="0400",
                    ),
                ],
                mounts=[Mount(target="/var/lib/grafana", source=grafana_data.name)],
                ports=[Port(GRAFANA_PORT, GRAFANA_PORT)],
                user=render_grafana.USER,
            ),
        )

        self.grafana_url = pulumi.Output.from_input(render_grafana.grafana_root_url(settings))
        self.grafana_admin_password = password
        self.register_outputs(
            {
                "grafana_url": self.grafana_url,
                "grafana_admin_password": self.grafana_admin_password,
            }
        )
