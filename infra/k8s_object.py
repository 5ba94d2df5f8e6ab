"""K8sObject: a Kubernetes object registered with pulumi_kubernetes' type token, without its typed
Python class."""

from __future__ import annotations

from importlib.metadata import version
from typing import TYPE_CHECKING, Any

import pulumi

# The default provider that pulumi_kubernetes' own classes register against (default_4_25_0).
K8S_PROVIDER_VERSION = version("pulumi_kubernetes")


class K8sObject(pulumi.CustomResource):
    """A Kubernetes object with the type token and inputs that the typed pulumi_kubernetes class
    would register (same URN, same state, same provider, same await logic, which runs in the
    provider), without that class's costs in the program, whose one busy thread paces `pulumi up`:
    translating the live object into typed outputs (the largest per-object cost, with about 11
    objects per tenant) and importing the typed modules (about half a second for core/v1 and
    apps/v1). Outputs (e.g. `.metadata`) are plain dicts."""

    if TYPE_CHECKING:  # set by the engine from the registered properties
        metadata: pulumi.Output[dict[str, Any]]

    def __init__(self, type_token: str, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        _, group_version, kind = type_token.split(":")
        group, ver = group_version.split("/")
        super().__init__(
            type_token,
            name,
            {
                "apiVersion": ver if group == "core" else f"{group}/{ver}",
                "kind": kind,
                **props,
                "status": None,
            },
            pulumi.ResourceOptions.merge(pulumi.ResourceOptions(version=K8S_PROVIDER_VERSION), opts),
        )
