#!/usr/bin/env bash
# The lab cluster's container images, as one OCI archive for `ctr images import`: no registry is
# reachable from the lab targets, so the sandbox (pause) image and the test pod's image are one
# static Go program of our own (tools/lab/images/pause), built with the local toolchain (no
# modules to fetch) and packed by tools/lab/oci_image.py. Takes a few seconds.
#   $GOVOPS_CACHE/lab-images-$LAB_IMAGES_REVISION/bin/pause        the program
#   $GOVOPS_CACHE/lab-images-$LAB_IMAGES_REVISION/lab-images.tar    the archive (both images)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/_golib.sh"
: "${LAB_IMAGES_REVISION:?set in tools/versions.env}" "${LAB_PAUSE_IMAGE:?}" "${LAB_POD_IMAGE:?}"
golib_start lab-images "$LAB_IMAGES_REVISION"

mkdir -p "$WORK/out/bin"
golib_step "go build pause"
(cd "$here/../lab/images/pause" && go build -trimpath -ldflags "-s -w" -o "$WORK/out/bin/pause" main.go)
golib_step "pack $LAB_PAUSE_IMAGE and $LAB_POD_IMAGE"
python3 "$here/../lab/oci_image.py" --binary "$WORK/out/bin/pause" --path /pause \
  --image "$LAB_PAUSE_IMAGE=/pause" --image "$LAB_POD_IMAGE=/pause,serve,:18080" \
  -o "$WORK/out/lab-images.tar"
golib_finish
