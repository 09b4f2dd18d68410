use zhijian_ingest::read::{Container, TextEncoding, read_file};

use crate::{attachments, corpus, truth_of};

#[test]
fn every_attachment_reads_and_every_truth_row_is_found_at_its_number() {
    let c = corpus();
    let mut rows = 0;
    for a in attachments() {
        let source = a["source_file"].as_str().expect("source");
        let read = read_file(&c.raw.join(source)).unwrap_or_else(|e| panic!("{e}"));
        let want = match a["format"].as_str() {
            Some("csv") => Container::Csv,
            Some("html") => Container::Html,
            Some("xlsx") => Container::Xlsx,
            Some("xls") => Container::Xls,
            _ => Container::Json,
        };
        assert_eq!(read.container, want, "{source}");
        let enc = match a["encoding"].as_str() {
            Some("utf-8") => Some(TextEncoding::Utf8),
            Some("utf-8-bom") => Some(TextEncoding::Utf8Bom),
            Some("gbk" | "gb2312" | "gb18030") => Some(TextEncoding::Gb18030),
            _ => None,
        };
        assert_eq!(read.encoding, enc, "{source}");
        let mut found = std::collections::BTreeSet::new();
        for t in &read.tables {
            for r in t.rows.iter().filter(|r| r.number > 0) {
                found.insert((t.sheet.clone(), u64::from(r.number)));
            }
        }
        for key in truth_of(source).keys() {
            assert!(found.contains(key), "{source}: truth row {key:?} not read");
            rows += 1;
        }
    }
    assert!(rows > 50_000, "{rows}");
}

#[test]
fn undecodable_bytes_are_an_error_naming_the_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, b"\xD0\xF2\xBA\xC5,\xFF\xFF\xFF\xFF\n").expect("write");
    let err = read_file(&path).expect_err("neither UTF-8 nor GB18030");
    let msg = err.to_string();
    assert!(msg.contains("bad.csv") && msg.contains("byte 5"), "{msg}");
}
