"""Costs of the Pulumi Python SDK (3.169) that grow with the number of resources a program
registers, taken off the program's one busy thread. With 100 tenants (~1100 resources) they were
about half of the program's CPU time, and that thread, not the engine or the apiserver, paces
`pulumi up` (see bench/cloud_tenants.py).

1. Every Output's future is appended to a deque (SETTINGS.outputs) and removed from it when it
   resolves; deque.remove is a linear scan, so n outputs cost O(n²). An insertion-ordered set
   offers the same operations (append, remove, popleft, len, clear) in O(1); the SDK's final
   quiescence loop (popleft, re-append if not done) behaves exactly as with the deque.
2. At shutdown the SDK waits for the RPCs it tracks, then busy-waits (`asyncio.sleep(0)` in a
   loop) until every Output has resolved. A registration is tracked only once its task first
   runs, which is after the program's body has returned, so the tracked list is still empty
   then and the program busy-waits through the whole update: one core at 100 % for as long as
   the engine and the apiserver work, on a machine that has two. Tracking each RPC when it is
   started makes the first wait block on the registrations instead; the busy loop then only
   drains Outputs that are already resolved. Failure reporting is the SDK's, unchanged.
3. pulumi.log.debug sends a blocking Log RPC to the engine from the event loop, several per
   resource. The engine shows them only with `pulumi --debug`/`-v`, which govops never passes;
   set GOVOPS_PULUMI_SDK_DEBUG=1 to keep them.
4. Every registration computes the URN the resource would have under mocks (`mock_urn`, used only
   when there is no engine) through create_urn, a chain of Outputs and tasks: about a fifth of the
   program's event-loop time. When the parent is already a URN string (or absent) and the type
   and name are strings, which is the case there, the same string is built directly and returned
   as a resolved Output; any other call goes to the SDK's create_urn.

All are applied only when the SDK still looks the way they assume, so an SDK upgrade that changes
these internals makes this a no-op, never a breakage.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Hashable, Iterable
from typing import Any


class OrderedFutures:
    """The subset of deque that the SDK uses for SETTINGS.outputs, with O(1) remove: a set of the
    live items plus a queue in insertion order from which removed items are dropped lazily."""

    def __init__(self, items: Iterable[Hashable] = ()) -> None:
        self._queue: deque[Hashable] = deque()
        self._live: set[Hashable] = set()
        for item in items:
            self.append(item)

    def append(self, item: Hashable) -> None:
        self._live.add(item)
        self._queue.append(item)

    def remove(self, item: Hashable) -> None:
        try:
            self._live.remove(item)
        except KeyError:
            raise ValueError(f"{item!r} not in outputs") from None

    def popleft(self) -> Hashable:
        while self._queue:
            item = self._queue.popleft()
            if item in self._live:
                self._live.remove(item)
                return item
        raise IndexError("pop from an empty outputs set")

    def clear(self) -> None:
        self._queue.clear()
        self._live.clear()

    def __len__(self) -> int:
        return len(self._live)


def apply() -> list[str]:
    """Install the workarounds in the running program; returns the names of those applied."""
    import pulumi.log
    from pulumi.runtime.settings import SETTINGS

    applied = []
    with SETTINGS.lock:
        outputs = SETTINGS.outputs
        if isinstance(outputs, deque):
            SETTINGS.outputs = OrderedFutures(outputs)
            applied.append("outputs")
    if _track_rpcs_when_started():
        applied.append("rpcs")
    if not os.environ.get("GOVOPS_PULUMI_SDK_DEBUG") and callable(getattr(pulumi.log, "debug", None)):
        pulumi.log.debug = _no_debug
        applied.append("debug")
    if _direct_create_urn():
        applied.append("urn")
    return applied


def _direct_create_urn() -> bool:
    import inspect

    import pulumi
    from pulumi.runtime import resource, settings

    sdk = getattr(resource, "create_urn", None)
    if sdk is None or getattr(sdk, "_govops", False):
        return False
    if list(inspect.signature(sdk).parameters) != ["name", "type_", "parent", "project", "stack"]:
        return False

    def create_urn(
        name: Any, type_: Any, parent: Any = None, project: str | None = None, stack: str | None = None
    ) -> Any:
        if not (isinstance(name, str) and isinstance(type_, str) and (parent is None or isinstance(parent, str))):
            return sdk(name, type_, parent, project, stack)
        if parent is not None:
            prefix = parent[: parent.rfind("::")] + "$"
        else:
            prefix = f"urn:pulumi:{stack or settings.get_stack()}::{project or settings.get_project()}::"
        return pulumi.Output.from_input(f"{prefix}{type_}::{name}")

    create_urn._govops = True  # type: ignore[attr-defined]
    resource.create_urn = create_urn
    return True


def _track_rpcs_when_started() -> bool:
    import asyncio
    import sys

    from pulumi.runtime.rpc_manager import RPCManager

    # `rpcs` is only annotated on the class (instances set it in clear()), so hasattr is False.
    if getattr(RPCManager.do_rpc, "_govops", False) or "rpcs" not in getattr(RPCManager, "__annotations__", {}):
        return False
    log = sys.modules["pulumi.log"]

    def do_rpc(self: Any, name: str, rpc_function: Any) -> Any:
        async def finish(rpc: Any) -> Any:
            # The SDK's rpc_wrapper, minus the appending it did when it first ran.
            try:
                return await rpc, None
            except Exception as exn:
                log.debug(f"RPC {name} failed with exception: {exn!r}")
                if self.unhandled_exception is None:
                    self.unhandled_exception = exn
                    self.exception_traceback = sys.exc_info()[2]
                return None, exn

        def start(*args: Any, **kwargs: Any) -> Any:
            rpc = asyncio.ensure_future(rpc_function(*args, **kwargs))
            self.rpcs.append(rpc)
            return finish(rpc)

        return start

    do_rpc._govops = True  # type: ignore[attr-defined]
    RPCManager.do_rpc = do_rpc  # type: ignore[method-assign]
    return True


def _no_debug(msg: str, resource: Any = None, stream_id: Any = None, ephemeral: Any = None) -> None:
    return None
