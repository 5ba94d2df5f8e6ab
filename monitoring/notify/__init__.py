"""Notification channels: generic webhook, WeCom and DingTalk robots, SMTP mail."""
