"""The govops policy pack, mandatory on every preview and up (`--policy-pack infra/policy`)."""

import os

import rules
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy, StackValidationPolicy

REGISTRY = os.environ.get("GOVOPS_REGISTRY", "registry.gov.local")


def _resource(check):
    def validate(args, report_violation):
        for msg in check(args.resource_type, args.props):
            report_violation(msg)

    return validate


def _stack_resources(args):
    return [(r.resource_type, r.props) for r in args.resources]


def _fenced(args, report_violation):
    for msg in rules.tenants_are_fenced(_stack_resources(args)):
        report_violation(msg)


def _restricted(args, report_violation):
    for msg in rules.restricted_tenants(_stack_resources(args)):
        report_violation(msg)


PolicyPack(
    name="govops-mlps-baseline",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        ResourceValidationPolicy(
            name="no-privileged-pods",
            description="No privileged containers, privilege escalation or host namespaces.",
            validate=_resource(rules.no_privileged),
        ),
        ResourceValidationPolicy(
            name="internal-registry-only",
            description=f"Images only from {REGISTRY}.",
            validate=_resource(lambda t, p: rules.images_from_registry(t, p, REGISTRY)),
        ),
        StackValidationPolicy(
            name="tenant-quota-and-default-deny",
            description="Every tenant namespace has a quota and a default-deny policy.",
            validate=_fenced,
        ),
        ResourceValidationPolicy(
            name="resource-limits-required",
            description="Every container sets CPU and memory limits.",
            validate=_resource(rules.resource_limits),
        ),
        ResourceValidationPolicy(
            name="run-as-non-root",
            description="Every container runs as non-root.",
            validate=_resource(rules.run_as_non_root),
        ),
        ResourceValidationPolicy(
            name="no-host-paths",
            description="No hostPath volumes.",
            validate=_resource(rules.no_host_paths),
        ),
        ResourceValidationPolicy(
            name="no-exposed-services",
            description="No LoadBalancer or NodePort services outside the platform.",
            validate=_resource(rules.no_exposed_services),
        ),
        StackValidationPolicy(
            name="tenants-pod-security-restricted",
            description="Every tenant namespace enforces the restricted Pod Security Standard.",
            validate=_restricted,
        ),
    ],
)
