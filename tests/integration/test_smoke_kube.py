"""Smoke: a real kube-apiserver on etcd, with controller-manager, scheduler and a kwok node."""

from __future__ import annotations

import pytest

from tools.lab.kube import wait_deployment_ready

pytestmark = pytest.mark.integration


def test_namespace_round_trip(kube):
    with kube.client() as c:
        r = c.post(
            "/api/v1/namespaces",
            json={
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "smoke-ns", "labels": {"govops/dept": "gaj"}},
            },
        )
        assert r.status_code == 201, r.text
        got = c.get("/api/v1/namespaces/smoke-ns").json()
        assert got["metadata"]["labels"]["govops/dept"] == "gaj"


def test_kubernetes_python_client_reads_it_back(kube):
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(str(kube.kubeconfig)))
    names = {n.metadata.name for n in api.list_namespace().items}
    assert {"default", "kube-system"} <= names


def test_deployment_becomes_ready_on_a_kwok_node(kube):
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.local/web:1"}]},
            },
        },
    }
    with kube.client() as c:
        assert c.post("/apis/apps/v1/namespaces/default/deployments", json=deployment).status_code == 201
        ready = wait_deployment_ready(c, "default", "web", timeout=120)
        assert ready["status"]["readyReplicas"] == 1
        pods = c.get("/api/v1/namespaces/default/pods", params={"labelSelector": "app=web"}).json()["items"]
        assert pods and pods[0]["spec"]["nodeName"].startswith("kwok-node-")
        assert pods[0]["status"]["phase"] == "Running"
