use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use zhijian_catalog::Catalog;
use zhijian_ingest::build::{self, DEFAULT_MEMORY, Options, Phase};

use crate::corpus;

fn ingest(raw: &Path, warehouse: &Path, memory: usize) -> build::Published {
    let catalog = Catalog::builtin().expect("catalog");
    build::ingest(
        raw,
        warehouse,
        &catalog,
        &Options {
            only: &[],
            memory,
            progress: &|_, _, _| {},
            before_current: None,
        },
    )
    .expect("ingest")
}

/// Every file a snapshot names, with its bytes.
fn files(warehouse: &Path, id: &str) -> Vec<(String, Vec<u8>)> {
    let m = zhijian_catalog::layout::read_manifest(warehouse, id)
        .expect("manifest")
        .expect("exists");
    let mut out: Vec<(String, Vec<u8>)> = m
        .resources
        .values()
        .flat_map(|r| {
            r.files
                .iter()
                .chain(r.downloads.values())
                .chain(r.rejects.iter())
        })
        .map(|f| {
            (
                f.path.clone(),
                std::fs::read(warehouse.join(&f.path)).expect("file"),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn streaming_ingest_publishes_the_bytes_of_the_in_memory_path_even_when_every_sort_spills() {
    let c = corpus();
    let catalog = Catalog::builtin().expect("catalog");
    let dir = tempfile::tempdir().expect("tempdir");

    let memory = dir.path().join("memory");
    let ingested = zhijian_ingest::pipeline::ingest(&c.raw, &catalog, &[], &|_, _| {});
    let reference =
        zhijian_ingest::snapshot::publish(&memory, &catalog, &ingested).expect("publish");

    let streamed = ingest(&c.raw, &dir.path().join("streamed"), DEFAULT_MEMORY);
    assert_eq!(streamed.manifest.id, reference.id);
    assert_eq!(streamed.manifest, reference);

    // A budget of one byte: every publication's rows are a run of their own, and resources
    // with more runs than a merge takes at once are merged in passes.
    let spilled_at = dir.path().join("spilled");
    let spilled = ingest(&c.raw, &spilled_at, 1);
    assert_eq!(spilled.manifest.id, reference.id);
    assert_eq!(
        files(&spilled_at, &spilled.manifest.id),
        files(&memory, &reference.id),
        "same bytes, file by file"
    );
    assert_eq!(
        std::fs::read_dir(spilled_at.join("tmp"))
            .expect("tmp")
            .count(),
        0,
        "no run is left behind"
    );
}

/// The ingest a child process runs until it is killed (see the test below).
fn child_ingest(raw: &Path, warehouse: &Path, stop_at: &str) {
    let catalog = Catalog::builtin().expect("catalog");
    let progress = |phase: Phase, done: u64, total: u64| {
        if phase.label() == stop_at && done * 2 >= total {
            println!("reached {stop_at}");
            // Wait to be killed in the middle of the phase.
            std::thread::sleep(std::time::Duration::from_secs(600));
        }
    };
    let _ = build::ingest(
        raw,
        warehouse,
        &catalog,
        &Options {
            only: &[],
            memory: 1,
            progress: &progress,
            before_current: None,
        },
    );
}

#[test]
fn kill_9_in_any_phase_leaves_the_previous_snapshot_current_and_the_next_ingest_whole() {
    if let (Ok(raw), Ok(warehouse), Ok(phase)) = (
        std::env::var("ZHIJIAN_TEST_CHILD_RAW"),
        std::env::var("ZHIJIAN_TEST_CHILD_WAREHOUSE"),
        std::env::var("ZHIJIAN_TEST_CHILD_PHASE"),
    ) {
        child_ingest(Path::new(&raw), Path::new(&warehouse), &phase);
        return;
    }
    let c = corpus();
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("raw");
    zhijian_tests::copy_dir(&c.raw, &raw);
    let warehouse = dir.path().join("w");
    let first = ingest(&raw, &warehouse, DEFAULT_MEMORY);
    let first_files = files(&warehouse, &first.manifest.id);
    // New rows for the killed runs to work on: one resource's publications, twice.
    let a = raw.join("A1-02");
    for e in std::fs::read_dir(&a).expect("dir").filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        zhijian_tests::copy_dir(&e.path(), &a.join(format!("{name}-again")));
    }
    for phase in ["read", "sort", "write"] {
        let mut child = Command::new(std::env::current_exe().expect("exe"))
            .args([
                "streaming::kill_9_in_any_phase_leaves_the_previous_snapshot_current_and_the_next_ingest_whole",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("ZHIJIAN_TEST_CHILD_RAW", &raw)
            .env("ZHIJIAN_TEST_CHILD_WAREHOUSE", &warehouse)
            .env("ZHIJIAN_TEST_CHILD_PHASE", phase)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("child");
        let out = child.stdout.take().expect("stdout");
        let reached = BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.contains(&format!("reached {phase}")));
        child.kill().expect("kill -9");
        let _ = child.wait();
        assert!(reached, "the child reached the {phase} phase");
        assert_eq!(
            zhijian_catalog::layout::current_id(&warehouse).as_deref(),
            Some(first.manifest.id.as_str()),
            "killed while {phase}: the previous snapshot is current"
        );
        assert_eq!(files(&warehouse, &first.manifest.id), first_files);
    }
    assert!(
        std::fs::read_dir(warehouse.join("tmp"))
            .expect("tmp")
            .count()
            > 0,
        "the killed runs left temporary files"
    );
    let next = ingest(&raw, &warehouse, DEFAULT_MEMORY);
    assert_eq!(
        std::fs::read_dir(warehouse.join("tmp"))
            .expect("tmp")
            .count(),
        0,
        "the next ingest cleaned them"
    );
    let full_at = dir.path().join("full");
    let full = ingest(&raw, &full_at, DEFAULT_MEMORY);
    assert_eq!(
        next.manifest.id, full.manifest.id,
        "the next ingest is whole"
    );
}

/// A resource's Parquet file written the simple way: every row in memory, one sort of the
/// whole, one batch to the writer, dictionaries decided over the whole (what ingest did before
/// it streamed). The streamed file must be the same bytes: the output is defined by the data.
fn whole_resource_parquet(
    batches: &[datafusion::arrow::record_batch::RecordBatch],
    schema: datafusion::arrow::datatypes::SchemaRef,
    sort: &[String],
) -> Vec<u8> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::compute::{
        SortColumn, concat_batches, lexsort_to_indices, take_record_batch,
    };
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::basic::{Compression, ZstdLevel};
    use datafusion::parquet::file::metadata::SortingColumn;
    use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
    let batch = concat_batches(&schema, batches).expect("concat");
    let batch = if batch.num_rows() > 1 {
        let columns: Vec<SortColumn> = sort
            .iter()
            .filter_map(|c| batch.column_by_name(c))
            .map(|values| SortColumn {
                values: values.clone(),
                options: None,
            })
            .collect();
        let idx = lexsort_to_indices(&columns, None).expect("sort");
        take_record_batch(&batch, &idx).expect("take")
    } else {
        batch
    };
    let mut props = WriterProperties::builder();
    let limit = (batch.num_rows() / 4).max(1024);
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        if let Some(text) = column.as_string_opt::<i32>() {
            let distinct: std::collections::HashSet<&str> = text.iter().flatten().collect();
            if distinct.len() > limit {
                props = props.set_column_dictionary_enabled(field.name().as_str().into(), false);
            }
        }
    }
    let sorting = sort
        .iter()
        .filter_map(|c| schema.index_of(c).ok())
        .map(|i| SortingColumn {
            column_idx: i as i32,
            descending: false,
            nulls_first: true,
        })
        .collect();
    let props = props
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("level")))
        .set_max_row_group_row_count(Some(128 * 1024))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_data_page_row_count_limit(2048)
        .set_column_bloom_filter_enabled("record_id".into(), true)
        .set_sorting_columns(Some(sorting))
        .set_created_by(format!("zhijian {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, schema, Some(props)).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    out
}

#[test]
fn a_streamed_and_spilled_parquet_file_is_the_file_of_a_whole_resource_sort() {
    use sha2::{Digest, Sha256};
    let c = corpus();
    let catalog = Catalog::builtin().expect("catalog");
    let dir = tempfile::tempdir().expect("tempdir");
    let ingested = zhijian_ingest::pipeline::ingest(&c.raw, &catalog, &[], &|_, _| {});
    let spilled = ingest(&c.raw, dir.path(), 1);
    let mut compared = 0;
    for (id, data) in &ingested.resources {
        let resource = catalog.resource(id).expect("resource");
        let schema = catalog.schema_of(resource).expect("schema");
        let sort = zhijian_catalog::sort_order(&resource.schema, &schema.primary_key);
        let bytes =
            whole_resource_parquet(&data.batches, std::sync::Arc::new(schema.to_arrow()), &sort);
        let want: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let got = &spilled.manifest.resources[id].files[0].sha256;
        assert_eq!(got, &want, "{id}: {} rows", data.row_count());
        compared += 1;
    }
    assert_eq!(compared, catalog.resources.len());
}

/// Every spot-check resource's Parquet file has a row store beside it holding the same rows
/// in the same order, block by block; no other resource has one. Collection keeps the row
/// stores of a retained snapshot and removes those of a collected one.
#[test]
fn row_stores_repeat_the_spot_check_parquet_files_and_go_with_them() {
    use datafusion::arrow::compute::concat_batches;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use zhijian_catalog::rowstore::{self, RowStore};

    let c = corpus();
    let dir = tempfile::tempdir().expect("tempdir");
    let warehouse = dir.path().join("w");
    let published = ingest(&c.raw, &warehouse, DEFAULT_MEMORY);
    let mut stores = 0;
    for (id, entry) in &published.manifest.resources {
        for file in &entry.files {
            let parquet = warehouse.join(&file.path);
            let store = rowstore::path_for(&parquet).expect("a data/ file");
            if entry.schema != zhijian_catalog::SPOT_CHECK_SCHEMA {
                assert!(
                    !store.exists(),
                    "{id}: a row store for a {} table",
                    entry.schema
                );
                continue;
            }
            let reader = ParquetRecordBatchReaderBuilder::try_new(
                std::fs::File::open(&parquet).expect("parquet"),
            )
            .expect("reader");
            let schema = reader.schema().clone();
            let batches: Vec<_> = reader
                .build()
                .expect("reader")
                .collect::<Result<_, _>>()
                .expect("rows");
            let expected = concat_batches(&schema, &batches).expect("concat");
            let store = RowStore::open(&store, schema.clone(), file.rows)
                .unwrap_or_else(|e| panic!("{id}: {e}"));
            let blocks: Vec<_> = (0..file.rows.div_ceil(u64::from(store.block_rows())))
                .map(|b| {
                    store
                        .block(b as usize, None)
                        .unwrap_or_else(|e| panic!("{e}"))
                })
                .collect();
            let got = concat_batches(&schema, &blocks).expect("concat");
            assert_eq!(
                got, expected,
                "{id}: the row store holds the Parquet file's rows"
            );
            stores += 1;
        }
    }
    assert!(stores >= 10, "{stores} row stores");
}
