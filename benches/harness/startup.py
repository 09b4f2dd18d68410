#!/usr/bin/env python3
"""Time from `zhijian serve` to the first index-backed answer, with the snapshot's index file
and without it (the server then builds the index), and a replica's resident memory.

    python benches/harness/startup.py --zhijian target/release/zhijian --warehouse W

W must hold a snapshot with spot checks and its index file (`zhijian index --warehouse W`);
for the run without it the `index/` directory is renamed aside and put back afterwards.
`--cold` drops the page cache before each start (needs root): the file is then read from
disk too. Prints one JSON object.
"""
import argparse
import json
import os
import pathlib
import socket
import subprocess
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=120) as r:
        return r.status, dict(r.headers), r.read()


def drop_caches():
    subprocess.run(["sync"], check=True)
    pathlib.Path("/proc/sys/vm/drop_caches").write_text("3\n")


def status_kib(pid, field):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def one(binary, warehouse, cold):
    if cold:
        drop_caches()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, ZHIJIAN_LOG="warn")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [binary, "serve", "--warehouse", str(warehouse), "--addr", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        listening = None
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"zhijian serve exited with {proc.returncode}")
            try:
                _, _, body = get(base + "/readyz")
            except OSError:
                time.sleep(0.02)
                continue
            if listening is None:
                listening = time.perf_counter() - t0
            ready = json.loads(body)
            if ready.get("index", {}).get("state") == "ready":
                break
            time.sleep(0.02)
        # The first answer the index gives: a search (never answered by SQL once it is ready).
        _, _, body = get(base + "/api/v1/search?q=%E7%94%B5%E7%83%AD&_limit=10")
        first = time.perf_counter() - t0
        found = json.loads(body).get("count")
        return {
            "listening_s": round(listening, 3),
            "first_index_answer_s": round(first, 3),
            "index": ready["index"],
            "search_count": found,
            "rss_mib": status_kib(proc.pid, "VmRSS") // 1024,
            "peak_rss_mib": status_kib(proc.pid, "VmHWM") // 1024,
        }
    finally:
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zhijian", required=True)
    ap.add_argument("--warehouse", required=True, type=pathlib.Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cold", action="store_true")
    a = ap.parse_args()
    index = a.warehouse / "index"
    hidden = a.warehouse / "index.hidden-by-startup-bench"
    if not index.is_dir():
        raise SystemExit(f"{index}: no index file; run `zhijian index --warehouse {a.warehouse}`")
    out = {"warehouse": str(a.warehouse), "cold": a.cold, "file": [], "built": []}
    for _ in range(a.repeat):
        out["file"].append(one(a.zhijian, a.warehouse, a.cold))
    index.rename(hidden)
    try:
        for _ in range(a.repeat):
            out["built"].append(one(a.zhijian, a.warehouse, a.cold))
    finally:
        hidden.rename(index)
    for mode in ("file", "built"):
        runs = sorted(r["first_index_answer_s"] for r in out[mode])
        out[mode + "_median_s"] = runs[len(runs) // 2]
    out["ratio_file_to_built"] = round(out["file_median_s"] / out["built_median_s"], 3)
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
