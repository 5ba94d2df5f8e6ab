"""Reports people read and forward: the daily operations report (运维日报)."""
