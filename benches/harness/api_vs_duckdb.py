#!/usr/bin/env python3
"""The data API over HTTP, side by side with DuckDB in-process on the same Parquet files.

    benches/harness/api_vs_duckdb.py --zhijian target/release/zhijian [--scale 5000000]
        [--work DIR]   # keeps the corpus and warehouse between runs

1. `zhijian synth` writes a corpus of about --scale spot-check rows and `zhijian ingest`
   publishes it (skipped when --work already holds a snapshot).
2. `zhijian serve` serves it; DuckDB opens the same Parquet files of the snapshot.
3. Ten typical requests run --repeat times each (after two warm-ups) over keep-alive HTTP, and
   their SQL equivalents in DuckDB; medians and the ratio ours/DuckDB are printed.
4. The named queries of `queries/` run through `/api/v1/queries/{name}` and, with the same
   SQL text and parameters, in DuckDB (DataFusion-only function names translated).
5. wrk (when installed) loads the server with a point lookup and a filtered page, 4 and 16
   connections for 10 s each on loopback (requests/s, p50, p99); the server's peak RSS is read
   from /proc.
6. With --roapi PATH (a peer: `pip install roapi`), ROAPI serves the same Parquet files and
   answers the ten requests' SQL over its HTTP SQL endpoint in the same run (ROAPI loads the
   tables into memory first; its load time and peak RSS are reported too).
7. With --datasette PATH (a peer: `pip install datasette==0.65.1`), the same spot-check rows
   are copied once into SQLite (`record_id` the primary key, indexes on the filtered and sorted
   columns and on the default order; kept in --work), Datasette serves the file immutable, and
   the ten requests are asked of it the way a Datasette user would: its row page, table pages
   with filters, sorts, facets and counts, its streaming CSV, and its SQL endpoint where a
   table page cannot say the request (stats, the keyset page, distinct count). wrk loads both
   servers with 4 and 16 connections (requests/s and p99).

Figures are ratios measured in the same run on the same machine (PERFORMANCE.md: medians move
3-4x between runs on a shared machine).
"""
import argparse, http.client, json, os, pathlib, shutil, statistics, subprocess, sys, tempfile
import time, urllib.parse

import duckdb

import datasette_peer

SORT = ["product", "plan_year", "enterprise", "record_id"]


def q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def cursor(snapshot: str, values: list) -> str:
    doc = json.dumps({"s": snapshot, "o": ",".join(SORT), "v": values}, ensure_ascii=False,
                     separators=(",", ":"))
    return doc.encode("utf-8").hex()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--zhijian", required=True)
    ap.add_argument("--scale", type=int, default=5_000_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--port", type=int, default=18_080)
    ap.add_argument("--work")
    ap.add_argument("--roapi", help="a roapi executable: time the same SQL over its HTTP API")
    ap.add_argument("--datasette", help="a datasette executable: time the same requests of it, "
                    "over the same rows copied into SQLite")
    args = ap.parse_args()
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="zhijian-api-bench-"))
    raw, warehouse = work / "raw", work / "warehouse"
    report = {"scale": args.scale}
    if not (warehouse / "CURRENT").exists():
        if not raw.exists():
            subprocess.run([args.zhijian, "synth", "--out", raw, "--scale", str(args.scale),
                            "--seed", str(args.seed)], check=True, stdout=subprocess.DEVNULL)
        t0 = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-v", args.zhijian, "ingest", "--raw", raw,
                            "--warehouse", warehouse], capture_output=True, text=True,
                           env={**os.environ, "ZHIJIAN_LOG": "warn"})
        if r.returncode != 0:
            sys.exit(r.stdout + r.stderr)
        rss = [l for l in r.stderr.splitlines() if "Maximum resident" in l]
        report["ingest"] = {"seconds": round(time.perf_counter() - t0, 1),
                            "peak_rss_mib": int(rss[0].split()[-1]) // 1024 if rss else None}
    snapshot = (warehouse / "CURRENT").read_text().strip()
    manifest = json.loads((warehouse / "snapshots" / f"{snapshot}.json").read_text())
    spot_files = [str(warehouse / r["files"][0]["path"]) for r in manifest["resources"].values()
                  if r["schema"] == "spot_checks"]
    a102 = str(warehouse / manifest["resources"]["A1-02"]["files"][0]["path"])
    rows = sum(r["rows"] for r in manifest["resources"].values() if r["schema"] == "spot_checks")
    report["spot_check_rows"] = rows

    con = duckdb.connect()
    con.execute(f"CREATE VIEW spot_checks AS SELECT * FROM read_parquet({spot_files!r})")
    con.execute(f"CREATE VIEW a102 AS SELECT * FROM read_parquet('{a102}')")
    for r in manifest["resources"].values():
        if r["schema"] != "spot_checks":
            files = [str(warehouse / f["path"]) for f in r["files"]]
            con.execute(f"CREATE VIEW {r['table']} AS SELECT * FROM read_parquet({files!r})")
    rid = con.execute("SELECT record_id FROM a102 USING SAMPLE 1 ROWS").fetchone()[0]
    product = con.execute("SELECT product, count(*) c FROM spot_checks WHERE result = 'fail' "
                          "GROUP BY 1 ORDER BY 2 DESC LIMIT 1").fetchone()[0]
    deep = con.execute(f"SELECT {', '.join(SORT)} FROM spot_checks ORDER BY "
                       f"{', '.join(c + ' ASC NULLS FIRST' for c in SORT)} "
                       f"LIMIT 1 OFFSET {min(100_000, rows // 2)}").fetchone()
    deep_values = [deep[0], deep[1], deep[2], deep[3]]
    keyset = " OR ".join(
        "(" + " AND ".join(
            [f"{SORT[j]} = {q(str(deep_values[j])) if isinstance(deep_values[j], str) else deep_values[j]}"
             for j in range(i)]
            + [f"{SORT[i]} > {q(str(deep_values[i])) if isinstance(deep_values[i], str) else deep_values[i]}"]) + ")"
        for i in range(4))
    order = ", ".join(c + " ASC NULLS FIRST" for c in SORT)
    out_csv = work / "duck.csv"
    P = urllib.parse.quote
    cases = [
        ("point lookup by record_id",
         f"/api/v1/resources/A1-02/rows?record_id={rid}&_count=none",
         f"SELECT * FROM a102 WHERE record_id = '{rid}'"),
        ("filter + sort page",
         f"/api/v1/resources/spot_checks/rows?product={P(product)}&result=fail&_sort=-announced_on&_limit=50&_count=none",
         f"SELECT * FROM spot_checks WHERE product = {q(product)} AND result = 'fail' "
         f"ORDER BY announced_on DESC NULLS LAST, record_id LIMIT 51"),
        ("company-name substring",
         f"/api/v1/resources/spot_checks/rows?enterprise__contains={P('美的')}&_limit=50&_count=none",
         f"SELECT * FROM spot_checks WHERE strpos(enterprise, '美的') > 0 ORDER BY {order} LIMIT 51"),
        ("facet",
         "/api/v1/resources/spot_checks/facets?_facet=product&_facet_size=20",
         "WITH g AS (SELECT product AS value, count(*) AS count FROM spot_checks GROUP BY 1) "
         "SELECT value, count, (SELECT count(*) FROM g), (SELECT sum(count) FROM g) FROM g "
         "ORDER BY count DESC, value LIMIT 21"),
        ("pass-rate stats by year",
         "/api/v1/spot-checks/stats?group_by=plan_year",
         "SELECT plan_year, sum(CASE WHEN publication_scope = 'full' THEN 1 ELSE 0 END), "
         "sum(CASE WHEN publication_scope = 'full' AND result = 'fail' THEN 1 ELSE 0 END), "
         "sum(CASE WHEN publication_scope = 'fail_only' AND result = 'fail' THEN 1 ELSE 0 END), count(*) "
         "FROM spot_checks GROUP BY 1 ORDER BY 1"),
        ("deep keyset page",
         f"/api/v1/resources/spot_checks/rows?_limit=100&_count=none&_cursor={cursor(snapshot, deep_values)}",
         f"SELECT * FROM spot_checks WHERE {keyset} ORDER BY {order} LIMIT 101"),
        ("count",
         "/api/v1/resources/spot_checks/rows?plan_year__gte=2020&_limit=1",
         "SELECT count(*) FROM spot_checks WHERE plan_year >= 2020"),
        ("top failing enterprises",
         "/api/v1/resources/spot_checks/facets?_facet=enterprise&result=fail&_facet_size=10",
         "WITH g AS (SELECT enterprise AS value, count(*) AS count FROM spot_checks WHERE result = 'fail' GROUP BY 1) "
         "SELECT value, count, (SELECT count(*) FROM g), (SELECT sum(count) FROM g) FROM g "
         "ORDER BY count DESC, value LIMIT 11"),
        ("distinct enterprises",
         "/api/v1/resources/spot_checks/facets?_facet=enterprise&_facet_size=1",
         "SELECT count(DISTINCT enterprise) FROM spot_checks"),
        ("full filtered CSV export",
         "/api/v1/resources/spot_checks/rows?result=fail&_format=csv",
         f"COPY (SELECT * REPLACE (array_to_string(failed_items, ';') AS failed_items, "
         f"array_to_string(flags, ';') AS flags) FROM spot_checks WHERE result = 'fail' ORDER BY {order}) "
         f"TO '{out_csv}' (FORMAT csv, HEADER)"),
    ]

    # ROAPI (DataFusion) runs the DuckDB SQL as written, except the export: no COPY and no
    # `* REPLACE`, so the columns are listed and its HTTP answer asked for as CSV.
    columns = con.execute("DESCRIBE spot_checks").fetchall()
    listed = ", ".join(f"array_to_string({c[0]}, ';') AS {c[0]}" if c[1].endswith("[]") else c[0]
                       for c in columns)
    peer_sql = [sql for _, _, sql in cases[:-1]] + [
        f"SELECT {listed} FROM spot_checks WHERE result = 'fail' ORDER BY {order}"]
    roapi = None
    if args.roapi:
        spot_dir = work / "roapi-spot-checks"
        shutil.rmtree(spot_dir, ignore_errors=True)
        spot_dir.mkdir()
        for f in spot_files:
            os.symlink(f, spot_dir / pathlib.Path(f).name)
        roapi_port = args.port + 1
        t0 = time.perf_counter()
        roapi = subprocess.Popen([args.roapi, "-a", f"127.0.0.1:{roapi_port}",
                                  "--addr-flight-sql", f"127.0.0.1:{args.port + 2}",
                                  "--addr-postgres", f"127.0.0.1:{args.port + 3}",
                                  "-t", f"spot_checks={spot_dir}/,format=parquet",
                                  "-t", f"a102={a102},format=parquet"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        roapi_conn = http.client.HTTPConnection("127.0.0.1", roapi_port, timeout=600)
        for _ in range(600):
            try:
                roapi_conn.request("POST", "/api/sql", body=b"SELECT 1")
                r = roapi_conn.getresponse()
                r.read()
                if r.status == 200:
                    break
            except OSError:
                roapi_conn.close()
            time.sleep(0.5)
        report["roapi_ready_s"] = round(time.perf_counter() - t0, 1)

        def roapi_get(sql: str, csv: bool) -> None:
            headers = {"Accept": "application/csv"} if csv else {}
            roapi_conn.request("POST", "/api/sql", body=sql.encode(), headers=headers)
            r = roapi_conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise RuntimeError(f"roapi: {sql[:80]}: {r.status} {body[:300]!r}")

    datasette = None
    if args.datasette:
        db = work / "datasette" / snapshot / f"{datasette_peer.DB_NAME}.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        report["datasette_sqlite"] = datasette_peer.build_sqlite(con, db)
        datasette = datasette_peer.start(args.datasette, db, args.port + 5)
        ds_conn = http.client.HTTPConnection("127.0.0.1", args.port + 5, timeout=600)
        ds_paths = datasette_peer.paths(rid, product, cases[5][2], cases[4][2])

        def ds_get(path: str) -> None:
            for attempt in (1, 2):
                try:
                    ds_conn.request("GET", path)
                    r = ds_conn.getresponse()
                    body = r.read()
                    break
                except (http.client.RemoteDisconnected, ConnectionError) as e:
                    ds_conn.close()
                    if attempt == 2:
                        raise RuntimeError(f"datasette {path}: {e!r}") from e
            if r.status != 200:
                raise RuntimeError(f"datasette {path}: {r.status} {body[:300]!r}")

    server = subprocess.Popen([args.zhijian, "serve", "--warehouse", warehouse, "--addr",
                               f"127.0.0.1:{args.port}"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env={**os.environ, "ZHIJIAN_LOG": "warn"})
    try:
        for _ in range(300):
            try:
                c = http.client.HTTPConnection("127.0.0.1", args.port, timeout=5)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=600)
        # The search index (built in the background at start-up) also answers point lookups,
        # facets, counts and stats: time the server once it is built, as it serves all day.
        t0 = time.perf_counter()
        conn.request("GET", "/api/v1/search?q=" + urllib.parse.quote("电热"))
        first = json.loads(conn.getresponse().read())
        report["index_ready_s"] = round(time.perf_counter() - t0, 1)
        report["index"] = first.get("index")

        def get(path: str) -> None:
            # The server closes a keep-alive connection idle for 10 s (its header-read
            # timeout), as servers do: open a new one then, as HTTP clients do.
            for attempt in (1, 2):
                try:
                    conn.request("GET", path)
                    r = conn.getresponse()
                    body = r.read()
                    break
                except (http.client.RemoteDisconnected, http.client.IncompleteRead,
                        ConnectionError) as e:
                    conn.close()
                    if attempt == 2:
                        raise RuntimeError(f"{path}: {e!r}") from e
            if r.status != 200:
                raise RuntimeError(f"{path}: {r.status} {body[:300]!r}")

        results = []
        for k, (name, path, sql) in enumerate(cases):
            ours, theirs, peer, ds = [], [], [], []
            for i in range(args.repeat + 2):
                t0 = time.perf_counter(); get(path); t = time.perf_counter() - t0
                if i >= 2: ours.append(t)
                t0 = time.perf_counter(); con.execute(sql).fetchall(); t = time.perf_counter() - t0
                if i >= 2: theirs.append(t)
                if roapi:
                    t0 = time.perf_counter(); roapi_get(peer_sql[k], k == len(cases) - 1)
                    t = time.perf_counter() - t0
                    if i >= 2: peer.append(t)
                if datasette:
                    t0 = time.perf_counter(); ds_get(ds_paths[k]); t = time.perf_counter() - t0
                    if i >= 2: ds.append(t)
            o, d = statistics.median(ours), statistics.median(theirs)
            row = {"request": name, "zhijian_http_ms": round(o * 1000, 2),
                   "duckdb_ms": round(d * 1000, 2), "ratio": round(o / d, 2)}
            if peer:
                p = statistics.median(peer)
                row.update({"roapi_http_ms": round(p * 1000, 2), "ratio_to_roapi": round(o / p, 2)})
            if ds:
                p = statistics.median(ds)
                row.update({"datasette_http_ms": round(p * 1000, 2),
                            "ratio_to_datasette": round(o / p, 2)})
            results.append(row)
        report["requests"] = results
        if roapi:
            status = pathlib.Path(f"/proc/{roapi.pid}/status").read_text()
            hwm = [l for l in status.splitlines() if l.startswith("VmHWM")]
            report["roapi_peak_rss_mib"] = int(hwm[0].split()[1]) // 1024 if hwm else None
            roapi.terminate()
            roapi.wait()
            roapi = None

        # The named queries: the same SQL text and parameters in DuckDB, where the few
        # DataFusion-only names are translated.
        company = con.execute("SELECT enterprise FROM spot_checks WHERE result = 'fail' AND enterprise IS NOT NULL "
                              "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0][:4]
        params = {
            "pass_rate_by_product_year": {"product": product, "year_from": 2018},
            "worst_products": {"min_batches": 30},
            "company_history": {"company": company},
            "refused_imports_by_origin": {},
            "top_failed_items": {"product": product},
        }
        named = []
        for sql_file in sorted((pathlib.Path(__file__).resolve().parents[2] / "queries").glob("*.sql")):
            name = sql_file.stem
            text = "\n".join(l for l in sql_file.read_text().splitlines() if not l.startswith("--"))
            declared = [l.split()[2] for l in sql_file.read_text().splitlines()
                        if l.startswith("-- param:")]
            given = params.get(name, {})
            duck_sql = text.replace("approx_distinct(", "approx_count_distinct(")
            duck_params = {p: given.get(p) for p in declared if f"${p}" in text}
            path = f"/api/v1/queries/{name}?" + urllib.parse.urlencode({**given, "_format": "ndjson"})
            ours, theirs = [], []
            try:
                for i in range(args.repeat + 2):
                    t0 = time.perf_counter(); get(path); t = time.perf_counter() - t0
                    if i >= 2: ours.append(t)
                    t0 = time.perf_counter(); con.execute(duck_sql, duck_params).fetchall()
                    t = time.perf_counter() - t0
                    if i >= 2: theirs.append(t)
            except Exception as e:  # a query cut at its deadline ends its stream early
                named.append({"query": name, "params": given, "error": repr(e)[:300]})
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=600)
                continue
            o, d = statistics.median(ours), statistics.median(theirs)
            named.append({"query": name, "params": given, "zhijian_http_ms": round(o * 1000, 2),
                          "duckdb_ms": round(d * 1000, 2), "ratio": round(o / d, 2)})
        report["named_queries"] = named

        # Search: the public's queries (no DuckDB equivalent: DuckDB has no Chinese-aware
        # search), p50 over --repeat runs after the index is built.
        model = con.execute("SELECT split_part(model_spec, ' ', 1) FROM spot_checks "
                            "WHERE regexp_matches(model_spec, '^[A-Z]+-?[0-9]{3,}') LIMIT 1").fetchone()
        searches = ["电热", "童装", "美乐", "meile", "dcf", "電熱水壺", "ＬＥＤ"]
        if model:
            word = model[0]
            searches.append(word[:-1] + str((int(word[-1]) + 1) % 10) if word[-1].isdigit() else word)
        conn.request("GET", "/api/v1/search?q=" + urllib.parse.quote(searches[0]))
        first = conn.getresponse()
        index = json.loads(first.read()).get("index")
        timing = []
        for term in searches:
            path = "/api/v1/search?q=" + urllib.parse.quote(term)
            ts = []
            for i in range(args.repeat + 2):
                t0 = time.perf_counter(); get(path); t = time.perf_counter() - t0
                if i >= 2: ts.append(t)
            timing.append({"q": term, "p50_ms": round(statistics.median(ts) * 1000, 1)})
        report["search"] = {"index": index, "queries": timing,
                            "p50_ms_all": round(statistics.median([t["p50_ms"] for t in timing]), 1)}

        if shutil.which("wrk"):
            # Throughput with 4 and 16 connections: ours, and Datasette's on the same rows.
            loads = []
            for k, name in ((0, "point lookup"), (1, "filter + sort page")):
                for c in (4, 16):
                    row = {"request": name, "connections": c,
                           "zhijian": datasette_peer.wrk(f"http://127.0.0.1:{args.port}{cases[k][1]}", c)}
                    if datasette:
                        row["datasette"] = datasette_peer.wrk(
                            f"http://127.0.0.1:{args.port + 5}{ds_paths[k]}", c)
                        mine, theirs = row["zhijian"], row["datasette"]
                        if mine.get("requests_per_s") and theirs.get("requests_per_s"):
                            row["throughput_vs_datasette"] = round(
                                mine["requests_per_s"] / theirs["requests_per_s"], 2)
                    loads.append(row)
            report["wrk"] = loads
        status = pathlib.Path(f"/proc/{server.pid}/status").read_text()
        hwm = [l for l in status.splitlines() if l.startswith("VmHWM")]
        report["server_peak_rss_mib"] = int(hwm[0].split()[1]) // 1024 if hwm else None
        report["duckdb"] = duckdb.__version__
    finally:
        server.terminate()
        server.wait()
        if roapi:
            roapi.terminate()
            roapi.wait()
        if datasette:
            status = pathlib.Path(f"/proc/{datasette.pid}/status")
            if status.exists():
                hwm = [l for l in status.read_text().splitlines() if l.startswith("VmHWM")]
                report["datasette_peak_rss_mib"] = int(hwm[0].split()[1]) // 1024 if hwm else None
            datasette.terminate()
            datasette.wait()
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
