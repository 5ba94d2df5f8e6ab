"""The certificate policy (证书策略), in one place: which keys and signatures the platform trusts.

Enforced three times from this one table: at issuance and import (`enforce`), by `govops ca
check` (`problems`), and in Keycloak, whose JVM gets the same rules as
`jdk.certpath.disabledAlgorithms` (`jdk_disabled_algorithms`), so a TLS client certificate that
breaks them is refused during the handshake, before the X.509 authenticator sees it.

- keys: RSA of at least 2048 bits, or EC on P-256, P-384 or P-521;
- signatures: SHA-256 or better (SHA-1 and MD5 are refused, also when our own CA key made them);
- GM/T 0015 certificates (SM2 keys signed with SM3) come later: their OIDs are named here and
  `SM_ACCEPTED` turns them on once Keycloak's JVM has a provider for them.
"""

from __future__ import annotations

from typing import Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from govops.errors import ValidationFailed

# Our certificate policy: a UUID-based OID (ITU-T X.667, arc 2.25) that anyone may mint, so the
# relying party (Keycloak's X.509 authenticator) can require certificates of this CA's policy.
CIVIL_SERVANT_POLICY = "2.25.303755782955876282833366720590824748960"

MIN_RSA_BITS = 2048
EC_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})  # P-256 and up
MIN_EC_BITS = 256
SIGNATURE_HASHES = frozenset({"sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512"})
# GM/T 0015 (国密): SM2 public keys (GB/T 32918) signed with SM3 (GB/T 32905).
SM2_KEY_OID = "1.2.156.10197.1.301"
SM2_WITH_SM3_OID = "1.2.156.10197.1.501"
SM_ACCEPTED = False

KeyAlgorithm = Literal["ecdsa-p256", "rsa-3072", "rsa-2048"]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

PROBLEMS = {
    "weak_key": f"the key is too weak (RSA needs ≥ {MIN_RSA_BITS} bits, EC needs P-256 or stronger)",
    "weak_signature": "the signature uses a weak or unknown hash (SHA-256 or better is required)",
}


def new_key(algorithm: str) -> PrivateKey:
    if algorithm == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "rsa-3072":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    if algorithm == "rsa-2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValidationFailed(f"unknown key algorithm {algorithm!r}", hint="use ecdsa-p256, rsa-3072 or rsa-2048")


def key_acceptable(public_key: object) -> bool:
    if isinstance(public_key, rsa.RSAPublicKey):
        return public_key.key_size >= MIN_RSA_BITS
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return public_key.curve.name in EC_CURVES
    return isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey)


def signature_acceptable(cert: x509.Certificate | x509.CertificateRevocationList) -> bool:
    oid = cert.signature_algorithm_oid.dotted_string
    if oid == SM2_WITH_SM3_OID:
        return SM_ACCEPTED
    try:
        algorithm = cert.signature_hash_algorithm
    except (UnsupportedAlgorithm, ValueError):  # an algorithm cryptography does not know is not ours
        return False
    if algorithm is None:  # Ed25519 / Ed448 carry their own hash
        return oid in ("1.3.101.112", "1.3.101.113")
    return algorithm.name in SIGNATURE_HASHES


def problems(cert: x509.Certificate) -> list[str]:
    """The policy's reasons to refuse `cert` (empty: it meets the policy)."""
    found = []
    try:
        public_key = cert.public_key()
    except (UnsupportedAlgorithm, ValueError):  # an unknown key type (SM2 included) until accepted
        public_key = None
    if not key_acceptable(public_key):
        found.append("weak_key")
    if not signature_acceptable(cert):
        found.append("weak_signature")
    return found


def enforce(cert: x509.Certificate, what: str = "the certificate") -> None:
    """Refuse (ValidationFailed) a certificate that breaks the policy: at issuance and import."""
    found = problems(cert)
    if found:
        raise ValidationFailed(
            f"{what} breaks the certificate policy: " + "; ".join(PROBLEMS[p] for p in found),
            hint="use an RSA key of 2048 bits or more or an EC P-256 key, signed with SHA-256 or better",
        )


def jdk_disabled_algorithms() -> str:
    """The same policy for Keycloak's JVM (`jdk.certpath.disabledAlgorithms`): the JDK's own
    defaults plus SHA-1 everywhere (the default spares SHA-1 under private CAs like ours) and our
    key minimums."""
    return ", ".join(
        [
            "MD2",
            "MD5",
            "SHA1",
            f"RSA keySize < {MIN_RSA_BITS}",
            f"RSASSA-PSS keySize < {MIN_RSA_BITS}",
            f"DSA keySize < {MIN_RSA_BITS}",
            f"EC keySize < {MIN_EC_BITS}",
            "include jdk.disabled.namedCurves",
        ]
    )
