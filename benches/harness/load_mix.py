#!/usr/bin/env python3
"""A mixed load at and past saturation: what a public service gets, and what it must survive.

    benches/harness/load_mix.py --zhijian BIN [--scale 5000000] [--seconds 300]
        [--memory-limit 3G] [--work DIR] [--check] [--json OUT]

1. `BIN synth` writes a corpus of about --scale spot-check rows and `BIN ingest` publishes it
   (skipped when --work already holds a snapshot).
2. `BIN serve --memory-limit` serves it; the driver waits for its search index.
3. Two phases of --seconds / 2 each: "at saturation" (as many clients per class as the class
   has slots) and "past saturation" (four times as many). Each client is a closed loop: it
   sends a request of its class (one new connection each, HTTP/1.1, reading the whole answer),
   waits for the answer, and sends the next. The mix:
   - light: search words, point lookups by record id, filtered pages and facets the index
     holds, producer pages, resource metadata, downloads (a Range of a Parquet file), the web
     pages;
   - heavy: facets of free-text columns with a text search (`enterprise_address`, `remarks`),
     statistics by a column the index does not hold, pages filtered by a date range;
   - export: filtered CSV and XLSX exports, a whole CSV download;
   - sql: public SQL (aggregates, a join, a sort).
4. Per phase and class: requests/s, p50/p99 latency, 503 sheds, other 5xx, 4xx; the server's
   peak RSS (VmHWM) over the whole run against the ceiling.

With --check it exits 1 when any answer is a 5xx other than 503, or when the peak RSS reaches
the ceiling: `scripts/test` runs a short version so (`--scale 60000 --seconds 40`).

Our own driver, not wrk: it runs four classes at once with their own client counts, reads
whole streamed answers, and keeps each answer's status apart; asyncio on one core drives
a few hundred requests/s, more than the heavy classes can take and enough to saturate the
light class's queue on a 2-core machine.
"""
import argparse, asyncio, json, os, pathlib, random, statistics, subprocess, sys, tempfile, time
import urllib.parse

WORDS = ["电热水壶", "童装", "美乐", "meile", "充电宝 不合格", "电水壶", "吹风机", "ＬＥＤ",
         "浙江的电饭锅质量怎么样", "2023 广东 电热水壶 不合格", "一次性塑料餐具"]
CLASSES = ["light", "heavy", "export", "sql"]
CUT_OFF = {"deadline_exceeded", "resources_exhausted"}


def q(text):
    return urllib.parse.quote(text)


class Mix:
    """The requests of each class, built from what the served snapshot holds."""

    def __init__(self, ids, enterprises, parquet_path, parquet_bytes, csv_path):
        self.ids, self.enterprises = ids, enterprises
        self.parquet, self.parquet_bytes, self.csv = parquet_path, parquet_bytes, csv_path

    def light(self, rnd):
        r = rnd.random()
        if r < 0.20:
            return "GET", f"/api/v1/search?q={q(rnd.choice(WORDS))}", None, {}
        if r < 0.35:
            return "GET", f"/api/v1/resources/A1-02/rows?record_id={rnd.choice(self.ids)}", None, {}
        if r < 0.50:
            year = rnd.randint(2015, 2024)
            return "GET", f"/api/v1/resources/A1-02/rows?result=fail&plan_year={year}&_limit=20", None, {}
        if r < 0.60:
            return "GET", "/api/v1/resources/A1-02/facets?_facet=product_category&_facet=result", None, {}
        if r < 0.70 and self.enterprises:
            return "GET", f"/api/v1/enterprises/{q(rnd.choice(self.enterprises))}", None, {}
        if r < 0.75:
            return "GET", "/api/v1/resources/A1-02", None, {}
        if r < 0.85:
            start = rnd.randint(0, max(0, self.parquet_bytes - 65536))
            return "GET", self.parquet, None, {"Range": f"bytes={start}-{start + 65535}"}
        page = rnd.choice(["/", f"/search?q={q(rnd.choice(WORDS))}", "/datasets/A1-02", "/stats"])
        return "GET", page, None, {}

    def heavy(self, rnd):
        r = rnd.random()
        word = q(rnd.choice(["有限", "公司", "路", "号", "市"]))
        if r < 0.35:
            column = rnd.choice(["enterprise_address", "remarks"])
            return "GET", f"/api/v1/resources/A1-02/facets?_facet={column}&_facet_size=1000&_q={word}", None, {}
        if r < 0.65:
            group = rnd.choice(["check_level", "sampling_channel"])
            return "GET", f"/api/v1/spot-checks/stats?group_by={group}&group_by=plan_year", None, {}
        year = rnd.randint(2015, 2024)
        return ("GET", f"/api/v1/resources/A1-02/rows?announced_on__gte={year}-01-01"
                f"&announced_on__lt={year}-07-01&_sort=enterprise_address&_limit=50", None, {})

    def export(self, rnd):
        r = rnd.random()
        year = rnd.randint(2015, 2024)
        if r < 0.45:
            return "GET", f"/api/v1/resources/A1-02/rows?plan_year={year}&_format=csv&_limit=200000", None, {}
        if r < 0.80:
            return "GET", f"/api/v1/resources/A1-02/rows?plan_year={year}&result=fail&_format=xlsx&_limit=50000", None, {}
        return "GET", self.csv, None, {}

    def sql(self, rnd):
        text = rnd.choice([
            "SELECT plan_year, count(*) AS n, avg(CASE WHEN result = 'fail' THEN 1.0 ELSE 0 END) AS fail_rate FROM spot_checks GROUP BY plan_year ORDER BY plan_year",
            "SELECT enterprise, count(*) AS n FROM spot_checks WHERE result = 'fail' GROUP BY enterprise ORDER BY n DESC LIMIT 20",
            "SELECT product, count(DISTINCT enterprise) AS e FROM spot_checks GROUP BY product ORDER BY e DESC LIMIT 50",
            "SELECT * FROM spot_checks ORDER BY announced_on DESC, record_id LIMIT 100",
        ])
        body = json.dumps({"sql": text, "limit": 1000}).encode()
        return "POST", "/api/v1/sql", body, {"Content-Type": "application/json"}


async def send(port, method, path, body, headers):
    """One request on a new connection; returns (status, seconds, error code of a 4xx/5xx)."""
    t0 = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    except OSError:
        return 0, time.perf_counter() - t0, None
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n"
    for k, v in headers.items():
        head += f"{k}: {v}\r\n"
    if body:
        head += f"Content-Length: {len(body)}\r\n"
    writer.write(head.encode() + b"\r\n" + (body or b""))
    status, first = 0, b""
    try:
        await writer.drain()
        line = await reader.readline()
        parts = line.split(b" ")
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        while True:
            chunk = await reader.read(1 << 16)
            if not chunk:
                break
            if len(first) < 4096:
                first += chunk[:4096]
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()
    code = None
    if status >= 400:
        marker = first.find(b'"code":"')
        code = first[marker + 8:first.find(b'"', marker + 8)].decode(errors="replace") if marker >= 0 else "?"
    return status, time.perf_counter() - t0, code


async def client(port, mix, cls, rnd, until, out):
    make = getattr(mix, cls)
    while time.perf_counter() < until:
        method, path, body, headers = make(rnd)
        status, took, code = await send(port, method, path, body, headers)
        out.append((cls, status, took, path, code))
        if status == 503:
            # A shed client waits a little, as Retry-After asks (shortened: we want pressure).
            await asyncio.sleep(0.2)


async def phase(port, mix, clients, seconds, seed):
    out = []
    until = time.perf_counter() + seconds
    rnd = random.Random(seed)
    tasks = [asyncio.create_task(client(port, mix, cls, random.Random(rnd.random()), until, out))
             for cls in CLASSES for _ in range(clients[cls])]
    started = time.perf_counter()
    await asyncio.gather(*tasks)
    return out, time.perf_counter() - started


def summary(out, elapsed):
    rows = {}
    for cls in CLASSES:
        mine = [o for o in out if o[0] == cls]
        ok = sorted(o[2] for o in mine if 200 <= o[1] < 400)
        rows[cls] = {
            "requests": len(mine),
            "ok_per_s": round(len(ok) / elapsed, 1),
            "p50_ms": round(statistics.median(ok) * 1000, 1) if ok else None,
            "p99_ms": round(ok[min(len(ok) - 1, int(len(ok) * 0.99))] * 1000, 1) if ok else None,
            "shed_503": sum(1 for o in mine if o[1] == 503),
            "other_5xx": sum(1 for o in mine if o[1] >= 500 and o[1] != 503),
            # Cut off at the class deadline or its memory budget: a clear answer, by design.
            "cut_off": sum(1 for o in mine if o[4] in CUT_OFF),
            "4xx": sum(1 for o in mine if 400 <= o[1] < 500 and o[4] not in CUT_OFF),
            "no_answer": sum(1 for o in mine if o[1] == 0),
        }
    return rows


def peak_rss(pid):
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def parse_size(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    text = text.strip().upper().rstrip("IB").rstrip("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def quiet(command):
    """Runs a command; its output is shown only when it fails."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def get_json(port, path):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, (json.loads(body) if body[:1] in (b"{", b"[") else None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zhijian", required=True)
    ap.add_argument("--scale", type=int, default=5_000_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--memory-limit", default="3G")
    ap.add_argument("--port", type=int, default=18_090)
    ap.add_argument("--work")
    ap.add_argument("--check", action="store_true", help="exit 1 on a 5xx other than 503 or RSS at the ceiling")
    ap.add_argument("--json", help="write the report here")
    args = ap.parse_args()
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="zhijian-load-"))
    raw, warehouse = work / "raw", work / "warehouse"
    if not (warehouse / "CURRENT").exists():
        if not raw.exists():
            quiet([args.zhijian, "synth", "--out", raw, "--scale", str(args.scale),
                   "--seed", str(args.seed)])
        quiet([args.zhijian, "ingest", "--raw", raw, "--warehouse", warehouse])
    ceiling = parse_size(args.memory_limit)
    log = open(work / "serve.log", "w")
    server = subprocess.Popen([args.zhijian, "serve", "--warehouse", warehouse,
                               "--addr", f"127.0.0.1:{args.port}", "--memory-limit", args.memory_limit],
                              stdout=log, stderr=log, env={**os.environ, "ZHIJIAN_LOG": "warn"})
    report = {"scale": args.scale, "memory_limit_bytes": ceiling, "seconds": args.seconds}
    try:
        for _ in range(1200):
            try:
                status, _ = get_json(args.port, "/api/v1/search?q=" + q("电热"))
                if status == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None:
                sys.exit(f"the server exited: see {work / 'serve.log'}")
            time.sleep(0.5)
        _, page = get_json(args.port, "/api/v1/resources/A1-02/rows?_limit=500&_fields=record_id")
        ids = [r["record_id"] for r in page["rows"]]
        _, found = get_json(args.port, "/api/v1/enterprises?q=" + q("有限"))
        enterprises = [e["key"] for e in found["enterprises"]][:50]
        _, meta = get_json(args.port, "/api/v1/resources/A1-02")
        base = f"http://127.0.0.1:{args.port}"
        parquet = meta["downloads"]["parquet"]
        csv = meta["downloads"]["csv"]["url"].removeprefix(base)
        mix = Mix(ids, enterprises, parquet["url"].removeprefix(base), parquet["bytes"], csv)
        slots = {}
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
        conn.request("GET", "/metrics")
        for line in conn.getresponse().read().decode().splitlines():
            if line.startswith("zhijian_class_slots{"):
                cls = line.split('"')[1]
                slots[cls] = int(float(line.split()[-1]))
        conn.close()
        at = {"light": min(slots.get("light", 64), 48), "heavy": slots.get("heavy", 4),
              "export": slots.get("export", 4), "sql": slots.get("sql", 4)}
        past = {k: v * 4 for k, v in at.items()}
        report["slots"] = slots
        report["phases"] = {}
        for name, clients, seed in [("at saturation", at, 1), ("past saturation", past, 2)]:
            out, elapsed = asyncio.run(phase(args.port, mix, clients, args.seconds / 2, seed))
            report["phases"][name] = {"clients": clients, "classes": summary(out, elapsed)}
            bad = [(o[0], o[1], o[3], o[4]) for o in out if (o[1] >= 500 and o[1] != 503)
                   or (400 <= o[1] < 500 and o[4] not in CUT_OFF)]
            report["phases"][name]["failures"] = {
                cls: [b for b in bad if b[0] == cls][:3] for cls in CLASSES}
        report["peak_rss_bytes"] = peak_rss(server.pid)
        report["server_alive"] = server.poll() is None
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"scale {args.scale}, ceiling {ceiling >> 20} MiB, slots {report['slots']}")
    print(f"{'phase':<16} {'class':<7} {'clients':>7} {'ok/s':>7} {'p50 ms':>8} {'p99 ms':>9} "
          f"{'503':>5} {'cut':>4} {'5xx':>4} {'4xx':>4}")
    failed = []
    for name, p in report["phases"].items():
        for cls, row in p["classes"].items():
            print(f"{name:<16} {cls:<7} {p['clients'][cls]:>7} {row['ok_per_s']:>7} "
                  f"{row['p50_ms'] if row['p50_ms'] is not None else '-':>8} "
                  f"{row['p99_ms'] if row['p99_ms'] is not None else '-':>9} "
                  f"{row['shed_503']:>5} {row['cut_off']:>4} {row['other_5xx']:>4} {row['4xx']:>4}")
            if row["other_5xx"]:
                failed.append(f"{name} {cls}: {row['other_5xx']} answers 5xx other than 503: "
                              f"{p['failures'][cls]}")
            if row["4xx"]:
                failed.append(f"{name} {cls}: {row['4xx']} answers 4xx: {p['failures'][cls]}")
            if row["no_answer"]:
                failed.append(f"{name} {cls}: {row['no_answer']} requests got no answer")
    rss = report["peak_rss_bytes"] or 0
    print(f"peak RSS {rss >> 20} MiB of a {ceiling >> 20} MiB ceiling")
    if rss >= ceiling:
        failed.append(f"peak RSS {rss >> 20} MiB reached the ceiling {ceiling >> 20} MiB")
    if not report["server_alive"]:
        failed.append("the server died")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1))
    if args.check and failed:
        print("\n".join(["FAILED:"] + failed), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
