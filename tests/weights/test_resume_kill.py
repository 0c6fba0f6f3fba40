"""``deepresearch models pull REPO:FILE`` survives ``kill -9``: 11 SIGKILLs at random points of a
200 MB download, each restart resumes from the bytes on disk, and the file ends up verified."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from deepresearch_local.weights.download import DownloadOptions
from deepresearch_local.weights.registry import Registry
from tests.support.waiting import wait_until
from tests.weights.fakehub import FakeHub, make_bytes

REPO = Path(__file__).resolve().parents[2]
SIZE = 200 * 1024 * 1024
KILLS = 11
RATE = 24 * 1024 * 1024  # bytes/s, so each kill lands mid-transfer
CHUNK = DownloadOptions().chunk_bytes


def _pull(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "deepresearch_local", "models", "pull", "acme/Big-GGUF:big-Q4_K_M.gguf"],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_pull_survives_kill_9_and_resumes(isolated_home: Path) -> None:
    seed = int(os.environ.get("DRL_KILL_SEED", "20260305"))  # fixed: a failure replays; vary it to explore
    rng = random.Random(seed)
    segment = SIZE // (KILLS + 1)
    # One random point per segment, each more than a chunk past the previous one (every run progresses).
    targets = [i * segment + rng.randint(CHUNK + (1 << 20), segment - (1 << 20)) for i in range(KILLS)]
    data = make_bytes(SIZE, seed=7)
    want = hashlib.sha256(data).hexdigest()
    part = isolated_home / "models" / "acme--Big-GGUF" / "big-Q4_K_M.gguf.part"

    def written() -> int:
        """What the client has written so far (not what the server sent: a busy client lags that by
        several MiB of socket buffers)."""
        try:
            return part.stat().st_size
        except FileNotFoundError:
            return 0

    hub = FakeHub(rate=RATE)
    hub.add("acme/Big-GGUF", "big-Q4_K_M.gguf", data)
    env = {**os.environ, "HF_ENDPOINT": "", "PYTHONUNBUFFERED": "1"}
    env.pop("HF_TOKEN", None)
    with hub:
        env["HF_ENDPOINT"] = hub.url
        logs: list[str] = []
        began = time.monotonic()
        for point in targets:
            proc = _pull(env)
            wait_until(lambda: written() >= point or proc.poll() is not None, f"seed {seed}: byte {point}")  # noqa: B023
            assert proc.poll() is None, f"seed {seed}: the pull ended before byte {point}"
            os.kill(proc.pid, signal.SIGKILL)
            _, err = proc.communicate(timeout=30)
            assert proc.returncode == -signal.SIGKILL
            logs.append(err)
        final = _pull(env)
        out, err = final.communicate(timeout=120)
        elapsed = time.monotonic() - began
        assert final.returncode == 0, err
        logs.append(err)

    gets = hub.body_gets("big-Q4_K_M.gguf")
    starts = [int((g.range or "bytes=0-").removeprefix("bytes=").split("-")[0]) for g in gets]
    assert len(starts) == KILLS + 1, (seed, starts)
    assert starts[0] == 0
    for k in range(1, KILLS + 1):
        # Each restart resumed from what the killed run had written: not from zero, not past what it got,
        # and losing less than a chunk plus what was in flight when the kill landed.
        assert starts[k - 1] < starts[k] <= starts[k - 1] + gets[k - 1].sent, (seed, k, starts)
        assert starts[k] >= targets[k - 1] - CHUNK - (1 << 20), (seed, k, starts, targets)
        assert "Resuming big-Q4_K_M.gguf at " in logs[k], (seed, k, logs[k])
    served = hub.sent["big-Q4_K_M.gguf"]
    assert SIZE <= served <= SIZE + KILLS * CHUNK, (seed, served)

    entry = Registry().get("big-q4_k_m")
    assert entry is not None and entry.sha256 == want
    path = Path(entry.path)
    assert path == isolated_home / "models" / "acme--Big-GGUF" / "big-Q4_K_M.gguf"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == want
    assert sorted(p.name for p in path.parent.iterdir()) == ["big-Q4_K_M.gguf"]  # no .part or sidecar left
    assert "sha256 verified" in logs[-1] and out.startswith(f"Ready: big-q4_k_m at {path}")
    print(f"seed {seed}: {KILLS} kills, {served - SIZE} bytes fetched twice, {elapsed:.1f} s")
