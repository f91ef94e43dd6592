"""Passwords the program generates for the services it runs, kept in the state as secrets."""

from __future__ import annotations

import pulumi
import pulumi_random as random

PASSWORD_LENGTH = 32


def generated_password(
    resource_name: str, *, protect: bool, parent: pulumi.Resource
) -> pulumi.Output[str]:
    """A random password of letters and digits, marked secret."""
    password = random.RandomPassword(
        resource_name,
        length=PASSWORD_LENGTH,
        special=False,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    # The mock engine does not apply the provider's secret marking, so mark it here too.
    return pulumi.Output.secret(password.result)
