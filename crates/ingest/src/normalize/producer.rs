//! The producer cell of a spot check: who the producer is, and what else the cell says.

/// A producer cell taken apart: the producer, and what else the cell said, kept as notes.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Producer {
    /// The brand owner who commissioned the product, or the maker named alone.
    pub(super) name: String,
    /// `委托B生产`, `受托方：B`, `否认该产品为其生产`: moved to remarks, never lost.
    pub(super) notes: Vec<String>,
}

/// Labels of the commissioning party and of the commissioned maker.
const COMMISSIONING: [&str; 2] = ["委托方", "委托单位"];
const COMMISSIONED: [&str; 4] = ["受托方", "被委托方", "受委托方", "受托单位"];

/// A labelled name in `text` (`委托方：A`), up to the next separator or label.
fn labelled<'t>(text: &'t str, labels: &[&str]) -> Option<(&'t str, usize, usize)> {
    let (label_at, label) = labels
        .iter()
        .filter_map(|l| text.find(l).map(|i| (i, *l)))
        // `被委托方` holds `委托方`: the label must not be the tail of a longer one.
        .filter(|(i, _)| !text[..*i].ends_with('被') && !text[..*i].ends_with('受'))
        .min_by_key(|(i, _)| *i)?;
    let rest = &text[label_at + label.len()..];
    let rest = rest.trim_start_matches([':', '：', ' ']);
    let start = text.len() - rest.len();
    let end = rest
        .char_indices()
        .find(|(i, c)| {
            matches!(c, '；' | ';' | '，' | ',' | '\n')
                || COMMISSIONED
                    .iter()
                    .chain(COMMISSIONING.iter())
                    .any(|l| rest[*i..].starts_with(l))
        })
        .map(|(i, _)| i)
        .unwrap_or(rest.len());
    Some((rest[..end].trim(), label_at, start + end))
}

/// Where the bracket group that closes `text` opens (`A（委托B（天津）有限公司）` → the first
/// `（`), with nested groups matched.
fn matching_open(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices().rev() {
        match c {
            '）' => depth += 1,
            '（' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Takes a producer cell apart (brackets already full-width): `委托方：A；受托方：B`,
/// `A（委托B生产）`, `A（受托方：B）` give the commissioning brand owner A, with B kept as a
/// note; a denial (`（否认该产品为其生产）` and its variants) is cut from the name and kept
/// as a note, which flags the row `producer_denied`.
pub(super) fn split_producer(cell: &str) -> Producer {
    let mut notes = Vec::new();
    let mut name = cell.trim().to_owned();
    // Labelled parties.
    if let Some((owner, _, _)) = labelled(&name, &COMMISSIONING).filter(|(o, _, _)| !o.is_empty()) {
        let owner = owner.to_owned();
        if let Some((maker, at, _)) = labelled(&name, &COMMISSIONED) {
            let label = COMMISSIONED
                .iter()
                .find(|l| name[at..].starts_with(*l))
                .copied()
                .unwrap_or("受托方");
            if !maker.is_empty() {
                notes.push(format!("{label}：{maker}"));
            }
        }
        name = owner;
    }
    // Trailing bracketed notes, innermost last: `A（受托方：B）（否认…）`.
    while name.ends_with('）') {
        let Some(open) = matching_open(&name) else {
            break;
        };
        let inner = name[open + '（'.len_utf8()..name.len() - '）'.len_utf8()].trim();
        let is_note = inner.contains("否认")
            || inner.starts_with("委托")
            || COMMISSIONED.iter().any(|l| inner.starts_with(l))
            || inner.starts_with("受托");
        if !is_note || open == 0 {
            break;
        }
        let note = inner.to_owned();
        name = name[..open].trim().to_owned();
        notes.insert(0, note);
    }
    // A denial written without brackets after the name: `A 否认该产品为其生产`.
    if let Some(at) = name.find("否认").filter(|&at| at > 0) {
        let note = name[at..].trim().to_owned();
        name = name[..at]
            .trim_end_matches([' ', '，', ',', '；', ';'])
            .trim()
            .to_owned();
        notes.push(note);
    }
    Producer { name, notes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn producer_cells_name_the_commissioning_brand_owner_and_keep_the_rest() {
        let p = |cell: &str| split_producer(&cell.replace('(', "（").replace(')', "）"));
        let case = |name: &str, notes: &[&str]| Producer {
            name: name.to_owned(),
            notes: notes.iter().map(|n| (*n).to_owned()).collect(),
        };
        assert_eq!(
            p("委托方：甲电器有限公司；受托方：乙制造有限公司"),
            case("甲电器有限公司", &["受托方：乙制造有限公司"])
        );
        assert_eq!(
            p("委托方:甲电器有限公司 被委托方:乙制造有限公司"),
            case("甲电器有限公司", &["被委托方：乙制造有限公司"])
        );
        assert_eq!(
            p("甲电器有限公司（委托乙制造有限公司生产）"),
            case("甲电器有限公司", &["委托乙制造有限公司生产"])
        );
        assert_eq!(
            p("甲电器有限公司(受托方：乙制造有限公司)"),
            case("甲电器有限公司", &["受托方：乙制造有限公司"])
        );
        assert_eq!(
            p("甲电器有限公司（委托乙仪表（天津）有限公司）"),
            case("甲电器有限公司", &["委托乙仪表（天津）有限公司"])
        );
        assert_eq!(
            p("委托方：甲（上海）电器有限公司；受托方：乙仪表（台州）有限公司"),
            case(
                "甲（上海）电器有限公司",
                &["受托方：乙仪表（台州）有限公司"]
            )
        );
        assert_eq!(
            p("甲电器有限公司（否认该产品为其生产）"),
            case("甲电器有限公司", &["否认该产品为其生产"])
        );
        assert_eq!(
            p("甲电器有限公司(标称生产企业否认生产)"),
            case("甲电器有限公司", &["标称生产企业否认生产"])
        );
        assert_eq!(
            p("甲电器有限公司（上海）"),
            case("甲电器有限公司（上海）", &[]),
            "a place in brackets is part of the name"
        );
    }

    #[test]
    fn the_commissioned_maker_note_stays_as_it_was() {
        assert_eq!(
            split_producer("甲有限公司（委托乙有限公司）"),
            Producer {
                name: "甲有限公司".to_owned(),
                notes: vec!["委托乙有限公司".to_owned()]
            }
        );
    }
}
