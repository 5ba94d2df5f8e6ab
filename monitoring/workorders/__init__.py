"""Fault work orders (运维工单) and the contractor report (运维考核).

- `models`: contractors, their areas, orders and each order's history (tables in
  monitoring/migrations, Alembic branch "monitoring").
- `settings`: GOVOPS_WORKORDERS_* (SLA hours, sync interval, auto-dispatch/close, photo cap,
  opt-in self-healing).
- `contractors`: who answers for an area (longest admin-division prefix wins).
- `lifecycle`: open → dispatched → repaired → verified → closed; who sees which order.
- `sync`: the engine step: the patrol's firing camera alerts open orders, the next diagnosis
  verifies or reopens a repair, overdue orders raise an SLA alert (source monitoring.workorders).
- `selfheal`: one ONVIF SystemReboot for a camera that stopped answering (opt-in, audited).
- `report`: the monthly 完好率 / 在线率 / opened / closed / on-time / MTTR per contractor and area.

The gateway runs `sync` every `sync_interval_s` (the work-order router's lifespan);
`govops workorders sync` runs it once.
"""
