"""The Sharp Eyes video catalogue."""
