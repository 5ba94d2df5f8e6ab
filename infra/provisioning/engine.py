"""The one adapter over Pulumi's Automation API (LocalWorkspace on the repo's Pulumi.yaml).

Local file backend by default, passphrase-encrypted secrets, the policy pack on every preview and
up, the Pulumi CLI and provider from the directories the settings resolve to (infra/provisioning/binaries.py),
progress through callbacks. One method per engine operation, each with a typed result.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pulumi import automation as auto

from govops.errors import ConfigError, ServiceUnavailable
from infra.provisioning.changes import ResourceChange, step_change
from infra.provisioning.contract import EngineConfig, EngineResult, Watch

REPO = Path(__file__).resolve().parents[2]
POLICY_PACK = REPO / "infra" / "policy"
# Kubernetes objects of different tenants are independent; the apiserver, not Pulumi, should be
# the limit.
PARALLEL = 64
# The engine would otherwise rewrite the whole checkpoint (every object's live state, ~6 KB each)
# after every step: O(objects²) bytes. 100 tenants (1083 objects) took 1085 s that way, 42 s without.
# The state is still written once at the end of every run, failed or cancelled ones included, with
# their pending operations (see _recover_interrupted). Only a hard kill of the CLI itself loses the
# run's record; the provider's server-side apply upserts on create and treats a missing object as
# deleted, so the next up converges.
SKIP_CHECKPOINTS = "true"
# pulumi-kubernetes paces itself at 50 requests/s by default, which made a first up of 100 tenants
# a flat ~40 objects/s while the CPUs idled (32.1 s; 20.3 s with these). The apiserver's own
# priority and fairness (APF) is what should pace a client; kubectl sets no such limit for apply.
K8S_CLIENT_QPS, K8S_CLIENT_BURST = "1000", "2000"


def _summary_counts(resource_changes: Mapping[Any, int] | None) -> dict[str, int]:
    return {str(getattr(k, "value", k)): int(v) for k, v in (resource_changes or {}).items()}


def _short_error(exc: Exception) -> str:
    text = str(exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    interesting = [
        ln
        for ln in lines
        if ln.lower().startswith(("error", "mandatory", "- "))
        or "violation" in ln.lower()
        or re.match(r"^[\w.]*(Error|Exception|Invalid)\w*: ", ln)
    ]
    return "; ".join((interesting or lines)[-6:])[:2000]


class _Follower:
    """Feeds the engine's events to the watcher and keeps, per resource, what the step changes."""

    def __init__(self, watch: Watch, *, live: bool) -> None:
        self.watch, self.live = watch, live
        self.out: list[str] = []
        self.steps: dict[str, ResourceChange] = {}
        self.counts: dict[str, int] = {}
        self.violations: list[str] = []  # mandatory policy violations, as the operator reads them

    def output(self, line: str) -> None:
        self.out.append(line)
        if self.watch.on_output:
            self.watch.on_output(line)

    def event(self, ev: auto.events.EngineEvent) -> None:
        # The Automation API calls this on its event-log thread: an exception there stops the
        # tailing, and the engine call then never returns. Record it and keep reading.
        try:
            self._event(ev)
        except Exception as exc:
            self.out.append(f"[govops] event not understood ({exc.__class__.__name__}: {exc})\n")

    def _event(self, ev: auto.events.EngineEvent) -> None:
        meta, kind = None, ""
        if ev.policy_event:
            pe = ev.policy_event
            if pe.enforcement_level == "mandatory":
                on = f" on {pe.resource_urn.rsplit('::', 1)[-1]}" if pe.resource_urn else ""
                text = " ".join(pe.message.split())
                self.violations.append(f"policy {pe.policy_name}{on}: {text}")
            return
        if ev.summary_event:
            self.counts = _summary_counts(ev.summary_event.resource_changes)
            return
        if ev.resource_pre_event and ev.resource_pre_event.metadata:
            meta, kind = ev.resource_pre_event.metadata, "resource_pre"
        elif ev.res_outputs_event and ev.res_outputs_event.metadata:
            meta, kind = ev.res_outputs_event.metadata, "resource_done"
        elif ev.res_op_failed_event:
            if self.watch.on_event:
                self.watch.on_event("resource_failed", {})
            return
        if meta is None:
            return
        op = str(meta.op.value if meta.op else "")
        if self.watch.on_event:
            self.watch.on_event(kind, {"urn": meta.urn, "type": meta.type, "op": op})
        # A preview compares the program's inputs; a refresh compares the recorded outputs with the live object.
        side = "outputs" if self.live else "inputs"
        old = getattr(meta.old, side, None) if meta.old else None
        new = getattr(meta.new, side, None) if meta.new else None
        if self.live and kind == "resource_pre" and new is None:
            return  # the live object is read after this event: only its outputs event can say "gone"
        change = step_change(op, meta.urn, meta.type, old, new)
        if change is not None:
            self.steps[meta.urn] = change

    @property
    def changes(self) -> list[ResourceChange]:
        return sorted(self.steps.values(), key=lambda c: c.urn)

    def failed(self, exc: auto.CommandError) -> EngineResult:
        if isinstance(exc, auto.ConcurrentUpdateError):
            raise ServiceUnavailable(
                "another update is running on this stack", hint="wait for it to finish (see `govops cloud runs`)"
            ) from None
        error = ("refused by the MLPS policy pack: " + "; ".join(self.violations))[:2000] if self.violations else None
        return EngineResult(False, {}, "".join(self.out) + str(exc), error or _short_error(exc), self.changes)


class PulumiEngine:
    def __init__(self, cfg: EngineConfig) -> None:
        self.cfg = cfg

    def _stack(self) -> tuple[auto.Stack, bool]:
        """The stack, and whether it was created just now."""
        cfg = self.cfg
        if not cfg.kubeconfig.exists():
            raise ConfigError(
                f"kubeconfig {cfg.kubeconfig} does not exist",
                hint="set GOVOPS_KUBECONFIG, or start the lab cluster with `govops lab up kube`",
            )
        pulumi_bin = next((d for d in cfg.bin_dirs if (d / "pulumi").exists()), None)
        if pulumi_bin is None:
            raise ConfigError("the Pulumi CLI is not installed", hint="run `make tools`")
        cfg.pulumi_home.mkdir(parents=True, exist_ok=True)
        env = {
            "PULUMI_BACKEND_URL": cfg.backend_url,
            "PULUMI_CONFIG_PASSPHRASE": cfg.passphrase,
            "PULUMI_SKIP_UPDATE_CHECK": "1",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "1",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "1",
            "PULUMI_SKIP_CHECKPOINTS": SKIP_CHECKPOINTS,
            "KUBECONFIG": str(cfg.kubeconfig),
            "PULUMI_K8S_CLIENT_QPS": K8S_CLIENT_QPS,
            "PULUMI_K8S_CLIENT_BURST": K8S_CLIENT_BURST,
            "GOVOPS_REGISTRY": cfg.registry,
            "PATH": os.pathsep.join([*(str(d) for d in cfg.bin_dirs), os.environ.get("PATH", "")]),
        }
        # The repo's program and Pulumi.yaml settings, but a workspace in the data directory: stack
        # files (config, the passphrase salt) land there, never in the source tree.
        workspace = cfg.pulumi_home.parent / "pulumi-workspace"
        workspace.mkdir(parents=True, exist_ok=True)
        project = auto.ProjectSettings(
            name="govops-cloud",
            main=os.path.relpath(REPO / "infra", workspace),
            runtime=auto.ProjectRuntimeInfo(name="python", options={"toolchain": "pip", "virtualenv": sys.prefix}),
        )
        opts = auto.LocalWorkspaceOptions(
            work_dir=str(workspace),
            pulumi_home=str(cfg.pulumi_home),
            env_vars=env,
            project_settings=project,
            pulumi_command=auto.PulumiCommand(root=str(pulumi_bin.parent), skip_version_check=True),
        )
        try:
            try:
                stack, created = auto.select_stack(stack_name=cfg.stack, work_dir=str(workspace), opts=opts), False
            except auto.StackNotFoundError:
                stack, created = auto.create_stack(stack_name=cfg.stack, work_dir=str(workspace), opts=opts), True
            config = {
                "govops:departmentsFile": str(cfg.departments_file),
                "govops:platform": "true" if cfg.platform else "false",
                # Sign-in sessions live in the database (govops.sessions), so any replica
                # serves any user: two, as the design's stateless gateway promises.
                "govops:gatewayReplicas": "2",
                "kubernetes:kubeconfig": str(cfg.kubeconfig),
                "govops:workloadsDir": str(cfg.workloads_dir or ""),
            }
            # Writing the config is a CLI run of its own (~1.2 s): only when it differs from what
            # this workspace last wrote for the stack (a drift check every few minutes writes none).
            marker = workspace / f".govops-config-{cfg.stack}"
            digest = hashlib.sha256(json.dumps([cfg.backend_url, config], sort_keys=True).encode()).hexdigest()
            stack_file = workspace / f"Pulumi.{cfg.stack}.yaml"
            if created or not stack_file.exists() or not marker.exists() or marker.read_text() != digest:
                marker.unlink(missing_ok=True)
                stack.set_all_config({k: auto.ConfigValue(v) for k, v in config.items()})
                marker.write_text(digest)
        except auto.CommandError as exc:
            raise ServiceUnavailable(
                f"cannot open Pulumi stack {cfg.stack}: {_short_error(exc)}",
                hint="check GOVOPS_PULUMI_BACKEND_URL and GOVOPS_PULUMI_PASSPHRASE",
            ) from None
        return stack, created

    @staticmethod
    def _recover_interrupted(stack: auto.Stack, output: Callable[[str], None]) -> None:
        """A run killed mid-way (apiserver gone, process killed) leaves pending operations in the
        state. Clear them; the provider's server-side apply then upserts objects that were
        created but never recorded, so the next up converges without orphans."""
        try:
            pending = (stack.export_stack().deployment or {}).get("pending_operations") or []
        except auto.CommandError:
            return
        if pending:
            output(f"govops: clearing {len(pending)} pending operation(s) left by an interrupted run\n")
            stack.refresh(clear_pending_creates=True, color="never", on_output=output)

    def preview(self, watch: Watch | None = None) -> EngineResult:
        """What `up` would do, with the policy pack, resource by resource."""
        f = _Follower(watch or Watch(), live=False)
        stack, _ = self._stack()
        try:
            r = stack.preview(
                policy_packs=[str(POLICY_PACK)],
                on_output=f.output,
                on_event=f.event,
                color="never",
                diff=True,
                parallel=PARALLEL,
            )
        except auto.CommandError as exc:
            return f.failed(exc)
        return EngineResult(True, _summary_counts(r.change_summary), "".join(f.out), None, f.changes)

    def up(self, watch: Watch | None = None, *, refresh: bool = False) -> EngineResult:
        """Apply the program. With refresh, read the live objects first, so that what was changed
        outside Pulumi differs from the program again and is put back (reverting drift)."""
        f = _Follower(watch or Watch(), live=False)
        stack, created = self._stack()
        if not created:  # a new stack has no interrupted run to recover from
            self._recover_interrupted(stack, f.output)
        try:
            r = stack.up(
                policy_packs=[str(POLICY_PACK)],
                on_output=f.output,
                on_event=f.event,
                color="never",
                parallel=PARALLEL,
                refresh=refresh or None,
            )
        except auto.CommandError as exc:
            return f.failed(exc)
        return EngineResult(True, _summary_counts(r.summary.resource_changes), r.stdout, None, f.changes)

    def refresh(self, watch: Watch | None = None) -> EngineResult:
        """Read the live objects back into the state (this writes the state)."""
        f = _Follower(watch or Watch(), live=True)
        stack, _ = self._stack()
        try:
            r = stack.refresh(on_output=f.output, on_event=f.event, color="never", parallel=PARALLEL)
        except auto.CommandError as exc:
            return f.failed(exc)
        return EngineResult(True, _summary_counts(r.summary.resource_changes), r.stdout, None, f.changes)

    def drift(self, watch: Watch | None = None) -> EngineResult:
        """`pulumi refresh --preview-only`: what changed outside Pulumi, with nothing written."""
        f = _Follower(watch or Watch(), live=True)
        stack, _ = self._stack()
        try:
            r = stack.refresh(preview_only=True, on_output=f.output, on_event=f.event, color="never", parallel=PARALLEL)
        except auto.CommandError as exc:
            return f.failed(exc)
        # The result's summary is the last recorded update's (a preview records none): count from the events.
        return EngineResult(True, f.counts, r.stdout, None, f.changes)

    def outputs(self) -> dict[str, Any]:
        return {k: v.value for k, v in self._stack()[0].outputs().items()}
