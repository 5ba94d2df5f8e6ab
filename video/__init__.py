"""Sharp Eyes video network (雪亮工程): ONVIF onboarding, catalogue, diagnosis."""

from pathlib import Path

MIGRATIONS = Path(__file__).with_name("migrations")
