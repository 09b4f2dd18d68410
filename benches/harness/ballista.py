#!/usr/bin/env python3
"""Analyst SQL on one process against Ballista with 1 and 2 executors on this machine.

    benches/harness/ballista.py --zhijian target/release/zhijian --warehouse W [--repeat 5]
        [--memory 1G] [--json OUT]

The binary must be built with the `cluster` feature. For each engine — `zhijian serve` alone,
then `zhijian serve --ballista` with a `zhijian scheduler` and 1, then 2, `zhijian executor`s
(each with --concurrency 1, so 2 executors use the machine's 2 cores as the server alone does)
— the named queries of `queries/` (NDJSON, whole result) and a set of analyst SQL over
`/api/v1/sql` run --repeat times after one warm-up; medians per request, and each cluster
figure as a multiple of the single process's, are printed and written as JSON. Every answer
is checked equal to the single process's (row order aside) before it is timed.

On one machine the cluster can only add cost (planning on the scheduler, tasks sent over
gRPC, shuffles written to disk and read back over Flight); the figures say how much, which is
what a deployment across machines pays before it gains cores and memory.
"""
import argparse, http.client, json, os, pathlib, shutil, signal, socket, statistics, subprocess
import sys, tempfile, time, urllib.parse

ANALYST = {
    "pass rate by year": "SELECT plan_year, count(*) AS batches, avg(CASE WHEN result = 'pass' "
                         "THEN 1.0 ELSE 0 END) AS pass_rate FROM spot_checks "
                         "WHERE publication_scope = 'full' GROUP BY plan_year ORDER BY plan_year",
    "top failing products": "SELECT product, count(*) AS fails FROM spot_checks WHERE result = 'fail' "
                            "GROUP BY product ORDER BY fails DESC, product LIMIT 20",
    "distinct producers by province": "SELECT enterprise_province, count(DISTINCT enterprise) AS producers "
                                      "FROM spot_checks GROUP BY 1 ORDER BY producers DESC, 1",
    "repeat offenders (join)": "SELECT a.enterprise, count(*) AS fails, max(b.batches) AS batches "
                               "FROM spot_checks a JOIN (SELECT enterprise, count(*) AS batches "
                               "FROM spot_checks GROUP BY enterprise) b ON a.enterprise = b.enterprise "
                               "WHERE a.result = 'fail' GROUP BY a.enterprise HAVING count(*) >= 3 "
                               "ORDER BY fails DESC, a.enterprise LIMIT 50",
    "filtered count": "SELECT count(*) FROM spot_checks WHERE plan_year >= 2020 AND result = 'fail'",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, seconds: float = 120) -> None:
    end = time.time() + seconds
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def get(port: int, path: str) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    if r.status != 200:
        raise RuntimeError(f"{path[:120]}: {r.status} {body[:300]!r}")
    return body


def ready(port: int) -> None:
    wait_port(port)
    end = time.time() + 300
    while time.time() < end:
        try:
            r = json.loads(get(port, "/readyz"))
            if r.get("index", {}).get("state") == "ready":
                return
        except (RuntimeError, OSError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError("server not ready")


def requests(port: int) -> dict:
    """name -> path of every timed request."""
    out = {}
    for q in json.loads(get(port, "/api/v1/queries"))["queries"]:
        given = {"company": "公司"} if any(p["name"] == "company" for p in q["params"]) else {}
        out["named: " + q["name"]] = f"/api/v1/queries/{q['name']}?" + urllib.parse.urlencode(
            {**given, "_format": "ndjson"})
    for name, sql in ANALYST.items():
        out["sql: " + name] = "/api/v1/sql?" + urllib.parse.urlencode({"sql": sql, "_format": "ndjson"})
    return out


def canonical(body: bytes) -> list:
    return sorted(body.decode().splitlines())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--zhijian", required=True)
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--memory", default="1G", help="memory of each executor")
    ap.add_argument("--json")
    args = ap.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="zhijian-ballista-bench-"))
    env = {**os.environ, "ZHIJIAN_LOG": "warn"}
    procs = []

    def start(*argv) -> subprocess.Popen:
        p = subprocess.Popen([args.zhijian, *argv], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        procs.append(p)
        return p

    def stop_all() -> None:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        procs.clear()

    report = {"warehouse": args.warehouse, "repeat": args.repeat, "engines": {}}
    reference = {}
    try:
        for engine, executors in [("local", 0), ("ballista-1", 1), ("ballista-2", 2)]:
            port = free_port()
            extra = []
            if executors:
                sched = free_port()
                start("scheduler", "--addr", f"127.0.0.1:{sched}")
                wait_port(sched)
                for i in range(executors):
                    start("executor", "--scheduler", f"127.0.0.1:{sched}",
                          "--addr", f"127.0.0.1:{free_port()}", "--grpc-port", str(free_port()),
                          "--concurrency", "1", "--memory", args.memory,
                          "--work-dir", str(work / f"{engine}-executor-{i}"))
                extra = ["--ballista", f"df://127.0.0.1:{sched}"]
            start("serve", "--warehouse", args.warehouse, "--addr", f"127.0.0.1:{port}", *extra)
            ready(port)
            timed = {}
            for name, path in requests(port).items():
                try:
                    body = get(port, path)  # warm-up, and the answer checked
                    if engine == "local":
                        reference[name] = canonical(body)
                    elif name in reference and canonical(body) != reference[name]:
                        raise RuntimeError(f"{engine}: {name}: answer differs from the single process")
                    times = []
                    for _ in range(args.repeat):
                        t0 = time.perf_counter(); get(port, path); times.append(time.perf_counter() - t0)
                    timed[name] = round(statistics.median(times) * 1000, 1)
                except (http.client.HTTPException, OSError) as e:
                    # A query cut at the server's deadline ends its stream early.
                    timed[name] = None
                    report.setdefault("cut", []).append({"engine": engine, "request": name,
                                                         "error": repr(e)[:200]})
            report["engines"][engine] = timed
            stop_all()
    finally:
        stop_all()
        shutil.rmtree(work, ignore_errors=True)
    local = report["engines"]["local"]
    print(f"{'request':45} {'local ms':>9} {'1 exec ms':>10} {'×':>6} {'2 exec ms':>10} {'×':>6}")
    cell = lambda v: f"{v:10.1f}" if v is not None else f"{'cut':>10}"
    ratio = lambda v, ms: f"{v / ms:6.2f}" if v is not None and ms is not None else f"{'-':>6}"
    for name, ms in local.items():
        one, two = report["engines"]["ballista-1"][name], report["engines"]["ballista-2"][name]
        print(f"{name:45} {cell(ms)[1:]} {cell(one)} {ratio(one, ms)} {cell(two)} {ratio(two, ms)}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
