use zhijian_catalog::Catalog;

use crate::shared::{attachments, corpus};

#[test]
fn all_108_resources_have_publications() {
    let c = corpus();
    let catalog = Catalog::builtin().expect("catalog");
    for r in &catalog.resources {
        let dir = c.raw.join(&r.id);
        let pubs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|_| panic!("{} has no directory", r.id))
            .filter_map(Result::ok)
            .filter(|e| e.path().join("publication.toml").is_file())
            .collect();
        assert!(!pubs.is_empty(), "{} has no publication", r.id);
        let counts = c.stats.resources.get(&r.id).copied().unwrap_or_default();
        assert!(
            counts.data >= 10,
            "{}: only {} data rows",
            r.id,
            counts.data
        );
    }
    assert_eq!(c.stats.resources.len(), 108);
}

#[test]
fn every_container_and_encoding_appears() {
    let c = corpus();
    let seen: std::collections::BTreeSet<String> = attachments(&c.truth)
        .iter()
        .map(|a| {
            format!(
                "{}/{}",
                a["format"].as_str().unwrap_or_default(),
                a["encoding"].as_str().unwrap_or_default()
            )
        })
        .collect();
    for want in [
        "csv/utf-8",
        "csv/utf-8-bom",
        "csv/gbk",
        "csv/gb18030",
        "html/gb2312",
        "html/utf-8",
        "xlsx/binary",
        "xls/binary",
        "json/utf-8",
    ] {
        assert!(seen.contains(want), "no {want} attachment: {seen:?}");
    }
}

#[test]
fn every_header_set_h1_to_h12_appears() {
    let c = corpus();
    for h in 1..=12 {
        let id = format!("H{h}");
        assert!(
            c.stats.layouts.get(&id).copied().unwrap_or_default() > 0,
            "{id} never used: {:?}",
            c.stats.layouts
        );
    }
    // The header texts are really in the files: the Shandong H6 header in a GBK CSV and the
    // Huzhou H7 header's line breaks are present verbatim in the truth-listed files.
    let h6 = attachments(&c.truth)
        .into_iter()
        .find(|a| a["layout"] == "H6")
        .expect("an H6 file");
    let bytes =
        std::fs::read(c.raw.join(h6["source_file"].as_str().unwrap_or_default())).expect("read");
    let (text, _, bad) = encoding_rs::GBK.decode(&bytes);
    assert!(!bad);
    assert!(
        text.contains(
            "序号,产品名称,生产企业,商标,规格型号,生产日期/批号,抽查结果,不合格项目,承检机构"
        ),
        "{}",
        &text[..200.min(text.len())]
    );
}

#[test]
fn html_pages_join_their_header_and_cells_with_spans() {
    let c = corpus();
    let pages: Vec<String> = attachments(&c.truth)
        .into_iter()
        .filter(|a| a["layout"] == "H12")
        .filter_map(|a| {
            let file = a["source_file"].as_str().unwrap_or_default().to_owned();
            file.ends_with(".html")
                .then(|| std::fs::read_to_string(c.raw.join(&file)).expect("a UTF-8 page"))
        })
        .collect();
    assert!(!pages.is_empty(), "no two-row HTML page");
    for page in &pages {
        // 产品信息 over four named columns, the other headers over both rows.
        assert!(page.contains("<td colspan=\"4\"><font>产品信息</font></td>"));
        assert!(page.contains("<td rowspan=\"2\"><font>序号</font></td>"));
        // The header ends in an empty cell past the last column.
        assert!(page.contains("<font>备注</font></td><td>&nbsp;</td></tr>"));
    }
    // Equal cells of rows below each other are merged somewhere in the data too.
    assert!(
        pages.iter().any(|p| p
            .split_once("<font>生产日期/批号</font>")
            .is_some_and(|(_, rows)| rows.contains("rowspan="))),
        "no data cell spans rows"
    );
}

#[test]
fn scale_is_the_number_of_spot_check_rows() {
    let c = corpus();
    let catalog = Catalog::builtin().expect("catalog");
    let rows = c.stats.spot_check_rows(&catalog) as f64;
    let scale = crate::shared::SCALE as f64;
    assert!(
        (0.8 * scale..1.2 * scale).contains(&rows),
        "{rows} spot-check rows for scale {scale}"
    );
}
