#!/usr/bin/python3
"""Lab RTSP server on GStreamer gst-rtsp-server. Run with the SYSTEM python (/usr/bin/python3,
which has python3-gi), not the project venv. Started by tools/lab/rtsp.py.

usage: rtsp_server.py --port N [--host 127.0.0.1] [--width 640 --height 360 --fps 15]
                      MOUNT=SOURCE...

SOURCE is either a video file, looped forever, or `testsrc[:PATTERN]`, a live videotestsrc
(PATTERN is a videotestsrc pattern name, default `ball`, which moves). Every mount is served as
H.264 (x264enc tune=zerolatency, a key frame every second) on rtsp://HOST:PORT/MOUNT.

`copy:FILE` (an MP4 with H.264) is served as it is, without decoding or re-encoding, from its
start for each client: the stream is exactly what the camera's own encoder made. A re-encoding
hop changes what a picture fault looks like (x264 refines a frozen picture frame by frame and
smooths sensor noise away), so faults defined by the camera's encoder output are served this way.

A file is decoded by a pipeline of our own that feeds an intervideosink and rewinds on EOS; the
mount reads it through intervideosrc, so the RTSP side is a live source whose timestamps never
jump back when the file restarts.
"""

import argparse
import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def encoder(fps: int) -> str:
    return (
        f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} bitrate=1000 "
        "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1"
    )


def file_looper(name: str, path: str, caps: str) -> Gst.Pipeline:
    """Decode `path` forever into intervideosink channel `name`."""
    pipe = Gst.parse_launch(
        f'filesrc location="{path}" ! decodebin ! videoconvert ! videoscale ! videorate '
        f"! {caps} ! intervideosink channel={name} sync=true"
    )

    def on_message(_bus: Gst.Bus, msg: Gst.Message) -> bool:
        if msg.type == Gst.MessageType.EOS:
            pipe.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0)
        elif msg.type == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            print(f"ERROR mount {name} ({path}): {err.message} {debug or ''}", flush=True)
            os._exit(1)  # a broken mount is fatal; the launcher sees the exit and the log

        return True

    bus = pipe.get_bus()
    bus.add_watch(GLib.PRIORITY_DEFAULT, on_message)
    if pipe.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        raise SystemExit(f"ERROR mount {name}: cannot play {path}")
    return pipe


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--fps", type=int, default=15)
    ap.add_argument("mounts", nargs="+", metavar="MOUNT=SOURCE")
    args = ap.parse_args()

    Gst.init(None)
    caps = f"video/x-raw,format=I420,width={args.width},height={args.height},framerate={args.fps}/1"
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    loopers = []  # keep the file pipelines referenced
    for spec in args.mounts:
        name, sep, source = spec.partition("=")
        name = name.strip("/")
        plain = name.replace("-", "").replace("_", "")
        if not sep or not source or not plain.isalnum():
            ap.error(f"bad mount {spec!r}: expected NAME=FILE or NAME=testsrc[:PATTERN]")
        shared = True
        if source.startswith("copy:"):
            launch = (
                f'filesrc location="{source[5:]}" ! qtdemux ! h264parse config-interval=-1 '
                "! rtph264pay name=pay0 pt=96 config-interval=1"
            )
            shared = False  # each client from the file's start
        elif source == "testsrc" or source.startswith("testsrc:"):
            pattern = source.partition(":")[2] or "ball"
            launch = f"videotestsrc is-live=true pattern={pattern} ! {caps} ! {encoder(args.fps)}"
        else:
            loopers.append(file_looper(name, source, caps))
            launch = f"intervideosrc channel={name} ! {caps} ! queue ! {encoder(args.fps)}"
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(f"( {launch} )")
        factory.set_shared(shared)
        mounts.add_factory(f"/{name}", factory)
        print(f"MOUNT rtsp://{args.host}:{args.port}/{name} <- {source}", flush=True)

    if server.attach(None) == 0:
        print(f"ERROR cannot listen on {args.host}:{args.port}", flush=True)
        return 1
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, loop.quit)
    print(f"READY rtsp://{args.host}:{args.port}/", flush=True)
    loop.run()
    for pipe in loopers:
        pipe.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
