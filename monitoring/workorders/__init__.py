"""Fault work orders (运维工单): a camera fault that holds opens one order for the contractor of
its area, with an SLA; the next patrol verifies the repair; a monthly report (运维考核) measures
each contractor. Opt-in self-healing reboots a camera that stops answering."""
