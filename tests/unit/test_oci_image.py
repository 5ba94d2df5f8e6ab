"""The lab's image archive (tools/lab/oci_image.py): a valid OCI layout, reproducible, one shared
layer, the names `ctr images import` reads."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

from tools.lab.oci_image import build


def _archive(tmp_path: Path, name: str) -> tuple[Path, dict[str, str]]:
    binary = tmp_path / "pause"
    binary.write_bytes(b"\x7fELF not really")
    out = tmp_path / name
    images = {"govops.local/lab/pause:3.10": ["/pause"], "govops.local/lab/hello:1": ["/pause", "serve", ":18080"]}
    return out, build(binary, "/pause", images, out)


def test_archive_is_an_oci_layout_with_both_names(tmp_path: Path) -> None:
    out, digests = _archive(tmp_path, "a.tar")
    with tarfile.open(out) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    names = {m["annotations"]["io.containerd.image.name"]: m["digest"] for m in index["manifests"]}
    assert names == digests
    for digest in digests.values():
        manifest = json.loads(files["blobs/sha256/" + digest.removeprefix("sha256:")])
        config = json.loads(files["blobs/sha256/" + manifest["config"]["digest"].removeprefix("sha256:")])
        layer = files["blobs/sha256/" + manifest["layers"][0]["digest"].removeprefix("sha256:")]
        # every blob is stored under its own digest; the layer is uncompressed, so diff_id = digest
        assert "sha256:" + hashlib.sha256(layer).hexdigest() == config["rootfs"]["diff_ids"][0]
        assert (config["os"], config["architecture"]) == ("linux", "amd64")
    hello = json.loads(files["blobs/sha256/" + digests["govops.local/lab/hello:1"].removeprefix("sha256:")])
    hello_config = json.loads(files["blobs/sha256/" + hello["config"]["digest"].removeprefix("sha256:")])
    assert hello_config["config"]["Entrypoint"] == ["/pause", "serve", ":18080"]


def test_archive_is_reproducible(tmp_path: Path) -> None:
    first, a = _archive(tmp_path, "a.tar")
    second, b = _archive(tmp_path, "b.tar")
    assert a == b and first.read_bytes() == second.read_bytes()
