"""A huge CSV import is streamed: a broken file fails early and memory stays bounded.

Each case runs in a fresh subprocess: it migrates a database, writes a ~50 MB CSV, notes its
resident memory, imports the file the way `govops video import` does (an open file, read row
by row) and prints the growth of the peak (sampled from /proc). The bound asserted is generous
(a 200 MB file read whole took about 1.2 GB); the measured figures go in the report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MB = 1024 * 1024

PROBE = r"""
import json, os, sys, threading, time
from pathlib import Path
from gateway.runtime import Runtime
from govops.settings import load_settings
from govops.org import Department
from video.catalogue import io as cio

data, case, size_mb, whole = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4] == "whole"
rt = Runtime.build(load_settings(data_dir=data, environment="test"))
rt.migrate()
with rt.transaction() as s:
    s.add(Department(code="gaj", name="公安局", sso_group="/310116/gaj"))
csv_path = data / "big.csv"
with csv_path.open("w", encoding="utf-8", newline="") as f:
    f.write("id,name,department,area,group,lat,lon,key_place,status,networked,install_address\n")
    n, written = 0, 0
    while written < size_mb * 1024 * 1024:
        bad = case == "all-invalid" or (case == "one-bad-row" and n == 0)
        dept = "nobody" if bad else "gaj"
        place = f"上海市金山区石化街道卫零路{n}号附近的路灯杆上"
        line = f"3101160000132{n:07d},路口摄像机{n} 卫零路与龙胜路口,{dept},,,30.7,121.3,false,online,true,{place}\n"
        f.write(line)
        written += len(line.encode())
        n += 1
PAGE = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE
before, peak, done = rss(), [0], threading.Event()
def sample():
    while not done.wait(0.005):
        peak[0] = max(peak[0], rss())
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
t0 = time.perf_counter()
with rt.transaction() as s, csv_path.open(encoding="utf-8-sig", newline="") as f:
    source = f.read() if whole else f
    report = cio.import_cameras(s, cio.read_csv(source), actor="bench", dry_run=True)
    peak[0] = max(peak[0], rss())
done.set()
sampler.join()
print(json.dumps({
    "case": case, "whole": whole, "file_mb": round(csv_path.stat().st_size / 1048576, 1), "rows_in_file": n,
    "rows_read": report.rows, "errors": len(report.errors), "stopped_early": report.stopped_early,
    "seconds": round(time.perf_counter() - t0, 2), "peak_rss_growth_mb": round((peak[0] - before) / 1048576, 1),
}))
"""


def measure(tmp_path: Path, case: str, size_mb: int = 50, whole: bool = False) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / case), case, str(size_mb), "whole" if whole else "stream"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", ["all-invalid", "one-bad-row"])
def test_a_large_invalid_csv_is_streamed_with_bounded_memory(tmp_path, case):
    got = measure(tmp_path, case)
    print(json.dumps(got))
    assert got["file_mb"] >= 50 and got["errors"] >= 1
    assert got["peak_rss_growth_mb"] < 300, got
    if case == "all-invalid":  # fails early: stops at the error cap, long before the end
        assert got["stopped_early"] and got["rows_read"] < got["rows_in_file"] // 10
    else:  # one bad row: read to the end (to report every error) without keeping the rows
        assert got["rows_read"] == got["rows_in_file"] and got["errors"] == 1


def test_a_streamed_csv_that_is_not_utf8_is_one_clear_error(tmp_path):
    from govops.errors import ValidationFailed
    from video.catalogue import io as cio

    gbk = "id,name,department\n31011600001326000001,卫零路,gaj\n".encode("gbk")
    with pytest.raises(ValidationFailed, match="not UTF-8") as caught:
        list(cio.read_csv(gbk))
    assert "GBK" in (caught.value.hint or "")
    f = tmp_path / "gbk.csv"
    f.write_bytes(gbk)
    with f.open(encoding="utf-8-sig", newline="") as stream, pytest.raises(ValidationFailed, match="not UTF-8"):
        list(cio.read_csv(stream))
