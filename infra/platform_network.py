"""The platform's own network fence: govops-system is the management zone (运维管理区) in the cluster.

Without policies of its own the platform namespace was open both ways: np-guard's analyzer, run over
the live objects of a real `up`, listed 0.0.0.0/0 (the 互联网区 included) reaching the gateway and the
diagnosis workers on every port, and both reaching every address. Now, as for a tenant, all is
denied but what is listed here:
- in: the gateway's HTTP port from the zones whose people use the console and the API (operators on
  the management network, civil servants on the 政务外网, security staff on the 视频专网), and the
  diagnosis workers' metrics port from the management network (Prometheus); never the 互联网区;
- out: the tenants (whose own `allow-from-platform` admits the platform), the cluster's DNS, and the
  management network (database, Keycloak, Alertmanager), the 视频专网 (cameras: ONVIF, RTSP) and the
  政务外网 (the departments' systems); never the 互联网区 nor any other address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi

from infra.tenant import DNS_EGRESS, LABEL_PREFIX, network_policy

# Zones whose people reach the gateway (console, API, SSO callback).
GATEWAY_CLIENT_ZONES = ("management", "gov-extranet", "video-private")
# Zones the platform's pods reach outside the cluster.
PLATFORM_EGRESS_ZONES = ("management", "gov-extranet", "video-private")
METRICS_SCRAPER_ZONES = ("management",)


def _blocks(networks: Mapping[str, Sequence[str]], zones: Sequence[str]) -> list[dict]:
    return [{"ipBlock": {"cidr": c}} for z in zones for c in networks.get(z, ())]


def platform_network_policies(
    namespace: str,
    networks: Mapping[str, Sequence[str]],
    gateway_labels: dict[str, str],
    gateway_port: int,
    workers_labels: dict[str, str],
    metrics_port: int,
    opts: pulumi.ResourceOptions,
) -> None:
    """NetworkPolicies of the platform namespace; `networks` maps a zone to its CIDRs."""
    name = "platform"
    network_policy(f"{name}/default-deny", namespace, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, opts)
    network_policy(
        f"{name}/allow-same-namespace",
        namespace,
        {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
            "egress": [{"to": [{"podSelector": {}}]}],
        },
        opts,
    )
    network_policy(f"{name}/allow-dns", namespace, DNS_EGRESS, opts)
    network_policy(
        f"{name}/allow-to-tenants",
        namespace,
        {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"namespaceSelector": {"matchLabels": {f"{LABEL_PREFIX}/tenant": "true"}}}]}],
        },
        opts,
    )
    if egress := _blocks(networks, PLATFORM_EGRESS_ZONES):
        network_policy(
            f"{name}/allow-zone-networks",
            namespace,
            {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": egress}]},
            opts,
        )
    if clients := _blocks(networks, GATEWAY_CLIENT_ZONES):
        network_policy(
            f"{name}/allow-gateway-clients",
            namespace,
            {
                "podSelector": {"matchLabels": gateway_labels},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": clients, "ports": [{"protocol": "TCP", "port": gateway_port}]}],
            },
            opts,
        )
    if scrapers := _blocks(networks, METRICS_SCRAPER_ZONES):
        network_policy(
            f"{name}/allow-metrics-scrape",
            namespace,
            {
                "podSelector": {"matchLabels": workers_labels},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": scrapers, "ports": [{"protocol": "TCP", "port": metrics_port}]}],
            },
            opts,
        )
