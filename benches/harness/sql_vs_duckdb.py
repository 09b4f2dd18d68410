#!/usr/bin/env python3
"""Analyst SQL over HTTP against DuckDB in-process on the same Parquet, in one run.

Against a running `zhijian serve` (its index built) on WAREHOUSE: the named queries of
`queries/` and five ad-hoc aggregates of `spot_checks`, each timed as the median of
N requests over one keep-alive connection (NDJSON, whole result), beside the same SQL in
DuckDB (2 threads) over the snapshot's Parquet files. Prints medians, the ratio
ours / DuckDB and the server's `x-answered-by`.

    zhijian serve --warehouse W --addr 127.0.0.1:18080 &
    benches/harness/sql_vs_duckdb.py --warehouse W --addr 127.0.0.1:18080 [--repeat 21]
"""
import argparse
import http.client
import json
import pathlib
import statistics
import time
import urllib.parse

import duckdb

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warehouse", required=True, type=pathlib.Path)
    ap.add_argument("--addr", default="127.0.0.1:18080")
    ap.add_argument("--repeat", type=int, default=21)
    a = ap.parse_args()
    wh = a.warehouse
    snap = (wh / "CURRENT").read_text().strip()
    manifest = json.loads((wh / "snapshots" / f"{snap}.json").read_text())
    files = [str(wh / r["files"][0]["path"]) for r in manifest["resources"].values()
             if r["schema"] == "spot_checks"]
    con = duckdb.connect()
    con.execute("SET threads=2")
    con.execute(f"CREATE VIEW spot_checks AS SELECT * FROM read_parquet({files!r})")
    for r in manifest["resources"].values():
        if r["schema"] != "spot_checks":
            paths = [str(wh / f["path"]) for f in r["files"]]
            con.execute(f"CREATE VIEW {r['table']} AS SELECT * FROM read_parquet({paths!r})")
    host, port = a.addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=600)

    def get(path):
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise SystemExit(f"{path}: {r.status} {body[:300]!r}")
        return r.getheader("x-answered-by")

    product = con.execute("SELECT product FROM spot_checks GROUP BY 1 "
                          "ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()[0]

    def bench(label, path, sql, params=None):
        ours, theirs, by = [], [], None
        for i in range(a.repeat + 2):  # two warm-up rounds
            t0 = time.perf_counter()
            by = get(path)
            t1 = time.perf_counter()
            con.execute(sql, params or {}).fetchall()
            t2 = time.perf_counter()
            if i >= 2:
                ours.append(t1 - t0)
                theirs.append(t2 - t1)
        o, d = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
        print(f"{label:44.44s} ours {o:8.2f} ms  duckdb {d:8.2f} ms  ratio {o / d:5.2f}  "
              f"answered by {by}", flush=True)

    company = con.execute("SELECT enterprise FROM spot_checks WHERE result = 'fail' AND "
                          "enterprise IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 "
                          "LIMIT 1").fetchone()[0][:4]
    given = {"pass_rate_by_product_year": {"product": product, "year_from": 2018},
             "worst_products": {"min_batches": 30},
             "top_failed_items": {"product": product},
             "company_history": {"company": company},
             "refused_imports_by_origin": {}}
    for f in sorted((ROOT / "queries").glob("*.sql")):
        if f.stem not in given:
            continue
        lines = f.read_text().splitlines()
        text = "\n".join(line for line in lines if not line.startswith("--"))
        declared = [line.split()[2] for line in lines if line.startswith("-- param:")]
        params = {p: given[f.stem].get(p) for p in declared if f"${p}" in text}
        query = urllib.parse.urlencode({**given[f.stem], "_format": "ndjson"})
        bench(f.stem, f"/api/v1/queries/{f.stem}?{query}",
              text.replace("approx_distinct(", "approx_count_distinct("), params)
    quoted = product.replace("'", "''")
    for sql in [
        "SELECT product, count(*) FROM spot_checks GROUP BY product",
        "SELECT plan_year, result, count(*) FROM spot_checks GROUP BY 1, 2 ORDER BY 1, 2",
        "SELECT enterprise_province, count(*) AS n, avg(CASE WHEN result = 'fail' THEN 1.0 "
        "ELSE 0 END) AS r FROM spot_checks WHERE plan_year >= 2020 GROUP BY 1 ORDER BY n DESC",
        f"SELECT count(*) FROM spot_checks WHERE product = '{quoted}'",
        "SELECT count(*) FROM spot_checks",
    ]:
        bench(sql, "/api/v1/sql?" + urllib.parse.urlencode({"sql": sql, "_format": "ndjson"}),
              sql)


if __name__ == "__main__":
    main()
