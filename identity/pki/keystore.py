"""The CA's files under <data_dir>/ca (directory 0700, files 0600):

  root.crt.pem, issuing.crt.pem   the two CA certificates
  root.key.pem, issuing.key.pem   PKCS#8 private keys, encrypted with a random passphrase
  root.key.pass, issuing.key.pass that passphrase, sealed with the SecretBox (GOVOPS_SECRET_KEY or
                                  the 0600 key file), so a copy of the directory alone is useless

Keys are written once (exclusive, mode 0600 from creation) and unlocked once per process.
"""

from __future__ import annotations

import secrets
import threading
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from govops.errors import GovopsError, NotFound
from govops.files import write_private
from govops.secretbox import SecretBox
from identity.pki.policy import PrivateKey

Which = Literal["root", "issuing"]


class KeyStore:
    def __init__(self, directory: Path, box: SecretBox) -> None:
        self.directory = directory
        self.box = box
        self._keys: dict[str, PrivateKey] = {}
        self._certs: dict[str, x509.Certificate] = {}
        self._lock = threading.Lock()

    def _cert_path(self, which: str) -> Path:
        return self.directory / f"{which}.crt.pem"

    def exists(self) -> bool:
        return self._cert_path("issuing").is_file() and self._cert_path("root").is_file()

    def started(self) -> bool:
        """Anything of a CA is here (even a half-created one): never overwrite it."""
        return self.exists() or (self.directory / "root.key.pem").exists()

    def require(self) -> None:
        if not self.exists():
            raise NotFound(f"no CA in {self.directory}", hint="create it once with `govops ca init`")

    def certificate(self, which: Which) -> x509.Certificate:
        cert = self._certs.get(which)
        if cert is None:
            self.require()
            cert = x509.load_pem_x509_certificate(self._cert_path(which).read_bytes())
            self._certs[which] = cert
        return cert

    def private_key(self, which: Which) -> PrivateKey:
        key = self._keys.get(which)
        if key is not None:
            return key
        with self._lock:  # the passphrase KDF is slow: unlock once, even under concurrent requests
            if which not in self._keys:
                self._keys[which] = self._unlock(which)
            return self._keys[which]

    def _unlock(self, which: Which) -> PrivateKey:
        self.require()
        sealed = (self.directory / f"{which}.key.pass").read_text().strip()
        passphrase = self.box.decrypt(sealed).encode()
        try:
            key = serialization.load_pem_private_key(
                (self.directory / f"{which}.key.pem").read_bytes(), password=passphrase
            )
        except (ValueError, TypeError):
            raise GovopsError(
                f"the {which} CA key in {self.directory} cannot be unlocked",
                hint="restore the key file or GOVOPS_SECRET_KEY that sealed it",
            ) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise GovopsError(f"the {which} CA key has an unsupported type")
        return key

    def prepare(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)

    def store(self, which: Which, key: PrivateKey, cert: x509.Certificate) -> None:
        """Write a key (sealed) and its certificate; refuses to overwrite either."""
        passphrase = secrets.token_urlsafe(32)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase.encode()),
        )
        write_private(self.directory / f"{which}.key.pem", pem, exclusive=True)
        write_private(self.directory / f"{which}.key.pass", self.box.encrypt(passphrase).encode(), exclusive=True)
        self._keys[which] = key

    def store_certificates(self, root: x509.Certificate, issuing: x509.Certificate) -> None:
        # The issuing certificate last: `exists()` is true only once both are in place.
        self._cert_path("root").write_bytes(root.public_bytes(serialization.Encoding.PEM))
        self._cert_path("issuing").write_bytes(issuing.public_bytes(serialization.Encoding.PEM))
        self._certs = {"root": root, "issuing": issuing}
