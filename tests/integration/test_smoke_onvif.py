"""Smoke: onvif-zeep-async talks WS-Security to the lab ipycam camera; OpenCV reads its stream."""

from __future__ import annotations

import os

import pytest
from onvif import ONVIFCamera
from zeep.exceptions import Fault

from tools.lab.onvif import OnvifCameraHandle

pytestmark = pytest.mark.integration

os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")

STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


async def test_device_information_and_stream_uri(onvif_camera: OnvifCameraHandle) -> None:
    cam = ONVIFCamera(onvif_camera.host, onvif_camera.port, onvif_camera.user, onvif_camera.password)
    try:
        await cam.update_xaddrs()
        devicemgmt = await cam.create_devicemgmt_service()
        info = await devicemgmt.GetDeviceInformation()
        assert info.Manufacturer and info.Model and info.SerialNumber
        media = await cam.create_media_service()
        profiles = await media.GetProfiles()
        assert len(profiles) >= 1
        uri = await media.GetStreamUri({"StreamSetup": STREAM_SETUP, "ProfileToken": profiles[0].token})
        assert uri.Uri.startswith(f"rtsp://{onvif_camera.host}:{onvif_camera.rtsp_port}/")
        assert uri.Uri == onvif_camera.rtsp_url
    finally:
        await cam.close()


async def test_wrong_password_is_rejected(onvif_camera: OnvifCameraHandle) -> None:
    cam = ONVIFCamera(onvif_camera.host, onvif_camera.port, onvif_camera.user, "wrong-password")
    try:
        with pytest.raises(Fault, match="not authorized"):
            await cam.update_xaddrs()
        devicemgmt = await cam.create_devicemgmt_service()
        with pytest.raises(Fault, match="not authorized"):
            await devicemgmt.GetDeviceInformation()
    finally:
        await cam.close()


def test_opencv_reads_camera_stream(onvif_camera: OnvifCameraHandle) -> None:
    import cv2

    assert onvif_camera.rtsp_url, "ipycam did not start its native RTSP server (ffmpeg missing?)"
    cap = cv2.VideoCapture(onvif_camera.rtsp_url, cv2.CAP_FFMPEG)
    try:
        assert cap.isOpened()
        frames = [cap.read() for _ in range(5)]
    finally:
        cap.release()
    assert all(ok for ok, _ in frames)
    assert all(f.shape == (360, 640, 3) for _, f in frames)
