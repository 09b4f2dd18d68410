use std::path::Path;

use zhijian_catalog::Catalog;
use zhijian_ingest::pipeline::ingest;

const HEADER: &str =
    "序号,企业名称,所在地,产品名称,商标,规格型号,生产日期/批号,抽查结果,主要不合格项目,承检机构";

fn good_row(n: usize) -> String {
    format!(
        "{n},温州市恒达电器有限公司,浙江,电热水壶,恒达,HD-1718 1800W,2015.6.12,合格,/,国家日用电器质量监督检验中心"
    )
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) {
    std::fs::write(dir.join(name), bytes).expect("write fixture");
}

#[test]
fn malformed_files_are_survived_and_every_row_is_accounted_for() {
    let root = tempfile::tempdir().expect("tempdir");
    let publication = root.path().join("A1-02").join("2015Q3");
    std::fs::create_dir_all(&publication).expect("mkdir");
    write(
        &publication,
        "publication.toml",
        "title = \"测试\"\nauthority = \"国家质量监督检验检疫总局\"\npublished = 2015-10-20\ncheck_level = \"national\"\nplan_year = 2015\nscope = \"full\"\n",
    );
    write(
        &publication,
        "good.csv",
        format!("{HEADER}\n{}\n{}\n", good_row(1), good_row(2)),
    );
    // A short row (lost cells) and a long row (extra cells).
    write(
        &publication,
        "ragged.csv",
        format!(
            "{HEADER}\n1,温州市恒达电器有限公司,浙江\n{},extra,cells\n",
            good_row(2)
        ),
    );
    // An opening quote that never closes swallows the rest of the file into one cell.
    write(
        &publication,
        "unterminated.csv",
        format!(
            "{HEADER}\n{}\n3,\"温州市恒达电器有限公司,浙江,电热水壶\n{}\n",
            good_row(1),
            good_row(4)
        ),
    );
    write(
        &publication,
        "nul.csv",
        format!(
            "{HEADER}\n{}\n",
            good_row(1).replace("恒达电器", "恒达\0电器")
        ),
    );
    write(
        &publication,
        "mixed.csv",
        format!(
            "{HEADER}\r\n{}\n{}\r{}\r\n",
            good_row(1),
            good_row(2),
            good_row(3)
        ),
    );
    write(
        &publication,
        "bigcell.csv",
        format!(
            "{HEADER}\n{}\n",
            good_row(1).replace("HD-1718 1800W", &"X".repeat(10 * 1024 * 1024))
        ),
    );
    let wide_header: Vec<String> = HEADER
        .split(',')
        .map(str::to_owned)
        .chain((0..3000).map(|i| format!("列{i}")))
        .collect();
    let wide_row: Vec<String> = good_row(1)
        .split(',')
        .map(str::to_owned)
        .chain((0..3000).map(|i| i.to_string()))
        .collect();
    write(
        &publication,
        "wide.csv",
        format!("{}\n{}\n", wide_header.join(","), wide_row.join(",")),
    );
    write(
        &publication,
        "dupheaders.csv",
        format!("{HEADER},,企业名称\n{},,重复列\n", good_row(1)),
    );
    write(
        &publication,
        "dates.csv",
        format!(
            "{HEADER}\n{}\n{}\n{}\n",
            good_row(1).replace("2015.6.12", "2024-02-30"),
            good_row(2).replace("2015.6.12", "0000-00-00"),
            good_row(3).replace("2015.6.12", "1e309")
        ),
    );
    write(
        &publication,
        "garbage.csv",
        [0x81u8, 0xFF, 0x30, 0xFF, 0x00, 0xFE].repeat(50),
    );
    write(&publication, "scan.pdf", b"%PDF-1.4 not a table");
    write(&publication, "noheader.csv", "这不是表格\n只是文字\n");

    let catalog = Catalog::builtin().expect("catalog");
    let result = ingest(root.path(), &catalog, &[], &|_, _| {});
    let r = &result.resources["A1-02"];
    let a = &r.accounting;
    assert_eq!(
        a.rows_in,
        a.published + a.rejected_total() + a.non_data_total(),
        "{a:?}"
    );
    let unreadable: Vec<&str> = r.errors.iter().map(|e| e.source_file.as_str()).collect();
    assert!(
        unreadable.contains(&"A1-02/2015Q3/garbage.csv"),
        "{:?}",
        r.errors
    );
    assert!(
        unreadable.contains(&"A1-02/2015Q3/scan.pdf"),
        "{:?}",
        r.errors
    );
    assert!(r.errors.iter().all(|e| !e.error.is_empty()));
    let rows = r.rows();
    let published_from = |file: &str| {
        rows.iter()
            .filter(|row| row["source_file"] == format!("A1-02/2015Q3/{file}"))
            .count()
    };
    assert_eq!(published_from("good.csv"), 2);
    assert_eq!(
        published_from("mixed.csv"),
        3,
        "mixed line ends are three rows"
    );
    assert_eq!(published_from("nul.csv"), 1);
    assert_eq!(published_from("bigcell.csv"), 1);
    assert_eq!(published_from("wide.csv"), 1);
    assert_eq!(published_from("dupheaders.csv"), 1);
    assert_eq!(
        published_from("dates.csv"),
        3,
        "impossible dates keep the row, without a date"
    );
    assert!(
        rows.iter()
            .filter(|row| row["source_file"] == "A1-02/2015Q3/dates.csv")
            .all(|row| row["production_date"].is_null())
    );
    let rejected_in = |file: &str| {
        r.rejects
            .iter()
            .filter(|x| x.source_file == format!("A1-02/2015Q3/{file}"))
            .count()
    };
    assert_eq!(
        rejected_in("ragged.csv"),
        1,
        "the short row is rejected: {:?}",
        r.rejects
    );
    assert_eq!(
        rejected_in("noheader.csv"),
        2,
        "rows of a table without a header are reported"
    );
    assert!(
        r.rejects
            .iter()
            .all(|x| !x.reason.is_empty() && !x.field.is_empty())
    );
}

#[test]
fn combined_headers_split_into_items_and_their_values() {
    let root = tempfile::tempdir().expect("tempdir");
    let publication = root.path().join("A1-02").join("2019Q1");
    std::fs::create_dir_all(&publication).expect("mkdir");
    write(
        &publication,
        "publication.toml",
        "title = \"测试\"\nauthority = \"国家市场监督管理总局\"\npublished = 2019-03-20\ncheck_level = \"national\"\nplan_year = 2019\nscope = \"fail_only\"\n",
    );
    write(
        &publication,
        "combined.csv",
        "序号,标称生产企业名称,产品名称,商标,规格型号,不合格项目║检验结果║标准值,检验机构\n\
         1,宁波市美佳电器有限公司,电热水壶,美佳,MJ-15,\"泄漏电流║0.92mA║≤0.75mA\n标志和说明║不符合║符合GB 4706.1\",浙江省检验院\n\
         2,佛山市顺德区华辉电器有限公司,电风扇,华辉,FS-40,输入功率‖52W‖≤48W,广东省检验院\n",
    );
    let catalog = Catalog::builtin().expect("catalog");
    let result = ingest(root.path(), &catalog, &[], &|_, _| {});
    let r = &result.resources["A1-02"];
    assert_eq!(r.accounting.published, 2, "{:?}", r.rejects);
    let rows = r.rows();
    let first = &rows[0];
    assert_eq!(
        first["failed_items"],
        serde_json::json!(["泄漏电流", "标志和说明"])
    );
    let remarks = first["remarks"].as_str().expect("values kept in remarks");
    assert!(
        remarks.contains("泄漏电流：检验结果 0.92mA，标准值 ≤0.75mA"),
        "{remarks}"
    );
    assert!(remarks.contains("标志和说明：检验结果 不符合"), "{remarks}");
    assert_eq!(rows[1]["failed_items"], serde_json::json!(["输入功率"]));
}

#[test]
fn a_key_listed_again_later_replaces_the_earlier_row_which_is_rejected() {
    // The same CCC certificate in two publications (its status changed) and twice within the
    // second: the last listing is the register's entry, the earlier ones are rejected with
    // the key and the row that replaced them.
    let root = tempfile::tempdir().expect("tempdir");
    let header = "证书编号,申请人,产品名称,发证日期,证书状态";
    for (publication, body) in [
        (
            "2019-0000",
            "2019010701000001,宁波市美佳电器有限公司,电热水壶,2019-03-01,有效\n\
             2019010701000002,佛山市华辉电器有限公司,电风扇,2019-04-01,有效\n",
        ),
        (
            "2020-0001",
            "2019010701000001,宁波市美佳电器有限公司,电热水壶,2019-03-01,暂停\n\
             2019010701000003,温州市恒达电器有限公司,电饭锅,2020-01-01,有效\n\
             2019010701000003,温州市恒达电器有限公司,电饭锅,2020-01-01,撤销\n",
        ),
    ] {
        let dir = root.path().join("E1-01").join(publication);
        std::fs::create_dir_all(&dir).expect("mkdir");
        write(
            &dir,
            "publication.toml",
            "title = \"CCC证书\"\nauthority = \"国家认证认可监督管理委员会\"\npublished = 2020-03-15\n",
        );
        write(&dir, "certificates.csv", format!("{header}\n{body}"));
    }
    let catalog = Catalog::builtin().expect("catalog");
    let result = ingest(root.path(), &catalog, &[], &|_, _| {});
    let r = &result.resources["E1-01"];
    assert_eq!(r.accounting.rows_in, 7, "five data rows and two headers");
    assert_eq!(r.accounting.published, 3, "{:?}", r.rejects);
    assert_eq!(r.accounting.rejected.get("duplicate_key"), Some(&2));
    let mut rejected: Vec<(String, u32, String)> = r
        .rejects
        .iter()
        .map(|x| (x.source_file.clone(), x.source_row, x.value.clone()))
        .collect();
    rejected.sort();
    assert_eq!(
        rejected,
        vec![
            (
                "E1-01/2019-0000/certificates.csv".to_owned(),
                2,
                "2019010701000001 (kept: E1-01/2020-0001/certificates.csv row 2)".to_owned()
            ),
            (
                "E1-01/2020-0001/certificates.csv".to_owned(),
                3,
                "2019010701000003 (kept: E1-01/2020-0001/certificates.csv row 4)".to_owned()
            ),
        ]
    );
    assert!(r.rejects.iter().all(|x| x.field == "certificate_no"));
    let rows = r.rows();
    let status: Vec<(&str, &str)> = rows
        .iter()
        .map(|m| {
            (
                m["certificate_no"].as_str().unwrap_or_default(),
                m["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        status,
        vec![
            ("2019010701000002", "有效"),
            ("2019010701000001", "暂停"),
            ("2019010701000003", "撤销"),
        ]
    );
}
