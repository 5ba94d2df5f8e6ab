"""Start a virtual ONVIF camera (PyPI `ipycam`) on free loopback ports.

    cam = start_onvif_camera(tmp_path / "cam")
    cam.host, cam.port                 # ONVIF device service: http://127.0.0.1:<port>/onvif/device_service
    cam.user, cam.password             # WS-Security UsernameToken (and HTTP Basic for its web UI)
    cam.rtsp_url                       # rtsp://127.0.0.1:<rtsp_port>/video_main (native fallback)
    cam.discovery_target               # "127.0.0.1:<udp port>": this camera's own WS-Discovery port
    cam.stop()                         # by its own PID

How ipycam is run headless: `python -m tools.lab.onvif serve --config CFG --source SRC` in a child
process (the venv's python). That calls ipycam's own CLI (`ipycam.__main__.main`) after pinning
its listeners to local_ip: upstream binds the HTTP/ONVIF server and its native RTSP server on all
interfaces ('' / 0.0.0.0); we rebind them on 127.0.0.1. The config file sets local_ip=127.0.0.1 and
every port (onvif/HTTP, RTSP, RTMP, web, go2rtc API) explicitly on a free port, and
username/password so ONVIF requests need a WS-Security UsernameToken.

Upstream facts worth knowing:
- No go2rtc here: ipycam probes the go2rtc API port, finds nothing, and falls back to its native
  RTSP server (needs `ffmpeg` on PATH; one ffmpeg encoder per PLAYing client). OpenCV/FFmpeg read
  that stream fine (use TCP transport).
- The RTSP stream itself is not password-protected; ONVIF (WS-Security) and the web UI
  (HTTP Basic) are.
- WS-Discovery binds UDP 3702 on all interfaces (SO_REUSEADDR, multicast 239.255.255.250),
  shared between instances. Linux hands a multicast datagram to every such socket but a unicast
  one to only one of them, so a unicast probe of 127.0.0.1:3702 is answered by one simulator
  however many run. The port is a class attribute, not configuration, and the bind address is
  fixed; there is no option for either.

WS-Discovery in the lab, therefore: each camera keeps upstream's shared listener on 3702 (for
multicast probes, as on a real segment) and gets a second, unicast listener of its own on
127.0.0.1:<discovery_port> (a free UDP port unless given; the config file's `discovery_port`,
which ipycam's loader ignores). The second listener is upstream's own `WSDiscoveryServer` loop
(same Probe parsing, same ProbeMatch) running on a socket we bind, installed by subclassing at
start-up like the TCP rebinding, so no third-party file is patched. The socket is bound without
SO_REUSEADDR before ipycam starts, so a port already in use fails the start at once. Several
cameras on one host then look like several hosts behind port forwarding, and one unicast probe of
`127.0.0.1:<p1>,127.0.0.1:<p2>,...` (or a port range) finds every one. A network namespace per
camera would also do, but needs root, veth pairs and a UDP relay that hides the prober's address.
- PTZ GetStatus is broken upstream; Device/Media calls (device information, profiles, stream
  and snapshot URIs) work with onvif-zeep-async 4.3.0.
- The source is a video file (looped by ipycam's CLI) or an rtsp:// URL; by default we generate a
  moving test clip with ffmpeg.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from tools.components import ComponentMissing
from tools.lab.process import ManagedProcess, StartupFailed, free_port
from tools.lab.rtsp import make_test_clip

REPO_ROOT = Path(__file__).resolve().parents[2]
CAMERA_USER = "admin"
UNICAST_READY = "WS-Discovery unicast listener on"


@dataclass
class OnvifCameraHandle:
    host: str
    port: int  # ONVIF + web UI + snapshot (ipycam's "onvif_port")
    user: str
    password: str
    rtsp_port: int
    discovery_port: int  # UDP, this camera's own WS-Discovery listener on `host`
    rtsp_url: str | None  # main stream, rtsp://127.0.0.1:<rtsp_port>/video_main
    sub_rtsp_url: str | None
    snapshot_url: str
    process: ManagedProcess
    config_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def discovery_target(self) -> str:
        """The unicast WS-Discovery target that reaches this camera and no other."""
        return f"{self.host}:{self.discovery_port}"

    @property
    def device_service_url(self) -> str:
        return f"http://{self.host}:{self.port}/onvif/device_service"

    def stop(self) -> None:
        self.process.stop()


def start_onvif_camera(
    workdir: Path,
    *,
    source: str | Path | None = None,
    password: str | None = None,
    user: str = CAMERA_USER,
    name: str = "Lab Camera",
    serial: str | None = None,
    width: int = 640,
    height: int = 360,
    fps: int = 10,
    discovery_port: int | None = None,
    timeout: float = 60,
) -> OnvifCameraHandle:
    """Start ipycam with every port explicit on 127.0.0.1 and WS-Security credentials set.

    `discovery_port`: the UDP port of the camera's own unicast WS-Discovery listener (a free one
    by default)."""
    if shutil.which("ffmpeg") is None:
        raise ComponentMissing("debian", "ffmpeg not found (ipycam's native RTSP server needs it)")
    try:
        import ipycam  # noqa: F401
    except ImportError as exc:
        raise ComponentMissing("ipycam", f"python package not importable ({exc}); `uv sync` installs it") from exc
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    if source is None:
        source = make_test_clip(workdir / "source.mp4", width, height, fps)
    source = str(source)
    if not source.startswith(("rtsp://", "http://", "https://")) and not Path(source).is_file():
        raise FileNotFoundError(f"camera source {source} does not exist")

    host = "127.0.0.1"
    port_keys = ("onvif_port", "rtsp_port", "rtmp_port", "web_port", "go2rtc_api_port")
    ports = {k: free_port() for k in port_keys}
    discovery_port = discovery_port or free_udp_port()
    password = password or secrets.token_urlsafe(12)
    config = {
        "name": name,
        "serial_number": serial or f"LAB-{ports['onvif_port']}",
        "local_ip": host,
        **ports,
        "discovery_port": discovery_port,  # read by _serve, ignored by ipycam's loader
        "username": user,
        "password": password,
        "main_width": width,
        "main_height": height,
        "main_fps": fps,
        "main_bitrate": "1M",
        "sub_width": max(2, width // 2 // 2 * 2),
        "sub_height": max(2, height // 2 // 2 * 2),
        "sub_fps": fps,
        "sub_bitrate": "256K",
        "hw_accel": "cpu",
        "show_timestamp": True,  # keeps consecutive frames different even on a still source
        "recording_enabled": False,
        "recording_path": str(workdir / "recordings"),
    }
    config_path = workdir / "camera_config.json"
    config_path.write_text(json.dumps(config, indent=2))
    config_path.chmod(0o600)

    proc = ManagedProcess(
        "ipycam",
        [
            sys.executable,
            "-m",
            "tools.lab.onvif",
            "serve",
            "--config",
            str(config_path),
            "--source",
            source,
            "--log-level",
            "INFO",
        ],
        workdir / "ipycam.log",
        env={"PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"},
        cwd=workdir,
    )
    proc.wait_port(ports["onvif_port"], timeout=timeout)
    proc.wait_port(ports["rtsp_port"], timeout=timeout)
    proc.wait_until(
        lambda: "IP Camera is running" in proc.log_path.read_text(errors="replace"), timeout, "'IP Camera is running'"
    )
    log = proc.log_path.read_text(errors="replace")
    if f"{UNICAST_READY} {host}:{discovery_port}" not in log:
        proc.stop()
        raise StartupFailed(
            f"ipycam started without its unicast WS-Discovery listener on "
            f"{host}:{discovery_port}; log {proc.log_path}:\n{proc.log_tail()}"
        )
    native_rtsp = "Native RTSP server started" in log
    return OnvifCameraHandle(
        host=host,
        port=ports["onvif_port"],
        user=user,
        password=password,
        rtsp_port=ports["rtsp_port"],
        discovery_port=discovery_port,
        rtsp_url=f"rtsp://{host}:{ports['rtsp_port']}/video_main" if native_rtsp else None,
        sub_rtsp_url=f"rtsp://{host}:{ports['rtsp_port']}/video_sub" if native_rtsp else None,
        snapshot_url=f"http://{host}:{ports['onvif_port']}/snapshot.jpg",
        process=proc,
        config_path=config_path,
    )


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(argv: list[str]) -> int:
    """Child-process entry: ipycam's CLI with its TCP listeners bound to the configured local_ip
    and a unicast WS-Discovery listener of its own on local_ip:discovery_port."""
    import functools
    import threading

    import ipycam.camera as camera_mod
    from ipycam import __main__ as ipycam_cli
    from ipycam.discovery import WSDiscoveryServer

    config_path = argv[argv.index("--config") + 1]
    config = json.loads(Path(config_path).read_text())
    bind_ip = config.get("local_ip") or "127.0.0.1"

    base_server = camera_mod.ReusableThreadingTCPServer

    class LoopbackServer(base_server):  # type: ignore[misc, valid-type]
        def __init__(self, address, handler, *args, **kwargs):
            super().__init__((bind_ip, address[1]), handler, *args, **kwargs)

    camera_mod.ReusableThreadingTCPServer = LoopbackServer
    camera_mod.NativeRTSPServer = functools.partial(camera_mod.NativeRTSPServer, host=bind_ip)

    discovery_port = config.get("discovery_port")
    if discovery_port:
        # Bound here, before ipycam starts, and without SO_REUSEADDR: a port in use fails now.
        unicast_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        try:
            unicast_sock.bind((bind_ip, int(discovery_port)))
        except OSError as exc:
            print(f"cannot bind the WS-Discovery unicast port {bind_ip}:{discovery_port}: {exc}", flush=True)
            return 3
        unicast_sock.settimeout(1.0)  # upstream's run loop polls `running` on timeouts

        class UnicastDiscovery(WSDiscoveryServer):  # type: ignore[misc, valid-type]
            """Upstream's Probe loop (`run`) on our socket; Hello/Bye stay with the multicast one."""

            def __init__(self, onvif_service):  # upstream's __init__ binds 3702; not this one
                threading.Thread.__init__(self, daemon=True)
                self.onvif = onvif_service
                self.running = True
                self.sock = unicast_sock

            def _send_announcement(self, action: str) -> None:
                return None

        class LabDiscovery(WSDiscoveryServer):  # type: ignore[misc, valid-type]
            def __init__(self, onvif_service):
                super().__init__(onvif_service)
                self.unicast = UnicastDiscovery(onvif_service)

            def start(self) -> None:
                super().start()
                self.unicast.start()
                print(f"{UNICAST_READY} {bind_ip}:{discovery_port}", flush=True)

            def stop(self) -> None:
                self.unicast.stop()
                super().stop()

        camera_mod.WSDiscoveryServer = LabDiscovery
    sys.argv = ["ipycam", *argv]
    return int(ipycam_cli.main() or 0)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        sys.exit(_serve(sys.argv[2:]))
    print("usage: python -m tools.lab.onvif serve --config CONFIG --source SOURCE [ipycam options]")
    sys.exit(2)
