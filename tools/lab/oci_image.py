"""Write an OCI image archive (an image layout in a tar) holding one static binary, for
`ctr images import`. Standard library only: tools/components/lab-images.sh runs it with the
system python3, before the project's environment exists.

The archive is reproducible (fixed mtimes and owners), so the same binary always gives the same
image digests. Each `--image NAME=ENTRYPOINT` becomes one manifest; they share the one layer.

    python3 tools/lab/oci_image.py --binary pause --path /pause \
        --image govops.local/lab/pause:3.10=/pause -o lab-images.tar
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import tarfile
from pathlib import Path

LAYER = "application/vnd.oci.image.layer.v1.tar"
CONFIG = "application/vnd.oci.image.config.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
PLATFORM = {"architecture": "amd64", "os": "linux"}


def _member(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime, info.uid, info.gid = len(data), mode, 0, 0, 0
    tar.addfile(info, io.BytesIO(data))


def _layer(binary: bytes, path: str) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _member(tar, path.lstrip("/"), binary, 0o755)
    return out.getvalue()


def build(binary: Path, path: str, images: dict[str, list[str]], out: Path) -> dict[str, str]:
    """Write the archive; return image name -> manifest digest."""
    blobs: dict[str, bytes] = {}

    def blob(data: bytes) -> dict[str, object]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"digest": digest, "size": len(data)}

    layer = _layer(binary.read_bytes(), path)
    layer_desc = {"mediaType": LAYER, **blob(layer)}
    manifests, digests = [], {}
    for name, entrypoint in images.items():
        config = {
            **PLATFORM,
            "created": "1970-01-01T00:00:00Z",
            # the upstream pause image's user: nobody's uid, no home, nothing to write
            "config": {"Entrypoint": entrypoint, "User": "65535:65535", "WorkingDir": "/"},
            "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]},
            "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "govops tools/lab/oci_image.py"}],
        }
        config_desc = {"mediaType": CONFIG, **blob(json.dumps(config, sort_keys=True).encode())}
        manifest = {"schemaVersion": 2, "mediaType": MANIFEST, "config": config_desc, "layers": [layer_desc]}
        manifest_desc = blob(json.dumps(manifest, sort_keys=True).encode())
        digests[name] = str(manifest_desc["digest"])
        tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else "latest"
        manifests.append(
            {
                "mediaType": MANIFEST,
                **manifest_desc,
                "platform": PLATFORM,
                # ctr import names the image from this annotation
                "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag},
            }
        )
    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests}
    with tarfile.open(out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _member(tar, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        _member(tar, "index.json", json.dumps(index, sort_keys=True).encode())
        for digest, data in sorted(blobs.items()):
            _member(tar, "blobs/sha256/" + digest.removeprefix("sha256:"), data)
    return digests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", type=Path, required=True, help="the static binary to ship")
    parser.add_argument("--path", default="/pause", help="where it lands in the image")
    parser.add_argument("--image", action="append", required=True, help="NAME=ENTRYPOINT[,ARG...]")
    parser.add_argument("-o", "--out", type=Path, required=True)
    args = parser.parse_args()
    images = {}
    for spec in args.image:
        name, _, entry = spec.partition("=")
        images[name] = entry.split(",") if entry else [args.path]
    for name, digest in build(args.binary, args.path, images, args.out).items():
        print(f"{name} {digest}")


if __name__ == "__main__":
    main()
