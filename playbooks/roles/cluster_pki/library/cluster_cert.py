#!/usr/bin/python
"""Ansible module: the cluster CA and the certificates it signs, kept in a directory on the
controller (the Ansible host), with the `cryptography` library. Idempotent: an existing file that
already says what is asked (subject, SANs, usage, issuer, not near expiry) is left alone.

kind=ca       NAME.key + NAME.crt, a self-signed CA
kind=cert     NAME.key + NAME.crt, signed by the CA named `ca`
kind=keypair  NAME.key + NAME.pub, an RSA pair (the service-account token signing key)
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    HAVE_CRYPTOGRAPHY = True
except ImportError:  # reported as a one-line failure below
    HAVE_CRYPTOGRAPHY = False

DOCUMENTATION = r"""
module: cluster_cert
short_description: A cluster CA and the certificates it signs, on the controller
description:
  - Creates or re-issues a CA, a certificate or a key pair in I(pki_dir), only when what exists does not match.
options:
  pki_dir: {description: Directory on the controller (created 0700)., type: path, required: true}
  name: {description: File stem (NAME.crt, NAME.key, NAME.pub)., type: str, required: true}
  kind: {description: ca, cert or keypair., type: str, default: cert, choices: [ca, cert, keypair]}
  ca: {description: Stem of the signing CA., type: str, default: ca}
  common_name: {description: Subject CN., type: str}
  organization: {description: Subject O values (Kubernetes groups)., type: list, elements: str, default: []}
  dns_names: {description: DNS subject alternative names., type: list, elements: str, default: []}
  ip_addresses: {description: IP subject alternative names., type: list, elements: str, default: []}
  usage: {description: Extended key usage., type: str, default: client, choices: [server, client, both]}
  days: {description: Validity in days., type: int, default: 365}
  renew_before_days: {description: Re-issue when fewer days are left., type: int, default: 30}
"""


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _key_pem(key) -> bytes:
    pkcs8 = serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption())


def _name(cn: str, orgs: list[str]) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _fresh(cert: x509.Certificate, renew_before: int) -> bool:
    return cert.not_valid_after_utc - _now() > datetime.timedelta(days=renew_before)


def _sans(cert: x509.Certificate) -> tuple[set[str], set[str]]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    return set(ext.get_values_for_type(x509.DNSName)), {str(i) for i in ext.get_values_for_type(x509.IPAddress)}


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except Exception:  # signed by another CA of the same name (a CA re-made): re-issue
        return False
    return True


EKU = {
    "server": [ExtendedKeyUsageOID.SERVER_AUTH] if HAVE_CRYPTOGRAPHY else [],
    "client": [ExtendedKeyUsageOID.CLIENT_AUTH] if HAVE_CRYPTOGRAPHY else [],
    "both": [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH] if HAVE_CRYPTOGRAPHY else [],
}


def ensure_ca(d: Path, p: dict, dry: bool = False) -> bool:
    crt, key = d / f"{p['name']}.crt", d / f"{p['name']}.key"
    if crt.exists() and key.exists():
        cert = x509.load_pem_x509_certificate(crt.read_bytes())
        if _fresh(cert, p["renew_before_days"]):
            return False
        # an expiring CA is an operator's decision (every node trusts it): never rotate it silently
        raise ValueError(f"the CA {crt} expires {cert.not_valid_after_utc:%Y-%m-%d}: rotate it by hand")
    if dry:
        return True
    private = ec.generate_private_key(ec.SECP256R1())
    subject = _name(p["common_name"] or "govops-cluster-ca", p["organization"])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=p["days"]))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(private.public_key()), critical=False)
        .sign(private, hashes.SHA256())
    )
    _write(key, _key_pem(private), 0o600)
    _write(crt, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return True


def ensure_cert(d: Path, p: dict, dry: bool = False) -> bool:
    if dry and not (d / f"{p['ca']}.crt").exists():
        return True  # the CA itself is still to be made
    ca_crt = x509.load_pem_x509_certificate((d / f"{p['ca']}.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((d / f"{p['ca']}.key").read_bytes(), password=None)
    crt, key = d / f"{p['name']}.crt", d / f"{p['name']}.key"
    want_dns, want_ip = set(p["dns_names"]), {str(ipaddress.ip_address(i)) for i in p["ip_addresses"]}
    subject = _name(p["common_name"], p["organization"])
    if crt.exists() and key.exists():
        cert = x509.load_pem_x509_certificate(crt.read_bytes())
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if (
            cert.subject == subject
            and cert.issuer == ca_crt.subject
            and cert.public_key() == serialization.load_pem_private_key(key.read_bytes(), None).public_key()
            and _sans(cert) == (want_dns, want_ip)
            and list(eku) == EKU[p["usage"]]
            and _fresh(cert, p["renew_before_days"])
            and _issued_by(cert, ca_crt)
        ):
            return False
    if dry:
        return True
    private = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_crt.subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(min(_now() + datetime.timedelta(days=p["days"]), ca_crt.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True
        )  # digitalSignature, keyEncipherment
        .add_extension(x509.ExtendedKeyUsage(EKU[p["usage"]]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_crt.public_key()), critical=False)
    )
    if want_dns or want_ip:
        names: list[x509.GeneralName] = [x509.DNSName(n) for n in sorted(want_dns)]
        names += [x509.IPAddress(ipaddress.ip_address(i)) for i in sorted(want_ip)]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    _write(key, _key_pem(private), 0o600)
    _write(crt, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return True


def ensure_keypair(d: Path, p: dict, dry: bool = False) -> bool:
    key, pub = d / f"{p['name']}.key", d / f"{p['name']}.pub"
    if key.exists() and pub.exists():
        return False
    if dry:
        return True
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write(key, _key_pem(private), 0o600)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write(pub, public, 0o644)
    return True


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "pki_dir": {"type": "path", "required": True},
            "name": {"type": "str", "required": True},
            "kind": {"type": "str", "default": "cert", "choices": ["ca", "cert", "keypair"]},
            "ca": {"type": "str", "default": "ca"},
            "common_name": {"type": "str"},
            "organization": {"type": "list", "elements": "str", "default": []},
            "dns_names": {"type": "list", "elements": "str", "default": []},
            "ip_addresses": {"type": "list", "elements": "str", "default": []},
            "usage": {"type": "str", "default": "client", "choices": ["server", "client", "both"]},
            "days": {"type": "int", "default": 365},
            "renew_before_days": {"type": "int", "default": 30},
        },
        required_if=[("kind", "cert", ["common_name"])],
        supports_check_mode=True,
    )
    if not HAVE_CRYPTOGRAPHY:
        module.fail_json(msg="the cryptography library is missing on the controller: run `make deps`")
    p = module.params
    d = Path(p["pki_dir"])
    if not module.check_mode:
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        ensure = {"ca": ensure_ca, "cert": ensure_cert, "keypair": ensure_keypair}[p["kind"]]
        changed = ensure(d, p, dry=module.check_mode)
    except (OSError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=changed, path=str(d / p["name"]))


if __name__ == "__main__":
    main()
