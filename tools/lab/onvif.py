"""Start a virtual ONVIF camera (PyPI `ipycam`) on free loopback ports.

    cam = start_onvif_camera(tmp_path / "cam")
    cam.host, cam.port                 # ONVIF device service: http://127.0.0.1:<port>/onvif/device_service
    cam.user, cam.password             # WS-Security UsernameToken (and HTTP Basic for its web UI)
    cam.rtsp_url                       # rtsp://127.0.0.1:<rtsp_port>/video_main (native fallback)
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
- WS-Discovery always binds UDP 3702 (SO_REUSEADDR, multicast 239.255.255.250), shared between
  instances; it cannot be moved to another port.
- PTZ GetStatus is broken upstream; Device/Media calls (device information, profiles, stream
  and snapshot URIs) work with onvif-zeep-async 4.3.0.
- The source is a video file (looped by ipycam's CLI) or an rtsp:// URL; by default we generate a
  moving test clip with ffmpeg.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from tools.components import ComponentMissing
from tools.lab.process import ManagedProcess, free_port
from tools.lab.rtsp import make_test_clip

REPO_ROOT = Path(__file__).resolve().parents[2]
CAMERA_USER = "admin"


@dataclass
class OnvifCameraHandle:
    host: str
    port: int  # ONVIF + web UI + snapshot (ipycam's "onvif_port")
    user: str
    password: str
    rtsp_port: int
    rtsp_url: str | None  # main stream, rtsp://127.0.0.1:<rtsp_port>/video_main
    sub_rtsp_url: str | None
    snapshot_url: str
    process: ManagedProcess
    config_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

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
    timeout: float = 60,
) -> OnvifCameraHandle:
    """Start ipycam with every port explicit on 127.0.0.1 and WS-Security credentials set."""
    if shutil.which("ffmpeg") is None:
        raise ComponentMissing("debian", "ffmpeg not found (ipycam's native RTSP server needs it)")
    try:
        import ipycam  # noqa: F401
    except ImportError as exc:
        raise ComponentMissing(
            "ipycam", f"python package not importable ({exc}); `uv sync` installs it") from exc
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
    password = password or secrets.token_urlsafe(12)
    config = {
        "name": name,
        "serial_number": serial or f"LAB-{ports['onvif_port']}",
        "local_ip": host,
        **ports,
        "username": user,
        "password": password,
        "main_width": width, "main_height": height, "main_fps": fps, "main_bitrate": "1M",
        "sub_width": max(2, width // 2 // 2 * 2), "sub_height": max(2, height // 2 // 2 * 2),
        "sub_fps": fps, "sub_bitrate": "256K",
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
        [sys.executable, "-m", "tools.lab.onvif", "serve", "--config", str(config_path),
         "--source", source, "--log-level", "INFO"],
        workdir / "ipycam.log",
        env={"PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"},
        cwd=workdir,
    )
    proc.wait_port(ports["onvif_port"], timeout=timeout)
    proc.wait_port(ports["rtsp_port"], timeout=timeout)
    proc.wait_until(lambda: "IP Camera is running" in proc.log_path.read_text(errors="replace"),
                    timeout, "'IP Camera is running'")
    log = proc.log_path.read_text(errors="replace")
    native_rtsp = "Native RTSP server started" in log
    return OnvifCameraHandle(
        host=host, port=ports["onvif_port"], user=user, password=password,
        rtsp_port=ports["rtsp_port"],
        rtsp_url=f"rtsp://{host}:{ports['rtsp_port']}/video_main" if native_rtsp else None,
        sub_rtsp_url=f"rtsp://{host}:{ports['rtsp_port']}/video_sub" if native_rtsp else None,
        snapshot_url=f"http://{host}:{ports['onvif_port']}/snapshot.jpg",
        process=proc, config_path=config_path,
    )


def _serve(argv: list[str]) -> int:
    """Child-process entry: ipycam's CLI with its TCP listeners bound to the configured local_ip."""
    import functools

    import ipycam.camera as camera_mod
    from ipycam import __main__ as ipycam_cli

    config_path = argv[argv.index("--config") + 1]
    bind_ip = json.loads(Path(config_path).read_text()).get("local_ip") or "127.0.0.1"

    base_server = camera_mod.ReusableThreadingTCPServer

    class LoopbackServer(base_server):  # type: ignore[misc, valid-type]
        def __init__(self, address, handler, *args, **kwargs):
            super().__init__((bind_ip, address[1]), handler, *args, **kwargs)

    camera_mod.ReusableThreadingTCPServer = LoopbackServer
    camera_mod.NativeRTSPServer = functools.partial(camera_mod.NativeRTSPServer, host=bind_ip)
    sys.argv = ["ipycam", *argv]
    return int(ipycam_cli.main() or 0)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        sys.exit(_serve(sys.argv[2:]))
    print("usage: python -m tools.lab.onvif serve --config CONFIG --source SOURCE [ipycam options]")
    sys.exit(2)
