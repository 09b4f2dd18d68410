"""Datasette as a peer of the data API: the same spot-check rows in SQLite, served immutable.

Used by `api_vs_duckdb.py --datasette PATH`. The SQLite file is what a Datasette publisher
would build for this data: one `spot_checks` table with `record_id` as its primary key, an
index on each column the requests filter or sort on, and one on the API's default order
(product, plan_year, enterprise, record_id) so a keyset page is a B-tree seek. List columns
are stored as `;`-joined text (as the CSV downloads write them), dates as ISO text.
"""
import http.client, pathlib, sqlite3, subprocess, time, urllib.parse

DB_NAME = "zhijian"
INDEXED = ["product", "result", "plan_year", "announced_on", "enterprise"]
ORDER = ["product", "plan_year", "enterprise", "record_id"]


def build_sqlite(con, path: pathlib.Path) -> dict:
    """Copies DuckDB's `spot_checks` view into a new SQLite file at `path` (once: an existing
    file is kept). Returns the build's seconds and the file's size."""
    if path.exists():
        return {"kept": True, "mib": path.stat().st_size >> 20}
    t0 = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    cols = con.execute("DESCRIBE spot_checks").fetchall()
    decl, select = [], []
    for name, typ, *_ in cols:
        if typ.endswith("[]"):
            decl.append(f'"{name}" TEXT')
            select.append(f"array_to_string({name}, ';')")
        elif typ in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER",
                     "USMALLINT", "UTINYINT", "BOOLEAN"):
            decl.append(f'"{name}" INTEGER')
            select.append(f"CAST({name} AS BIGINT)")
        elif typ in ("DOUBLE", "FLOAT") or typ.startswith("DECIMAL"):
            decl.append(f'"{name}" REAL')
            select.append(f"CAST({name} AS DOUBLE)")
        else:
            decl.append(f'"{name}" TEXT')
            select.append(f"CAST({name} AS VARCHAR)")
        if name == "record_id":
            decl[-1] += " PRIMARY KEY"
    db = sqlite3.connect(tmp)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute(f"CREATE TABLE spot_checks ({', '.join(decl)})")
    marks = ", ".join("?" for _ in cols)
    cur = con.execute(f"SELECT {', '.join(select)} FROM spot_checks ORDER BY record_id")
    while True:
        rows = cur.fetchmany(50_000)
        if not rows:
            break
        db.executemany(f"INSERT INTO spot_checks VALUES ({marks})", rows)
    for c in INDEXED:
        db.execute(f'CREATE INDEX "idx_{c}" ON spot_checks ("{c}")')
    db.execute(f"CREATE INDEX idx_default_order ON spot_checks ({', '.join(ORDER)})")
    db.execute("ANALYZE")
    db.commit()
    db.close()
    tmp.rename(path)
    return {"seconds": round(time.perf_counter() - t0, 1), "mib": path.stat().st_size >> 20}


def start(datasette: str, db: pathlib.Path, port: int) -> subprocess.Popen:
    """Serves `db` immutable on loopback with limits wide enough that every request of the
    bench completes (the defaults stop a query at 1 s and a CSV at 100 MB)."""
    settings = {
        "sql_time_limit_ms": 600_000,
        "facet_time_limit_ms": 600_000,
        "max_returned_rows": 1_000,
        "max_csv_mb": 0,
        "suggest_facets": "off",
        "default_page_size": 50,
    }
    argv = [datasette, "serve", "-i", str(db), "--host", "127.0.0.1", "--port", str(port)]
    for k, v in settings.items():
        argv += ["--setting", k, str(v)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/-/versions.json")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("datasette did not start")


def paths(rid: str, product: str, keyset_sql: str, stats_sql: str) -> list:
    """The ten requests of the bench, in its order, as a Datasette user asks them."""
    p = urllib.parse.quote
    t = f"/{DB_NAME}/spot_checks"

    def sql(text: str) -> str:
        return f"/{DB_NAME}.json?_shape=array&sql={p(text)}"

    return [
        f"{t}/{p(rid)}.json",
        f"{t}.json?product={p(product)}&result=fail&_sort_desc=announced_on&_size=50&_nocount=1",
        f"{t}.json?enterprise__contains={p('美的')}&_size=50&_nocount=1",
        f"{t}.json?_facet=product&_facet_size=20&_size=0",
        sql(stats_sql),
        sql(keyset_sql),
        f"{t}.json?plan_year__gte=2020&_size=1",
        f"{t}.json?result=fail&_facet=enterprise&_facet_size=10&_size=0",
        sql("SELECT count(DISTINCT enterprise) FROM spot_checks"),
        f"{t}.csv?result=fail&_stream=on&_size=max",
    ]


def wrk(url: str, connections: int, seconds: int = 10) -> dict:
    """wrk against `url`: requests/s, p50 and p99 in ms, non-2xx answers."""
    r = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                       capture_output=True, text=True)
    out = {"connections": connections}
    for line in r.stdout.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec"):
            out["requests_per_s"] = float(parts[-1])
        elif len(parts) == 2 and parts[0] in ("50%", "99%"):
            out[f"p{parts[0][:-1]}_ms"] = _ms(parts[1])
        elif line.strip().startswith("Non-2xx"):
            out["non_2xx"] = int(parts[-1])
    if "requests_per_s" not in out:
        out["error"] = (r.stdout + r.stderr)[-300:]
    return out


def _ms(text: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60_000.0)):
        if text.endswith(unit):
            return round(float(text[: -len(unit)]) * factor, 2)
    return float(text)
