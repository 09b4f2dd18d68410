//! The spot-check side of the corpus: national rounds (A1-02, A1-03, and the A1-04 summary
//! and A1-05 lists they imply) and local, special, e-commerce, re-check and metrology checks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};

use crate::error::Result;
use crate::others::{RawTable, table_attachment};
use crate::publication::{FileHint, Publication, write_publication};
use crate::rng::Rng;
use crate::sink::{Attachment, Counts, Encoding, Format};
use crate::spot::{Batch, Channel, Layout, Mess, PubMeta, Table, layouts, simulate};
use crate::text::Date;
use crate::vocab::{self, INSTRUMENTS, PROVINCES, Product, Province};
use crate::{Job, Output, Stats};

mod local;

pub use local::{local_publication, local_spec};

/// Largest number of rows in one attachment; more batches of a product go to more files.
const MAX_ROWS_PER_FILE: usize = 400;

/// National batches simulated per year for a given scale.
pub fn national_batches_per_year(scale: u64) -> usize {
    ((scale as f64 * 0.30 / (13.0 * 0.8)).round() as usize).max(40)
}

/// Rows budgeted to a local spot-check resource.
pub fn local_share(resource: &str) -> f64 {
    match resource {
        "A2-01" => 0.22,
        "A2-02" => 0.04,
        "A2-03" => 0.12,
        "A2-04" => 0.05,
        "A3-01" => 0.06,
        "A3-02" => 0.06,
        "A3-04" => 0.02,
        "C2-05" => 0.04,
        _ => 0.0,
    }
}

/// The jobs of the spot-check side.
pub fn jobs(scale: u64) -> Vec<Job> {
    let mut jobs: Vec<Job> = (2005..=2025).map(Job::National).collect();
    for resource in [
        "A2-01", "A2-02", "A2-03", "A2-04", "A3-01", "A3-02", "A3-04", "C2-05",
    ] {
        let spec = local_spec(resource);
        let rows = (scale as f64 * local_share(resource)) as usize;
        let pubs = (rows / spec.rows_per_pub).max(spec.layouts.len());
        for i in 0..pubs {
            jobs.push(Job::Local {
                resource,
                index: i,
                of: pubs,
            });
        }
    }
    jobs
}

fn products_for(year: i32) -> Vec<&'static Product> {
    vocab::PRODUCTS
        .iter()
        .filter(|p| {
            (p.category != "耐用消费品" || year >= 2021)
                && (p.name != "移动电源" || year >= 2012)
                && (p.name != "自镇流LED灯" || year >= 2010)
                && (p.name != "空气净化器" || year >= 2012)
                && (p.name != "电动晾衣架" || year >= 2015)
        })
        .collect()
}

/// Fail probability of each product so that the batch-weighted mean over `mix` is `target`.
fn calibrate(target: f64, mix: &[(&'static Product, usize)]) -> impl Fn(&Product) -> f64 + use<> {
    let size_mean: f64 = [0.06, 0.14, 0.80]
        .iter()
        .zip(vocab::SIZE_FAIL_MULT)
        .map(|(s, m)| s * m)
        .sum();
    let batches: usize = mix.iter().map(|(_, n)| n).sum::<usize>().max(1);
    let mean_mult = mix
        .iter()
        .map(|(p, n)| p.fail_mult * *n as f64)
        .sum::<f64>()
        / batches as f64;
    let k = target / (mean_mult * size_mean);
    move |p: &Product| k * p.fail_mult
}

fn era_agency(rng: &mut Rng, year: i32, product: &Product) -> String {
    if year >= 2018 && rng.chance(0.2) {
        (*rng.pick(vocab::COMMERCIAL_LABS)).to_owned()
    } else {
        product.agency.to_owned()
    }
}

fn national_authority(year: i32) -> &'static str {
    if year >= 2018 {
        "国家市场监督管理总局"
    } else {
        "国家质量监督检验检疫总局"
    }
}

/// A product's batches within a round.
struct ProductRound {
    product: &'static Product,
    batches: Vec<Batch>,
}

/// Pool of enterprises per product: about three appearances each over the corpus.
fn pool_size(scale: u64, products: usize) -> usize {
    ((scale as usize) / (products.max(1) * 3)).max(12)
}

/// One national year: A1-02 full lists (to 2017), A1-03 fail lists, the A1-04 summary and the
/// A1-05 list of refusals, suspected counterfeits and unlicensed producers.
pub fn national_year(out: &Output, year: i32) -> Result<Stats> {
    let seed = out.seed;
    let mut stats = Stats::default();
    let mut rng = Rng::new(seed, &["national", &year.to_string()]);
    let per_year = national_batches_per_year(out.scale);
    let target = vocab::national_fail_rate(year) / 100.0;
    let products = products_for(year);
    let pool = pool_size(out.scale, vocab::PRODUCTS.len());
    let avg_per_product = if year <= 2009 { 35 } else { 150 };
    let mut summary: BTreeMap<(u32, &'static str), Summary> = BTreeMap::new();
    let mut special: Vec<(String, Batch, &'static str)> = Vec::new();

    for q in 1..=4u32 {
        let round = if year <= 2017 {
            format!("第{q}季度")
        } else {
            format!("第{q}批")
        };
        // A round larger than a real one is published in parts, so no job ever holds more
        // than a few thousand batches: memory stays flat as the scale grows.
        let round_batches = per_year / 4;
        let parts = round_batches.div_ceil(MAX_BATCHES_PER_PART);
        for part in 0..parts {
            let part_batches = round_batches / parts;
            let suffix = if parts == 1 {
                String::new()
            } else {
                format!("-{}", part + 1)
            };
            let n_products = (part_batches / avg_per_product).clamp(1, products.len());
            let mut chosen: Vec<&'static Product> = Vec::new();
            while chosen.len() < n_products {
                let p = *rng.pick(&products);
                if !chosen.iter().any(|c| c.name == p.name) {
                    chosen.push(p);
                }
            }
            // Before 2018 most products are published in full (A1-02), the rest only as fail
            // lists (A1-03); from 2018 all national lists are fail-only.
            let full: Vec<bool> = chosen
                .iter()
                .map(|_| year <= 2017 && rng.chance(0.8))
                .collect();
            let sizes: Vec<usize> = chosen
                .iter()
                .map(|_| {
                    ((part_batches / n_products) as f64 * (0.7 + 0.6 * rng.f64())) as usize + 1
                })
                .collect();
            let announced = Date {
                y: if q == 4 { year + 1 } else { year },
                m: if q == 4 { 1 } else { q * 3 + 1 },
                d: rng.range(5, 28) as u32,
            };
            let mut rounds: Vec<(ProductRound, bool)> = Vec::new();
            for is_full in [true, false] {
                let mix: Vec<(&'static Product, usize)> = chosen
                    .iter()
                    .zip(&sizes)
                    .zip(&full)
                    .filter(|(_, f)| **f == is_full)
                    .map(|((p, n), _)| (*p, *n))
                    .collect();
                let p_fail = calibrate(target, &mix);
                for (product, n) in mix {
                    let mut batches = Vec::with_capacity(n);
                    for _ in 0..n {
                        let channel = if year >= 2018 && rng.chance(0.43) {
                            Channel::Distribution
                        } else {
                            Channel::Production
                        };
                        let agency = era_agency(&mut rng, year, product);
                        batches.push(simulate(
                            &mut rng,
                            seed,
                            product,
                            pool,
                            None,
                            announced,
                            p_fail(product),
                            channel,
                            &agency,
                        ));
                    }
                    rounds.push((ProductRound { product, batches }, is_full));
                }
            }
            let no = format!("{year}年第{}号", rng.range(10, 150));
            let meta_for =
                |resource: &str, pub_id: String, title: String, scope: &'static str| PubMeta {
                    resource_id: resource.to_owned(),
                    publication_id: pub_id,
                    check_level: "national",
                    authority: national_authority(year).to_owned(),
                    announcement_no: Some(no.clone()),
                    announced_on: announced,
                    plan_year: year,
                    round: Some(round.clone()),
                    campaign: None,
                    title,
                    scope,
                };
            if year <= 2017 {
                let meta = meta_for(
                    "A1-02",
                    format!("{year}Q{q}{suffix}"),
                    format!("质检总局关于公布{year}年{round}产品质量国家监督抽查结果的公告"),
                    "full",
                );
                let full_rounds: Vec<&ProductRound> =
                    rounds.iter().filter(|(_, f)| *f).map(|(r, _)| r).collect();
                stats.add(write_a102(out, &meta, &full_rounds, &mut rng)?);
            }
            let fail_scope_title = if year <= 2017 {
                format!("{year}年{round}国家监督抽查不合格产品")
            } else {
                format!(
                    "市场监管总局关于{year}年{round}等{}种产品质量国家监督抽查情况的通报",
                    rounds.len()
                )
            };
            let meta = meta_for(
                "A1-03",
                format!("{year}-{}{q}{suffix}", if year <= 2017 { "Q" } else { "B" }),
                fail_scope_title,
                "fail_only",
            );
            let fail_rounds: Vec<&ProductRound> =
                rounds.iter().filter(|(_, f)| !*f).map(|(r, _)| r).collect();
            if !fail_rounds.is_empty() {
                stats.add(write_a103(out, &meta, &fail_rounds, &mut rng)?);
            }
            for (r, _) in rounds {
                for b in &r.batches {
                    if b.counterfeit {
                        special.push((no.clone(), b.clone(), "涉嫌假冒"));
                    } else if matches!(b.remark, Some((_, "unlicensed"))) {
                        special.push((no.clone(), b.clone(), "无证生产"));
                    }
                }
                if rng.chance(0.3) {
                    let end_of_year = Date {
                        y: year,
                        m: 12,
                        d: 31,
                    };
                    let refused = simulate(
                        &mut rng,
                        seed,
                        r.product,
                        pool,
                        None,
                        end_of_year,
                        0.0,
                        Channel::Production,
                        r.product.agency,
                    );
                    special.push((no.clone(), refused, "拒检"));
                }
                let s = summary
                    .entry((q, r.product.name))
                    .or_insert_with(|| Summary::new(round.clone(), r.product));
                for b in &r.batches {
                    s.add(b);
                }
            }
        }
    }
    stats.add(write_a104(out, year, &summary, &mut rng)?);
    stats.add(write_a105(out, year, &special, &mut rng)?);
    Ok(stats)
}

/// Batches of a national round above which it is published in parts.
const MAX_BATCHES_PER_PART: usize = 6_000;

/// What A1-04 reports of one product in one round, accumulated batch by batch.
struct Summary {
    round: String,
    product: &'static Product,
    batches: usize,
    fails: usize,
    enterprises: BTreeSet<String>,
    provinces: BTreeSet<&'static str>,
    by_size: [(usize, usize); 3],
}

impl Summary {
    fn new(round: String, product: &'static Product) -> Self {
        Self {
            round,
            product,
            batches: 0,
            fails: 0,
            enterprises: BTreeSet::new(),
            provinces: BTreeSet::new(),
            by_size: [(0, 0); 3],
        }
    }

    fn add(&mut self, b: &Batch) {
        self.batches += 1;
        self.fails += usize::from(b.fail);
        self.enterprises.insert(b.enterprise.name.clone());
        self.provinces.insert(b.enterprise.province.code);
        let s = &mut self.by_size[b.enterprise.size];
        s.0 += 1;
        s.1 += usize::from(!b.fail);
    }
}

fn chunks(batches: &[Batch]) -> impl Iterator<Item = (usize, &[Batch])> {
    batches.chunks(MAX_ROWS_PER_FILE).enumerate()
}

fn file_name(base: &str, part: usize, ext: &str) -> String {
    if part == 0 {
        format!("{base}.{ext}")
    } else {
        format!("{base}-{}.{ext}", part + 1)
    }
}

/// A1-02: one table per product, as GB2312 HTML pages, XLSX with title rows, or GBK CSV.
fn write_a102(
    out: &Output,
    meta: &PubMeta,
    rounds: &[&ProductRound],
    rng: &mut Rng,
) -> Result<Stats> {
    let style = (meta.plan_year as usize + meta.round.as_deref().map_or(0, str::len)) % 3;
    let mut atts = Vec::new();
    let mut hints = Vec::new();
    for r in rounds {
        for (part, batches) in chunks(&r.batches) {
            let (format, name_in_pub) = match style {
                0 => (
                    Format::Html {
                        encoding: Encoding::Gb2312,
                    },
                    true,
                ),
                1 if meta.plan_year < 2010 => (Format::Xls, rng.chance(0.5)),
                1 => (Format::Xlsx, rng.chance(0.5)),
                _ => (
                    Format::Csv {
                        encoding: Encoding::Gbk,
                        crlf: true,
                    },
                    false,
                ),
            };
            let file = file_name(r.product.name, part, format.ext());
            let mut t = Table::new(layouts("H1"), meta, "full", "Sheet1");
            t.gbk = format.is_gbk_family();
            t.spreadsheet = matches!(format, Format::Xlsx | Format::Xls);
            t.html = matches!(format, Format::Html { .. });
            if name_in_pub {
                t.file_product = Some(r.product.name);
                hints.push(FileHint {
                    file: file.clone(),
                    product: Some(r.product.name),
                    scope: None,
                });
            }
            let title = format!(
                "{}年{}{}产品质量国家监督抽查结果",
                meta.plan_year,
                meta.round.as_deref().unwrap_or_default(),
                r.product.name
            );
            match format {
                Format::Xlsx | Format::Xls => {
                    if rng.chance(0.5) {
                        t.span("附件", "title");
                    }
                    t.span(title.clone(), "title");
                }
                Format::Html { .. } => t.span(title.clone(), "title"),
                _ => {}
            }
            t.header();
            fill(&mut t, rng, batches, |_| true);
            if matches!(format, Format::Html { .. }) {
                t.span("注：抽查结果仅对所抽样品负责。", "footnote");
            }
            atts.push(Attachment {
                file,
                format,
                title,
                layout: t.layout.id,
                sheets: vec![t.sheet],
            });
        }
    }
    publish(out, meta, atts, hints, Some("gbk"))
}

/// Pushes batches (those `keep` accepts) with their messiness, repeating the header now and
/// then in long tables and dropping in a blank row.
fn fill(t: &mut Table<'_>, rng: &mut Rng, batches: &[Batch], keep: impl Fn(&Batch) -> bool) {
    let repeat_header = rng.chance(0.3);
    for (n, b) in batches.iter().filter(|b| keep(b)).enumerate() {
        if repeat_header && n > 0 && n % 150 == 0 {
            t.header();
        }
        if rng.chance(0.003) {
            t.blank();
        }
        let mess = Mess::draw(rng, t);
        t.push(rng, b, mess);
    }
}

/// A1-03: fail-only lists — GB2312 HTML pages with the product only in the title (to 2017),
/// then SAMR workbooks with `附件1` and a title above the header on row 3 (H3, H4, H5).
fn write_a103(
    out: &Output,
    meta: &PubMeta,
    rounds: &[&ProductRound],
    rng: &mut Rng,
) -> Result<Stats> {
    let year = meta.plan_year;
    let mut atts = Vec::new();
    let mut hints = Vec::new();
    if year <= 2017 {
        for r in rounds {
            let fails: Vec<Batch> = r.batches.iter().filter(|b| b.fail).cloned().collect();
            for (part, batches) in chunks(&fails) {
                let format = Format::Html {
                    encoding: Encoding::Gb2312,
                };
                let file = file_name(r.product.name, part, "html");
                let title = format!(
                    "{}年{}第{}批{}产品质量国家监督抽查不合格产品及企业名单",
                    year,
                    meta.round.as_deref().unwrap_or_default(),
                    part + 1,
                    r.product.name
                );
                let mut t = Table::new(layouts("H2"), meta, "fail_only", "1");
                t.gbk = true;
                t.html = true;
                t.file_product = Some(r.product.name);
                hints.push(FileHint {
                    file: file.clone(),
                    product: Some(r.product.name),
                    scope: Some("fail_only"),
                });
                t.header();
                fill(&mut t, rng, batches, |_| true);
                t.span("注：抽查结果仅对所抽样品负责。", "footnote");
                atts.push(Attachment {
                    file,
                    format,
                    title,
                    layout: t.layout.id,
                    sheets: vec![t.sheet],
                });
            }
        }
    } else {
        let layout = match year {
            ..=2023 => "H3",
            2024 => "H4",
            _ => "H5",
        };
        let fails: Vec<Batch> = rounds
            .iter()
            .flat_map(|r| r.batches.iter().filter(|b| b.fail).cloned())
            .collect();
        let names: Vec<&str> = rounds.iter().map(|r| r.product.name).collect();
        for (part, batches) in chunks(&fails) {
            let mut t = Table::new(layouts(layout), meta, "fail_only", "Sheet1");
            t.spreadsheet = true;
            t.star_items = true;
            t.span(
                if part == 0 {
                    "附件1".to_owned()
                } else {
                    format!("附件1（续{part}）")
                },
                "title",
            );
            t.span(
                format!(
                    "{year}年{}等{}种产品质量国家监督抽查不合格产品及企业名单",
                    names.first().copied().unwrap_or_default(),
                    names.len()
                ),
                "title",
            );
            t.header();
            fill(&mut t, rng, batches, |_| true);
            let file = file_name("附件1", part, "xlsx");
            atts.push(Attachment {
                file,
                format: Format::Xlsx,
                title: meta.title.clone(),
                layout: t.layout.id,
                sheets: vec![t.sheet],
            });
        }
    }
    publish(out, meta, atts, hints, None)
}

/// A1-04: per product and round, batches, fails and pass rates, from all simulated batches
/// (including the passes that fail-only lists do not print).
fn write_a104(
    out: &Output,
    year: i32,
    summary: &BTreeMap<(u32, &'static str), Summary>,
    rng: &mut Rng,
) -> Result<Stats> {
    let headers = [
        "年度",
        "季度",
        "大类",
        "产品名称",
        "企业数",
        "批次",
        "不合格批次",
        "合格率",
        "省份数",
        "检验项目数",
        "大型企业合格率",
        "中型企业合格率",
        "小型企业合格率",
    ];
    let fields = [
        "year",
        "round",
        "product_category",
        "product",
        "enterprises",
        "batches",
        "failed_batches",
        "pass_rate",
        "provinces",
        "test_items",
        "pass_rate_large",
        "pass_rate_medium",
        "pass_rate_small",
    ];
    let mut table = RawTable::new(&headers, &fields);
    for s in summary.values() {
        let rate = |size: usize| {
            let (n, pass) = s.by_size[size];
            (n > 0).then(|| round1(100.0 * pass as f64 / n as f64))
        };
        let pass = round1(100.0 * (s.batches - s.fails) as f64 / s.batches.max(1) as f64);
        let items = s.product.items.len() as i64 + 6;
        let values: Vec<Value> = vec![
            json!(year),
            json!(s.round),
            json!(s.product.category),
            json!(s.product.name),
            json!(s.enterprises.len()),
            json!(s.batches),
            json!(s.fails),
            json!(pass),
            json!(s.provinces.len()),
            json!(items),
            json!(rate(0)),
            json!(rate(1)),
            json!(rate(2)),
        ];
        table.push_values(rng, values, |f, v| match f {
            "pass_rate" | "pass_rate_large" | "pass_rate_medium" | "pass_rate_small" => {
                v.as_f64().map(|x| format!("{x:.1}%"))
            }
            _ => None,
        });
    }
    let meta = simple_meta(
        "A1-04",
        &year.to_string(),
        national_authority(year),
        year,
        format!("{year}年产品质量国家监督抽查情况（分产品）"),
    );
    let att = table_attachment(
        table,
        &format!("{year}年国家监督抽查产品质量状况.xlsx"),
        Format::Xlsx,
        &meta.title,
        true,
    );
    publish(out, &meta, vec![att], Vec::new(), None)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A1-05: refusals, suspected counterfeits and unlicensed producers of the year's rounds.
fn write_a105(
    out: &Output,
    year: i32,
    special: &[(String, Batch, &'static str)],
    rng: &mut Rng,
) -> Result<Stats> {
    let headers = [
        "序号",
        "企业名称",
        "所在地",
        "产品",
        "情形",
        "通报文号",
        "日期",
    ];
    let fields = [
        "",
        "enterprise",
        "province",
        "product",
        "situation",
        "announcement_no",
        "announced_on",
    ];
    let mut table = RawTable::new(&headers, &fields);
    for (i, (no, b, situation)) in special.iter().enumerate() {
        let code = match *situation {
            "拒检" => "refused",
            "涉嫌假冒" => "counterfeit_suspected",
            "否认生产" => "producer_denied",
            _ => "unlicensed",
        };
        let date = Date {
            y: year,
            m: rng.range(1, 12) as u32,
            d: rng.range(1, 28) as u32,
        };
        let values = vec![
            json!(i + 1),
            json!(b.enterprise.name_gbk),
            json!(b.enterprise.province.full),
            json!(b.product.name),
            json!(code),
            json!(no),
            json!(date.iso()),
        ];
        table.push_values(rng, values, |f, v| match f {
            "situation" => Some((*situation).to_owned()),
            "province" => v.as_str().map(|s| short_of(s).to_owned()),
            _ => None,
        });
    }
    let meta = simple_meta(
        "A1-05",
        &year.to_string(),
        national_authority(year),
        year,
        format!("{year}年国家监督抽查拒检、涉嫌假冒及无证企业名单"),
    );
    let att = table_attachment(
        table,
        "名单.csv",
        Format::Csv {
            encoding: Encoding::Gbk,
            crlf: true,
        },
        &meta.title,
        false,
    );
    publish(out, &meta, vec![att], Vec::new(), Some("gbk"))
}

fn short_of(full: &str) -> &'static str {
    PROVINCES
        .iter()
        .find(|p| p.full == full)
        .map_or("", |p| p.short)
}

/// Metadata of a publication of a non-spot-check resource.
pub fn simple_meta(
    resource: &str,
    pub_id: &str,
    authority: &str,
    year: i32,
    title: String,
) -> PubMeta {
    PubMeta {
        resource_id: resource.to_owned(),
        publication_id: pub_id.to_owned(),
        check_level: "",
        authority: authority.to_owned(),
        announcement_no: None,
        announced_on: Date {
            y: year + i32::from(year < 2025),
            m: 3,
            d: 15,
        },
        plan_year: year,
        round: None,
        campaign: None,
        title,
        scope: "full",
    }
}

/// Writes a publication's directory: `publication.toml`, attachments and truth.
pub fn publish(
    out: &Output,
    meta: &PubMeta,
    atts: Vec<Attachment>,
    hints: Vec<FileHint>,
    encoding_hint: Option<&str>,
) -> Result<Stats> {
    let rel = Path::new(&meta.resource_id).join(&meta.publication_id);
    let dir = out.raw.join(&rel);
    let truth_dir = out.truth.as_ref().map(|t| t.join(&rel));
    std::fs::create_dir_all(&dir).map_err(|source| crate::error::SynthError::Write {
        path: dir.clone(),
        source,
    })?;
    if let Some(t) = &truth_dir {
        std::fs::create_dir_all(t).map_err(|source| crate::error::SynthError::Write {
            path: t.clone(),
            source,
        })?;
    }
    let publication = Publication {
        meta,
        hints: &hints,
        encoding_hint,
    };
    write_publication(&dir, &publication)?;
    let mut stats = Stats::default();
    let mut listing = Vec::new();
    for att in &atts {
        let source_file = format!("{}/{}/{}", meta.resource_id, meta.publication_id, att.file);
        let counts: Counts = crate::sink::write(att, &dir, &source_file, truth_dir.as_deref())?;
        stats.record(&meta.resource_id, att, counts);
        listing.push(json!({
            "source_file": source_file,
            "format": att.format.ext(),
            "encoding": att.format.encoding_label(),
            "layout": (!att.layout.is_empty()).then_some(att.layout),
            "rows": { "data": counts.data, "reject": counts.reject, "non_data": counts.non_data },
        }));
    }
    if let Some(t) = &truth_dir {
        let path = t.join("attachments.json");
        let bytes = serde_json::to_vec_pretty(&listing).unwrap_or_default();
        std::fs::write(&path, bytes)
            .map_err(|source| crate::error::SynthError::Write { path, source })?;
    }
    stats.publications += 1;
    Ok(stats)
}
