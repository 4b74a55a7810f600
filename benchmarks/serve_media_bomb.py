"""Bounded probe of issue 14 item 1: a small video of many static 720p frames.

Builds an MPEG-4 file of N identical 1280x720 frames at 2 fps (the default sampling then
keeps every frame), and measures in fresh subprocesses:

* peak RSS of ``Video.prepare`` (frames resized as they are decoded) against the baseline in
  the same run: decode every sampled frame at native size, then resize (what it did before);
* the server: time to refuse the request under default ``ServerConfig`` limits
  (``max_decoded_bytes``), and the latency of a text-only request sent meanwhile.

Loopback only (an in-process ASGI client), one bomb request.  Prints the load average.

    python benchmarks/serve_media_bomb.py [--frames 300]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

_RSS = """
import resource, sys
import numpy as np
from flexjudge.media import Video, VideoPrep
from flexjudge.media._video_sampling import frame_size, resize_frames
import torch, av  # their import alone is hundreds of MiB: not what is measured
path, how = sys.argv[1], sys.argv[2]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
prep = VideoPrep()
if how == "streamed":
    out = Video(path).prepare(prep).frames
else:  # the baseline: every sampled frame at native size, then one resize
    video = Video(path)
    info = video.info()
    nframes, indices = video._plan(info.total_frames, info.fps, prep)
    native, _, _ = video._decode(indices)
    out = resize_frames(native, frame_size(info.height, info.width, nframes, prep), prep.kernel)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(peak - before, out.shape[0], out.nbytes)
"""

_SERVER = """
import base64, json, sys, threading, time
from fastapi.testclient import TestClient
from flexjudge import Judge
from flexjudge.backends import MockBackend
from flexjudge.serve import ServerConfig, create_app
video = base64.b64encode(open(sys.argv[1], "rb").read()).decode()
client = TestClient(create_app(Judge(MockBackend()), ServerConfig(max_body_bytes=64 << 20)))
base = {"mode": "score", "question": "q", "responses": ["a"]}
out = {}
def bomb():
    t = time.perf_counter()
    r = client.post("/v1/judge", json={**base, "videos": [{"base64": video}]})
    took = round(time.perf_counter() - t, 3)
    out["bomb"] = (r.status_code, took, r.text[:160])
thread = threading.Thread(target=bomb)
thread.start()
time.sleep(2.0)  # the bomb is being decoded by now
t = time.perf_counter()
r = client.post("/v1/judge", json=base)
out["text"] = (r.status_code, round(time.perf_counter() - t, 3))
thread.join()
print(json.dumps(out))
"""


def _encode(path: Path, frames: int) -> None:
    import av
    import numpy as np

    frame = np.zeros((720, 1280, 3), np.uint8)
    frame[:, :640] = (200, 40, 40)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=2)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        for _ in range(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _run(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bomb.mp4"
        _encode(path, args.frames)
        print(f"video: {args.frames} frames 1280x720 at 2 fps, {path.stat().st_size:,} bytes")
        rows = {}
        for how in ("baseline", "streamed"):
            rss_kib, kept, nbytes = _run(_RSS, str(path), how).split()
            rows[how] = int(rss_kib) / 1024
            print(f"{how:9s}: peak RSS +{rows[how]:.0f} MiB, {kept} frames kept, {int(nbytes):,} B")
        print(
            f"ratio baseline/streamed peak RSS: {rows['baseline'] / max(rows['streamed'], 1):.1f}x"
        )
        print("server (default limits):", json.loads(_run(_SERVER, str(path))))


if __name__ == "__main__":
    main()
