"""The one way this program declares a container on the stack's Docker host.

Every container gets a memory limit, a restart policy, a health check, bounded logs, ports on
the loopback address unless the settings open them, and its configuration as uploaded files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from config.settings import Settings

RESTART_POLICY = "unless-stopped"
LOG_OPTIONS = {"max-size": "10m", "max-file": "3"}
PUBLIC_ADDRESS = "0.0.0.0"


@dataclass(frozen=True)
class ContainerFile:
    """A file a container receives at `path`; secret content stays a secret Output."""

    path: str
    content: pulumi.Input[str]
    permissions: str = "0444"


@dataclass(frozen=True)
class HealthCheck:
    """A Docker health check: the command and how patiently to run it."""

    test: Sequence[str]
    interval: str = "30s"
    timeout: str = "5s"
    retries: int = 3
    start_period: str = "30s"


@dataclass(frozen=True)
class Port:
    """A container port published on the Docker host."""

    internal: int
    external: int


@dataclass(frozen=True)
class Mount:
    """A volume or host path mounted into the container."""

    target: str
    source: pulumi.Input[str]
    type: str = "volume"
    read_only: bool = False


@dataclass(frozen=True)
class ContainerSpec:
    """What a service container needs; the rest follows the project's rules."""

    role: str
    image: str
    memory_mb: int
    healthcheck: HealthCheck
    files: Sequence[ContainerFile] = ()
    command: Sequence[str] | None = None
    envs: Sequence[pulumi.Input[str]] = ()
    ports: Sequence[Port] = ()
    mounts: Sequence[Mount] = ()
    user: str | None = None
    host_namespaces: bool = False
    privileged: bool = False
    devices: Sequence[docker.ContainerDeviceArgs] = ()
    capabilities: docker.ContainerCapabilitiesArgs | None = None
    hosts: Sequence[docker.ContainerHostArgs] = ()
    labels: Sequence[tuple[str, str]] = ()
    """Extra Docker labels (name, value), for tools that find containers by label."""
    networks: Sequence[pulumi.Input[str]] = ()
    """Docker networks the container joins besides the stack's, such as the product's."""


def container_name(stack: str, role: str) -> str:
    """The Docker name of a role's container on a stack, such as `prod-prometheus`."""
    return f"{stack}-{role}"


def service_container(
    resource_name: str,
    spec: ContainerSpec,
    *,
    stack: str,
    network: pulumi.Input[str],
    bind_address: str,
    public_roles: Sequence[str] = (),
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> docker.Container:
    """Declare one container from its spec, attached to the stack's network."""
    address = PUBLIC_ADDRESS if spec.role in public_roles else bind_address
    check = spec.healthcheck
    if address == PUBLIC_ADDRESS and spec.ports:
        pulumi.log.warn(
            f"{container_name(stack, spec.role)} publishes ports {[p.external for p in spec.ports]}"
            " on every interface of the Docker host; keep it behind a firewall"
        )
    if spec.host_namespaces and spec.ports:
        raise ValueError(f"{spec.role}: a container in the host's namespaces cannot publish ports")

    # A container in the host's network and PID namespaces sees the host itself; it joins no
    # Docker network and listens where its own flags say.
    host_mode = "host" if spec.host_namespaces else None
    networks = (
        None
        if spec.host_namespaces
        else [
            docker.ContainerNetworksAdvancedArgs(name=network, aliases=[spec.role]),
            # On other networks the container keeps its own name, so roles never shadow theirs.
            *(docker.ContainerNetworksAdvancedArgs(name=name) for name in spec.networks),
        ]
    )

    return docker.Container(
        resource_name,
        name=container_name(stack, spec.role),
        image=spec.image,
        command=list(spec.command) if spec.command is not None else None,
        envs=list(spec.envs) or None,
        user=spec.user,
        memory=spec.memory_mb,
        restart=RESTART_POLICY,
        log_driver="json-file",
        log_opts=dict(LOG_OPTIONS),
        healthcheck=docker.ContainerHealthcheckArgs(
            tests=list(check.test),
            interval=check.interval,
            timeout=check.timeout,
            retries=check.retries,
            start_period=check.start_period,
        ),
        ports=[
            docker.ContainerPortArgs(internal=port.internal, external=port.external, ip=address)
            for port in spec.ports
        ],
        mounts=[
            docker.ContainerMountArgs(
                target=mount.target,
                source=mount.source,
                type=mount.type,
                read_only=mount.read_only,
            )
            for mount in spec.mounts
        ],
        uploads=[
            docker.ContainerUploadArgs(
                file=upload.path, content=upload.content, permissions=upload.permissions
            )
            for upload in spec.files
        ],
        labels=[
            docker.ContainerLabelArgs(label="observability.stack", value=stack),
            docker.ContainerLabelArgs(label="observability.role", value=spec.role),
            *(docker.ContainerLabelArgs(label=label, value=value) for label, value in spec.labels),
        ],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
        network_mode=host_mode,
        pid_mode=host_mode,
        networks_advanced=networks,
        privileged=spec.privileged or None,
        devices=list(spec.devices) or None,
        capabilities=spec.capabilities,
        hosts=list(spec.hosts) or None,
    )


def volume_name(stack: str, role: str) -> str:
    """The Docker name of a role's data volume, such as `prod-grafana-data`."""
    return f"{stack}-{role}-data"


def data_volume(
    resource_name: str, *, stack: str, role: str, protect: bool, parent: pulumi.Resource
) -> docker.Volume:
    """A named volume for a role's state; in prod it survives `pulumi destroy` and renames."""
    return docker.Volume(
        resource_name,
        name=volume_name(stack, role),
        labels=[docker.VolumeLabelArgs(label="observability.stack", value=stack)],
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, retain_on_delete=protect),
    )


@dataclass(frozen=True)
class ComponentContainers:
    """A component's containers and their state volumes, declared as its children.

    Each container is the child `f"{name}-{role}"` of `parent` on the stack's network, its ports
    published on the settings' bind address unless the settings make its role public.
    """

    name: str
    settings: Settings
    network: pulumi.Input[str]
    parent: pulumi.Resource

    def declare(
        self, spec: ContainerSpec, depends_on: Sequence[pulumi.Resource] = ()
    ) -> docker.Container:
        """Declare one container from its spec."""
        return service_container(
            f"{self.name}-{spec.role}",
            spec,
            stack=self.settings.stack,
            network=self.network,
            bind_address=str(self.settings.ports.bind_address),
            public_roles=self.settings.ports.public,
            parent=self.parent,
            depends_on=depends_on,
        )

    def volume(self, role: str) -> docker.Volume:
        """The named volume of a role's state, the child `f"{name}-{role}-data"`; prod keeps it."""
        return data_volume(
            f"{self.name}-{role}-data",
            stack=self.settings.stack,
            role=role,
            protect=self.settings.prod,
            parent=self.parent,
        )
