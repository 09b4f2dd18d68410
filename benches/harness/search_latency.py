#!/usr/bin/env python3
"""Search latency and index memory, two builds of zhijian side by side on the same snapshot.

    benches/harness/search_latency.py --before OLD_BIN --after NEW_BIN [--scale 1000000]
        [--work DIR]   # keeps the corpus and warehouse between runs

1. `NEW_BIN synth` writes a corpus of about --scale spot-check rows and `NEW_BIN ingest`
   publishes it (skipped when --work already holds a snapshot).
2. Each build in turn serves it; once its search index is built, every query below runs
   --repeat times (after two warm-ups) over one keep-alive connection, and its p50 is kept.
   The server's peak RSS (VmHWM) and the index's own account of its memory (the bytes its
   build logs, `SearchIndex::memory`) are read too.
3. With --queries (tests/server/data/search_queries.tsv), each build answers the labelled
   queries: recall@10 per kind (a row of a labelled product among the first ten, and the
   labelled filters understood; a build that reads no filters misses those queries), over the
   queries whose label has rows in the snapshot (counted with the newer build's rows API).
4. The report: p50 per query and build, the p50 over the bench queries of
   benches/harness/api_vs_duckdb.py (the words the public typed before this harness), and the
   same over the questions and everyday words the newer search reads; ratios new/old.

Figures are ratios measured in the same run on the same machine.
"""
import argparse, http.client, json, os, pathlib, re, statistics, subprocess, sys, tempfile, time
import urllib.parse

# The bench queries of api_vs_duckdb.py (the model with a typo apart: it depends on the data).
BENCH = ["电热", "童装", "美乐", "meile", "dcf", "電熱水壺", "ＬＥＤ"]
# What people type that only the newer search reads.
PEOPLE = ["电水壶", "煤气灶", "电瓶车", "吹风机", "2023 广东 电热水壶 不合格",
          "浙江的电饭锅质量怎么样", "一次性塑料餐具", "电热水胡", "electric kettle", "充电宝 不合格"]


def serve(binary, warehouse, port, log):
    proc = subprocess.Popen([binary, "serve", "--warehouse", str(warehouse),
                             "--addr", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=open(log, "w"), env={**os.environ, "ZHIJIAN_LOG": "info"})
    conn = None
    for _ in range(600):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            conn.request("GET", "/api/v1/search?q=" + urllib.parse.quote("电热"))
            r = conn.getresponse()
            r.read()
            if r.status == 200:
                return proc, conn
        except OSError:
            time.sleep(0.5)
    proc.kill()
    sys.exit(f"{binary} did not answer a search")


def measure(binary, warehouse, port, repeat, log):
    proc, conn = serve(binary, warehouse, port, log)
    out = {"queries": {}}
    try:
        for q in BENCH + PEOPLE:
            path = "/api/v1/search?q=" + urllib.parse.quote(q)
            ts = []
            for i in range(repeat + 2):
                t0 = time.perf_counter()
                conn.request("GET", path)
                r = conn.getresponse()
                body = r.read()
                t = time.perf_counter() - t0
                if i >= 2:
                    ts.append(t)
            doc = json.loads(body) if r.status == 200 else {}
            out["queries"][q] = {"p50_ms": round(statistics.median(ts) * 1000, 2),
                                 "count": doc.get("count"), "status": r.status}
        # The index's own account of its memory, from the build's log line (text or JSON).
        built = [l for l in pathlib.Path(log).read_text(errors="replace").splitlines()
                 if "search index ready" in l]
        parts = re.findall(r'\(\\?"(\w+)\\?", (\d+)\)', built[-1]) if built else []
        out["index_bytes"] = sum(int(n) for _, n in parts) or None
        status = pathlib.Path(f"/proc/{proc.pid}/status").read_text()
        hwm = [l for l in status.splitlines() if l.startswith("VmHWM")]
        out["peak_rss_mib"] = int(hwm[0].split()[1]) // 1024 if hwm else None
    finally:
        proc.kill()
        proc.wait()
    return out


def labelled(path):
    out = []
    for line in pathlib.Path(path).read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        kind, q, products, filters = line.split("\t")[:4]
        out.append((kind, q, products.split("、"),
                    dict(f.split("=", 1) for f in filters.split(";") if f)))
    return out


def recall(binary, warehouse, port, queries, log):
    proc, conn = serve(binary, warehouse, port, log)
    kinds, skipped = {}, 0
    try:
        for kind, q, products, filters in queries:
            params = [("product__in", ",".join(products)), ("_limit", "1")] + list(filters.items())
            conn.request("GET", "/api/v1/resources/spot_checks/rows?" + urllib.parse.urlencode(params))
            r = conn.getresponse()
            doc = json.loads(r.read())
            if r.status != 200 or not doc.get("count"):
                skipped += 1
                continue
            conn.request("GET", "/api/v1/search?_limit=10&q=" + urllib.parse.quote(q))
            r = conn.getresponse()
            doc = json.loads(r.read()) if r.status == 200 else {}
            read = {k: str(v) for k, v in (doc.get("understood") or {}).items()
                    if k in ("result", "plan_year", "enterprise_province", "check_level")}
            hit = read == filters and any(row.get("product") in products
                                          for row in doc.get("rows", []))
            n, f = kinds.get(kind, (0, 0))
            kinds[kind] = (n + 1, f + int(hit))
    finally:
        proc.kill()
        proc.wait()
    total = sum(n for n, _ in kinds.values())
    found = sum(f for _, f in kinds.values())
    return {"by_kind": {k: round(f / n, 3) for k, (n, f) in sorted(kinds.items())},
            "all": round(found / total, 3) if total else None, "measured": total,
            "without_rows": skipped}


def p50_over(run, queries):
    return round(statistics.median(run["queries"][q]["p50_ms"] for q in queries), 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--scale", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--port", type=int, default=18_090)
    ap.add_argument("--work")
    ap.add_argument("--queries", help="labelled queries (tests/server/data/search_queries.tsv)")
    args = ap.parse_args()
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="zhijian-search-bench-"))
    raw, warehouse = work / "raw", work / "warehouse"
    if not (warehouse / "CURRENT").exists():
        if not raw.exists():
            subprocess.run([args.after, "synth", "--out", raw, "--scale", str(args.scale),
                            "--seed", str(args.seed)], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([args.after, "ingest", "--raw", raw, "--warehouse", warehouse],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    report = {"scale": args.scale, "repeat": args.repeat}
    for name in ("before", "after"):
        report[name] = measure(getattr(args, name), warehouse, args.port, args.repeat,
                               work / f"serve-{name}.log")
    if args.queries:
        queries = labelled(args.queries)
        for name in ("before", "after"):
            report[name]["recall_at_10"] = recall(getattr(args, name), warehouse, args.port,
                                                  queries, work / f"recall-{name}.log")
    b, a = report["before"], report["after"]
    report["bench_p50_ms"] = {"before": p50_over(b, BENCH), "after": p50_over(a, BENCH)}
    report["bench_p50_ratio"] = round(report["bench_p50_ms"]["after"]
                                      / report["bench_p50_ms"]["before"], 2)
    report["people_p50_ms_after"] = p50_over(a, PEOPLE)
    report["people_found_before"] = sum(1 for q in PEOPLE if b["queries"][q]["count"])
    report["people_found_after"] = sum(1 for q in PEOPLE if a["queries"][q]["count"])
    if b.get("index_bytes") and a.get("index_bytes"):
        report["index_bytes_ratio"] = round(a["index_bytes"] / b["index_bytes"], 3)
    json.dump(report, sys.stdout, ensure_ascii=False, indent=1)
    print()


if __name__ == "__main__":
    main()
