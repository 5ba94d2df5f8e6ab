"""The lab as a test drives it: `govops lab …` in a child process on its own data directory (with
none of the caller's platform settings), and a lab person's PKCS#12 opened as PEM files, the way a
person uses what the lab hands out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

REPO = Path(__file__).resolve().parents[2]


def lab_cli(data_dir: Path, *args: str, timeout: float = 60) -> tuple[int, Any, str]:
    """(exit code, the --json answer or None, stderr) of `govops lab ARGS --json`."""
    env = {**os.environ, "GOVOPS_DATA_DIR": str(data_dir), "GOVOPS_ENVIRONMENT": "test"}
    for k in [k for k in env if k.startswith("GOVOPS_") and k not in ("GOVOPS_DATA_DIR", "GOVOPS_ENVIRONMENT")]:
        del env[k]  # the lab gets nothing from the caller's platform settings
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "lab", *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=REPO,
    )
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, json.loads(out.stdout) if out.stdout.strip() else None, out.stderr


def person_pem(person: dict[str, str], out: Path) -> tuple[Path, Path]:
    """The person's PKCS#12 opened with its password file: (certificate chain, private key) PEM."""
    p12 = Path(person["pkcs12"])
    key, cert, chain = pkcs12.load_key_and_certificates(
        p12.read_bytes(), Path(person["pkcs12_password_file"]).read_bytes()
    )
    assert key is not None and cert is not None
    crt, pem = out / f"{p12.stem}.crt", out / f"{p12.stem}.key"
    crt.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [cert, *chain]))
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    pem.chmod(0o600)
    return crt, pem
