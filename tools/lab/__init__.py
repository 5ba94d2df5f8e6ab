"""Start real components on loopback for tests and for `govops lab`."""
