#!/usr/bin/env python3
"""Ingest throughput, side by side with DuckDB, on the same UTF-8 CSV files in the same run.

    benches/harness/ingest_vs_duckdb.py --zhijian target/release/zhijian [--scale 1000000]

1. `zhijian synth` writes a corpus; every attachment that is not a strict-UTF-8 CSV is removed,
   so both engines read exactly the same files (the rows they hold are counted).
2. `zhijian ingest` reads, lays out, normalizes, validates and writes the snapshot
   (wall time and peak RSS from /usr/bin/time).
3. DuckDB reads each file with `read_csv` (all columns VARCHAR, ragged rows padded, bad lines
   skipped) and `COPY`s it to zstd Parquet: parsing and writing only, no normalization.

Prints rows/s of both and the ratio ours/DuckDB's (the target is at least 0.5).
"""
import argparse, json, os, pathlib, re, shutil, subprocess, sys, tempfile, time

import duckdb


def peak_rss_kib(time_output: str) -> int:
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_output)
    return int(m.group(1)) if m else 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--zhijian", required=True)
    ap.add_argument("--scale", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="zhijian-ingest-bench-"))
    try:
        raw = work / "raw"
        subprocess.run([args.zhijian, "synth", "--out", raw, "--scale", str(args.scale),
                        "--seed", str(args.seed)], check=True, stdout=subprocess.DEVNULL)
        files = []
        for p in sorted(raw.rglob("*")):
            if not p.is_file() or p.name == "publication.toml":
                continue
            data = p.read_bytes()
            keep = p.suffix.lower() == ".csv" and not data.startswith(b"\xef\xbb\xbf")
            if keep:
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError:
                    keep = False
            if keep:
                files.append(p)
            else:
                p.unlink()
        lines = sum(p.read_bytes().count(b"\n") for p in files)
        size = sum(p.stat().st_size for p in files)

        warehouse = work / "warehouse"
        t0 = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-v", args.zhijian, "ingest", "--raw", raw,
                            "--warehouse", warehouse], capture_output=True, text=True,
                           env={**os.environ, "ZHIJIAN_LOG": "warn"})
        ours_s = time.perf_counter() - t0
        if r.returncode != 0:
            sys.exit(f"zhijian ingest failed:\n{r.stdout}\n{r.stderr}")
        current = (warehouse / "CURRENT").read_text().strip()
        manifest = json.loads((warehouse / "snapshots" / f"{current}.json").read_text())
        rows_in = manifest["totals"]["rows_in"]
        published = manifest["totals"]["published"]
        ours_rss = peak_rss_kib(r.stderr)

        out = work / "duckdb"
        out.mkdir()
        con = duckdb.connect()
        con.execute(f"SET threads = {args.threads}")
        t0 = time.perf_counter()
        duck_rows = 0
        for i, p in enumerate(files):
            con.execute(
                f"COPY (SELECT * FROM read_csv('{p}', all_varchar = true, header = false, "
                f"null_padding = true, ignore_errors = true, strict_mode = false, parallel = false)) "
                f"TO '{out / f'{i}.parquet'}' (FORMAT parquet, COMPRESSION zstd)")
            duck_rows += con.execute(
                f"SELECT count(*) FROM read_parquet('{out / f'{i}.parquet'}')").fetchone()[0]
        duck_s = time.perf_counter() - t0

        ours_rate, duck_rate = rows_in / ours_s, duck_rows / duck_s
        print(json.dumps({
            "files": len(files), "bytes": size, "lines": lines,
            "zhijian": {"rows_in": rows_in, "published": published, "seconds": round(ours_s, 2),
                        "rows_per_s": round(ours_rate), "peak_rss_mib": round(ours_rss / 1024)},
            "duckdb": {"rows": duck_rows, "seconds": round(duck_s, 2),
                       "rows_per_s": round(duck_rate), "version": duckdb.__version__},
            "ratio_ours_to_duckdb": round(ours_rate / duck_rate, 2),
        }, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
