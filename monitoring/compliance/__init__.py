"""MLPS 2.0 Level 3 (等保 2.0 三级) compliance evidence: each control the platform touches, per host
and per subsystem, read from live state — pass, fail, "configured, not applied" (with why) or "not
configured" — with the evidence and the time it was taken. `report.gather` builds it; `html`
renders the printable page for the 等保测评 assessor."""
