"""The Docker network every container of a stack joins."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker


class StackNetwork(pulumi.ComponentResource):
    """A dedicated bridge network for one stack's containers."""

    network_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        stack: str,
        subnet: str,
        gateway: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("observability:network:StackNetwork", name, None, opts)

        network = docker.Network(
            f"{name}-bridge",
            name=f"{stack}-observability",
            driver="bridge",
            ipam_configs=[docker.NetworkIpamConfigArgs(subnet=subnet, gateway=gateway)],
            labels=[docker.NetworkLabelArgs(label="observability.stack", value=stack)],
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.network_name = network.name
        self.register_outputs({"network_name": self.network_name})
