"""Placeholder registry; replaced below."""
NAMES = ("postgres",)
