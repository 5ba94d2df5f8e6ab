"""Start the lab RTSP server (GStreamer gst-rtsp-server, tools/lab/rtsp_server.py) on a free port.

    handle = start_rtsp_server(tmp_path / "rtsp", {"live": "testsrc", "lobby": Path("clip.mp4")})
    handle.urls["live"]    # rtsp://127.0.0.1:<port>/live   (moving test pattern)
    handle.urls["lobby"]   # rtsp://127.0.0.1:<port>/lobby  (clip.mp4, looped forever)
    handle.stop()          # by its own PID

A mount source is a video file path (looped forever) or "testsrc[:PATTERN]" (a live videotestsrc;
PATTERN is any videotestsrc pattern name: ball (default, moving), smpte, snow, black, white ...).
All mounts are H.264 at one size/frame rate. The server runs under the system python
(/usr/bin/python3 + python3-gi), because PyGObject is not in the project venv.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tools.components import ComponentMissing, system_binary
from tools.lab.process import ManagedProcess, StartupFailed, free_port

SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"


@dataclass
class RtspHandle:
    host: str
    port: int
    urls: dict[str, str]  # mount name -> rtsp:// URL
    process: ManagedProcess

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, mount: str) -> str:
        return self.urls[mount]

    def stop(self) -> None:
        self.process.stop()


def check_gstreamer() -> Path:
    """Fail with the bootstrap hint unless the system python can import gst-rtsp-server."""
    python = system_binary("rtsp-server", SYSTEM_PYTHON)
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import gi; gi.require_version('Gst','1.0'); gi.require_version('GstRtspServer','1.0');"
            "from gi.repository import Gst, GstRtspServer; Gst.init(None);"
            "missing=[e for e in ('x264enc','rtph264pay','videotestsrc','intervideosrc','decodebin')"
            " if Gst.ElementFactory.find(e) is None]; print(' '.join(missing))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if probe.returncode != 0:
        why = (probe.stderr.strip().splitlines() or ["?"])[-1]
        raise ComponentMissing(
            "debian", f"python3-gi with gir1.2-gst-rtsp-server-1.0 is not importable by {python}: {why}"
        )
    if probe.stdout.strip():
        raise ComponentMissing("debian", f"GStreamer elements missing: {probe.stdout.strip()}")
    return python


def make_test_clip(path: Path, width: int = 640, height: int = 360, fps: int = 10, seconds: int = 4) -> Path:
    """A short moving test clip (ffmpeg lavfi testsrc2, H.264) for a mount or a camera."""
    ffmpeg = system_binary("debian", "ffmpeg")
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            str(ffmpeg),
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={width}x{height}:rate={fps}",
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
        timeout=120,
    )
    return path


def start_rtsp_server(
    workdir: Path,
    mounts: dict[str, str | Path],
    *,
    width: int = 640,
    height: int = 360,
    fps: int = 15,
    timeout: float = 30,
) -> RtspHandle:
    """Serve each mount on rtsp://127.0.0.1:<free port>/<name>; return once the port accepts."""
    if not mounts:
        raise ValueError("at least one mount is needed")
    python = check_gstreamer()
    specs = []
    for name, source in mounts.items():
        src = str(source)
        if not (src == "testsrc" or src.startswith("testsrc:")):
            copy = src.startswith("copy:")
            path = Path(src.removeprefix("copy:")).resolve()
            if not path.is_file():
                raise FileNotFoundError(f"RTSP mount {name}: no such video file {path}")
            src = f"copy:{path}" if copy else str(path)
        specs.append(f"{name}={src}")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    host = "127.0.0.1"
    proc = ManagedProcess(
        "rtsp-server",
        [
            python,
            "-u",
            SERVER_SCRIPT,
            "--host",
            host,
            "--port",
            str(port),
            "--width",
            str(width),
            "--height",
            str(height),
            "--fps",
            str(fps),
            *specs,
        ],
        workdir / "rtsp-server.log",
        env={"GST_DEBUG": "1", "PYTHONPATH": "", "PYTHONHOME": ""},
    )
    proc.wait_port(port, timeout=timeout)
    proc.wait_until(lambda: "READY" in proc.log_path.read_text(errors="replace"), 10, "READY line")
    if not proc.alive():
        raise StartupFailed(f"rtsp-server exited; log {proc.log_path}:\n{proc.log_tail()}")
    urls = {name: f"rtsp://{host}:{port}/{name.strip('/')}" for name in mounts}
    return RtspHandle(host=host, port=port, urls=urls, process=proc)
