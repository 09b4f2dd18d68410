use crate::shared::{attachments, corpus};

#[test]
fn text_files_are_in_the_encoding_they_are_listed_with() {
    let c = corpus();
    let mut beyond_gbk = 0;
    let mut checked = 0;
    for a in attachments(&c.truth) {
        let path = c.raw.join(a["source_file"].as_str().unwrap_or_default());
        let bytes = std::fs::read(&path).expect("read attachment");
        let name = path.display();
        match a["encoding"].as_str().unwrap_or_default() {
            "utf-8" => {
                assert!(std::str::from_utf8(&bytes).is_ok(), "{name} is not UTF-8");
                assert!(!bytes.starts_with(b"\xEF\xBB\xBF"), "{name} has a BOM");
            }
            "utf-8-bom" => {
                assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "{name} lacks its BOM");
                assert!(
                    std::str::from_utf8(&bytes[3..]).is_ok(),
                    "{name} is not UTF-8"
                );
            }
            enc @ ("gbk" | "gb2312") => {
                assert!(
                    std::str::from_utf8(&bytes).is_err(),
                    "{name} ({enc}) is valid UTF-8: not really GBK"
                );
                let (text, _, bad) = encoding_rs::GBK.decode(&bytes);
                assert!(!bad, "{name} does not decode as GBK");
                // GBK proper: re-encoding gives the same bytes (no GB18030 four-byte forms).
                let (again, _, unmappable) = encoding_rs::GBK.encode(&text);
                assert!(
                    !unmappable && again.as_ref() == bytes.as_slice(),
                    "{name} holds characters outside GBK"
                );
                // An encoder that cannot map a character writes `&#NNN;`: none may be left.
                assert!(
                    !text.contains("&#"),
                    "{name} holds a numeric character reference"
                );
                assert!(
                    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                    "{name} decodes to Chinese"
                );
            }
            "gb18030" => {
                assert!(
                    std::str::from_utf8(&bytes).is_err(),
                    "{name} is valid UTF-8: not really GB18030"
                );
                let (text, _, bad) = encoding_rs::GB18030.decode(&bytes);
                assert!(!bad, "{name} does not decode as GB18030");
                if encoding_rs::GBK.encode(&text).2 {
                    beyond_gbk += 1;
                }
            }
            "binary" if a["format"] == "xls" => {
                assert!(
                    bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]),
                    "{name} is not a Compound File (XLS)"
                );
            }
            "binary" => {
                assert!(
                    bytes.starts_with(b"PK\x03\x04"),
                    "{name} is not a zip (XLSX) container"
                );
            }
            other => panic!("{name}: unknown encoding {other}"),
        }
        checked += 1;
    }
    assert!(checked > 500, "only {checked} attachments");
    assert!(
        beyond_gbk > 0,
        "no GB18030 file holds a character GBK cannot encode"
    );
}

#[test]
fn gb2312_pages_declare_their_charset() {
    let c = corpus();
    let page = attachments(&c.truth)
        .into_iter()
        .find(|a| a["encoding"] == "gb2312")
        .expect("a GB2312 page");
    let bytes =
        std::fs::read(c.raw.join(page["source_file"].as_str().unwrap_or_default())).expect("read");
    let head = String::from_utf8_lossy(&bytes[..200]);
    assert!(head.contains("charset=gb2312"), "{head}");
}
