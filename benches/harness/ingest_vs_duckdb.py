#!/usr/bin/env python3
"""Ingest throughput, side by side with DuckDB, on the same UTF-8 CSV files in the same run.

    benches/harness/ingest_vs_duckdb.py --zhijian target/release/zhijian [--scale 1000000]
        [--raw DIR]   # the CSV files of a corpus already written, instead of a new one

1. `zhijian synth` writes a corpus; every attachment that is not a strict-UTF-8 CSV is removed,
   so both engines read exactly the same files (the rows they hold are counted).
2. `zhijian ingest` reads, lays out, normalizes, validates and writes the snapshot
   (wall time and peak RSS from /usr/bin/time).
3. DuckDB reads each file with `read_csv` (all columns VARCHAR, ragged rows padded, bad lines
   skipped) and `COPY`s it to zstd Parquet: parsing and writing only, no normalization.

4. Incremental: a new publication of about 1,000 rows (CSV attachments of other A1-02
   publications) is added to the raw tree and `zhijian ingest` runs again into the same
   warehouse; its time is compared with the full ingest's.

Prints rows/s of both, the ratio ours/DuckDB's (the target is at least 0.8), peak RSS of both
(DuckDB's is that of this process, which runs it) and the incremental ingest's time.
"""
import argparse, json, os, pathlib, re, resource, shutil, subprocess, sys, tempfile, time

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
    ap.add_argument("--raw", help="take the CSV files of this corpus (written by `zhijian synth`) "
                    "instead of writing one; it is copied, never changed")
    ap.add_argument("--memory", type=int, default=None,
                    help="zhijian ingest --memory (MiB); its default when not given")
    args = ap.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="zhijian-ingest-bench-"))
    try:
        raw = work / "raw"
        if args.raw:
            # Only what the bench keeps: every publication.toml and every .csv attachment.
            source = pathlib.Path(args.raw)
            for p in sorted(source.rglob("*")):
                if p.is_file() and (p.name == "publication.toml" or p.suffix.lower() == ".csv"):
                    dest = raw / p.relative_to(source)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(p, dest)
        else:
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
        memory = ["--memory", str(args.memory)] if args.memory else []
        t0 = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-v", args.zhijian, "ingest", "--raw", raw,
                            "--warehouse", warehouse, *memory], capture_output=True, text=True,
                           env={**os.environ, "ZHIJIAN_LOG": "warn"})
        ours_s = time.perf_counter() - t0
        if r.returncode != 0:
            sys.exit(f"zhijian ingest failed:\n{r.stdout}\n{r.stderr}")
        current = (warehouse / "CURRENT").read_text().strip()
        manifest = json.loads((warehouse / "snapshots" / f"{current}.json").read_text())
        rows_in = manifest["totals"]["rows_in"]
        published = manifest["totals"]["published"]
        ours_rss = peak_rss_kib(r.stderr)

        # A new publication of ~1,000 rows, made of spot-check publications' CSV attachments.
        resource_dir = raw / "A1-02"
        pubs = sorted(d for d in resource_dir.iterdir() if (d / "publication.toml").is_file())
        added = resource_dir / "9999-bench-added"
        added.mkdir()
        shutil.copy(pubs[0] / "publication.toml", added / "publication.toml")
        added_lines = 0
        for i, p in enumerate(f for f in files if f.parent.parent.name.startswith("A")):
            if added_lines >= 1000:
                break
            shutil.copy(p, added / f"{i}-{p.name}")
            added_lines += p.read_bytes().count(b"\n")
        t0 = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-v", args.zhijian, "ingest", "--raw", raw,
                            "--warehouse", warehouse, *memory], capture_output=True, text=True,
                           env={**os.environ, "ZHIJIAN_LOG": "warn"})
        incremental_s = time.perf_counter() - t0
        if r.returncode != 0:
            sys.exit(f"incremental zhijian ingest failed:\n{r.stdout}\n{r.stderr}")
        incremental_rss = peak_rss_kib(r.stderr)
        shutil.rmtree(added)

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
        duck_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        ours_rate, duck_rate = rows_in / ours_s, duck_rows / duck_s
        print(json.dumps({
            "files": len(files), "bytes": size, "lines": lines,
            "zhijian": {"rows_in": rows_in, "published": published, "seconds": round(ours_s, 2),
                        "rows_per_s": round(ours_rate), "peak_rss_mib": round(ours_rss / 1024)},
            "duckdb": {"rows": duck_rows, "seconds": round(duck_s, 2),
                       "rows_per_s": round(duck_rate), "version": duckdb.__version__,
                       "peak_rss_mib": round(duck_rss_kib / 1024)},
            "ratio_ours_to_duckdb": round(ours_rate / duck_rate, 2),
            "incremental": {"added_lines": added_lines, "seconds": round(incremental_s, 2),
                            "peak_rss_mib": round(incremental_rss / 1024),
                            "fraction_of_full": round(incremental_s / ours_s, 3)},
        }, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
