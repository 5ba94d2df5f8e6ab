"""The lab's steps on the platform's own data, passed to tools.lab.registry by `govops lab up`.

pki: migrate the lab's PostgreSQL, load the sample district, create the CA (once) and Keycloak's
HTTPS certificate; realm: apply the realm, import sample civil servants of every role in two
departments and issue each a PKCS#12 (0600, its password in a 0600 file beside it); cameras:
onboard the lab's ONVIF camera and register its RTSP streams; kube_authentication: the apiserver's
trust in the lab's Keycloak (SSO). tools/ never imports the kernel or
the domains, so these live at the CLI front door and call the same domain functions as the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from govops.errors import Conflict, ServiceUnavailable
from govops.files import write_private
from govops.principal import CONTRACTOR, ROLES
from govops.settings import Settings, load_settings

if TYPE_CHECKING:
    from gateway.runtime import Runtime
    from tools.lab.registry import Lab

ACTOR = "cli:lab"
LAB_DEPARTMENTS = ("gaj", "cgj")  # 金山公安分局, 区城管执法局 (from the sample district)
# One maintenance contractor (运维单位) per lab department, each answering for one sample street;
# the lab's contractor staff carry its code (the token's `contractor` claim scopes their orders).
LAB_CONTRACTORS = {
    "gaj": ("lab-zhujing", "朱泾运维服务部", "310116101"),
    "cgj": ("lab-jsw", "金山卫运维服务部", "310116109"),
}
ROLE_NAMES = {
    "ops-engineer": "运维工程师",
    "dept-admin": "部门管理员",
    "security-staff": "安保值班员",
    "auditor": "审计员",
    "sec-admin": "安全管理员",
}


def people() -> list[tuple[str, str, str, str]]:
    """(civil-servant id, name, department, role): one person per role in each lab department."""
    out = []
    for d, dept in enumerate(LAB_DEPARTMENTS, 1):
        for r, role in enumerate(ROLES, 1):
            out.append((f"J{d}{r:07d}", f"{ROLE_NAMES.get(role, role)}{'甲乙'[d - 1]}", dept, role))
    return out


def lab_settings(lab: Lab, *, keycloak: bool = True) -> Settings:
    """The platform's settings pointed at the lab's PostgreSQL (and Keycloak once it runs)."""
    pg = lab.details("postgres")
    password = Path(pg["password_file"]).read_text()
    url = pg["database_url_without_password"].replace(
        "postgresql://govops@", f"postgresql+psycopg://govops:{password}@"
    )
    extra: dict[str, Any] = {"database_url": url, "public_url": f"http://{lab.gateway}"}
    kc = lab.details("keycloak")
    if keycloak and kc:
        extra |= {
            "keycloak_url": kc["https_url"],
            "keycloak_admin_url": lab.endpoint("keycloak"),
            "keycloak_admin_user": kc["admin_user"],
            "keycloak_admin_password": Path(kc["admin_password_file"]).read_text(),
            "keycloak_ca_file": lab.details("pki")["truststore"],
        }
    return load_settings(**extra)


def gateway_env(lab: Lab) -> dict[str, str]:
    """The GOVOPS_* environment of the lab's `govops serve`; also written 0600 to lab/gateway.env
    so a person can point the CLI at the same database and Keycloak."""
    s = lab_settings(lab)
    env = {
        "GOVOPS_DATA_DIR": str(s.data_dir),
        "GOVOPS_DATABASE_URL": s.database_url or "",
        "GOVOPS_PUBLIC_URL": s.public_url or "",
        "GOVOPS_KEYCLOAK_URL": s.keycloak_url or "",
        "GOVOPS_KEYCLOAK_ADMIN_URL": s.keycloak_admin_url or "",
        "GOVOPS_KEYCLOAK_ADMIN_USER": s.keycloak_admin_user or "",
        "GOVOPS_KEYCLOAK_ADMIN_PASSWORD": s.keycloak_admin_password.get_secret_value()
        if s.keycloak_admin_password
        else "",
        "GOVOPS_KEYCLOAK_CA_FILE": str(s.keycloak_ca_file or ""),
    }
    if lab.metrics_token:
        env["GOVOPS_METRICS_TOKEN"] = lab.metrics_token
    # They start after the gateway, on ports reserved before it: its status board and the inbox's
    # silences reach them from the start.
    for name, key in (("prometheus", "GOVOPS_PROMETHEUS_URL"), ("alertmanager", "GOVOPS_ALERTS_ALERTMANAGER_URL")):
        address = lab.address(name)
        if address:
            env[key] = f"http://{address}"
    write_private(lab.root / "gateway.env", "".join(f"{k}={v}\n" for k, v in env.items()).encode())
    return env


def _runtime(settings: Settings) -> Runtime:
    from gateway.runtime import Runtime

    return Runtime.build(settings)


def pki(lab: Lab) -> dict[str, Any]:
    from identity.pki import CertificateAuthority, policy

    settings = lab_settings(lab, keycloak=False)
    rt = _runtime(settings)
    rt.migrate()
    added = rt.load_sample_district()
    ca = CertificateAuthority.from_settings(settings, rt.box)
    d = lab.root / "pki"
    with rt.transaction() as s:
        if not ca.keys.started():
            ca.init(s, actor=ACTOR)
        server = ca.issue_server(s, ["127.0.0.1", "localhost"], actor=ACTOR)
    cert = d / "keycloak-server.crt"
    cert.parent.mkdir(parents=True, exist_ok=True)
    cert.write_bytes(server.chain_pem)
    key = write_private(d / "keycloak-server.key", server.key_pem)
    trust = d / "trust.pem"
    trust.write_bytes(ca.chain_pem())
    return {
        "server_cert": str(cert),
        "server_key": str(key),
        "truststore": str(trust),
        "java_security": {"jdk.certpath.disabledAlgorithms": policy.jdk_disabled_algorithms()},
        "sample_added": added,
    }


def realm(lab: Lab) -> dict[str, Any]:
    from govops.org import Department
    from identity import directory
    from identity import realm as realm_code
    from identity.keycloak_adapter import KeycloakAdapter
    from identity.pki import CertificateAuthority, CivilServant

    settings = lab_settings(lab)
    rt = _runtime(settings)
    kc = KeycloakAdapter.from_settings(settings)
    with rt.sessions() as s:
        spec = realm_code.spec_from_settings(settings, s)
        dept_names = {d.code: d.name for d in s.query(Department).all()}
    try:
        applied = realm_code.apply(kc, spec)
    except Conflict:
        # Seen once with the machine at load 28: "create realm: conflict" although the realm was
        # absent when the plan was read (a create that landed on the first, timed-out try). The
        # apply is idempotent and plans from what is there now, so once more finishes the job.
        applied = realm_code.apply(kc, spec)
    rows = [
        directory.CivilServantRow(
            line=i,
            id=pid,
            name=name,
            department=dept,
            section=None,
            email=None,
            roles=[role],
            active=True,
            contractor=LAB_CONTRACTORS[dept][0] if role == CONTRACTOR else None,
        )
        for i, (pid, name, dept, role) in enumerate(people(), 1)
    ]
    _contractors(rt)
    with rt.transaction() as s:
        report = directory.import_directory(s, kc, directory.DirectoryFile(departments={}, people=rows), actor=ACTOR)
    if report.stopped:
        raise ServiceUnavailable(report.stopped)
    ca = CertificateAuthority.from_settings(settings, rt.box)
    d = lab.root / "people"
    signin: list[dict[str, str]] = []
    with rt.transaction() as s:
        for pid, name, dept, role in people():
            b = ca.issue(s, CivilServant(pid, name, dept_names[dept]), actor=ACTOR)
            stem = f"{role}-{dept}"
            p12 = write_private(d / f"{stem}.p12", b.pkcs12)
            pw = write_private(d / f"{stem}.p12.password", b.password.encode())
            pem = write_private(d / f"{stem}.pem", b.chain_pem)
            key = write_private(d / f"{stem}.key", b.key_pem)
            signin.append(
                {
                    "role": role,
                    "department": dept,
                    "id": pid,
                    "name": name,
                    "pkcs12": str(p12),
                    "pkcs12_password_file": str(pw),
                    "cert_pem": str(pem),
                    "key_pem": str(key),
                }
            )
    return {"changed": applied["changed"], "people": report.as_dict().get("created"), "signin": signin}


def _contractors(rt: Runtime) -> None:
    """The lab's contractors and the street each answers for (once; a re-run keeps them)."""
    from monitoring.workorders import contractors

    with rt.transaction() as s:
        for code, name, street in LAB_CONTRACTORS.values():
            if s.get(contractors.Contractor, code) is None:
                contractors.add_contractor(s, code, name, None, actor=ACTOR)
                contractors.assign_area(s, code, street, key_area=False, actor=ACTOR)


def cameras(lab: Lab) -> dict[str, Any]:
    from video.catalogue import io as catalogue_io
    from video.catalogue.registry import Placement, next_camera_id
    from video.onvif import service as device_service

    rt = _runtime(lab_settings(lab))
    onvif = lab.details("onvif")
    with rt.transaction() as s:
        report = device_service.onboard(
            s,
            [lab.endpoint("onvif")],
            user=onvif["user"],
            password=Path(onvif["password_file"]).read_text(),
            placement=Placement(department="gaj"),
            box=rt.box,
            settings=rt.video,
            actor=ACTOR,
        )
    if report["failed"]:
        raise RuntimeError(f"the lab's ONVIF camera was not onboarded: {report['results'][0].get('error')}")
    rows: list[dict[str, Any]] = []
    with rt.transaction() as s:
        for i, (path, url) in enumerate(sorted(lab.details("rtsp")["urls"].items()), 1):
            cam_id = next_camera_id(s, rt.video)
            row = dict.fromkeys(catalogue_io.CSV_COLUMNS, "")
            row |= {"id": cam_id, "name": f"实验室RTSP {path}", "department": "cgj", "stream_url": url}
            rows.append(row)
            imported = catalogue_io.import_cameras(s, [_parsed(row)], actor=ACTOR, source="lab")
            if imported.errors:
                raise RuntimeError(f"RTSP camera {i} not registered: {imported.errors[0]}")
    return {"onvif": report["onboarded"], "rtsp": len(rows)}


def _parsed(row: dict[str, Any]) -> Any:
    import csv
    import io

    from video.catalogue import io as catalogue_io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=catalogue_io.CSV_COLUMNS)
    w.writeheader()
    w.writerow(row)
    return next(iter(catalogue_io.read_csv(buf.getvalue())))


def kube_authentication(lab: Lab) -> Path | None:
    """The apiserver's trust in the lab's Keycloak (`--authentication-config`), once the realm
    is applied: the same identity.kubeauth configuration a real cloud gets. The auditors group
    comes from the cloud's declared departments (the one the tenants' RoleBindings name)."""
    from identity.kubeauth import authentication_config_for, write_authentication_config
    from infra.model import load_cloud

    if not lab.details("realm"):
        return None
    s = lab_settings(lab)
    declared = s.data_dir / "cloud" / "departments.yaml"  # the provisioning service's copy
    cloud = load_cloud(
        declared if declared.is_file() else Path(__file__).resolve().parents[2] / "infra" / "departments.yaml"
    )
    config = authentication_config_for(
        keycloak_url=s.keycloak_url,
        realm=s.keycloak_realm,
        ca_file=s.keycloak_ca_file,
        auditors_group=cloud.auditors_group,
    )
    return write_authentication_config(lab.root / "kube-authentication.yaml", config)


STEPS = {"pki": pki, "realm": realm, "cameras": cameras}
