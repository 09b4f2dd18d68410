//! The local (provincial and municipal) spot-check publications: each resource's format,
//! layout and messiness, and the publications written from a province's batches.

use super::*;

/// How a local spot-check resource publishes.
pub struct LocalSpec {
    /// Check level in `publication.toml`.
    pub level: &'static str,
    /// Years covered.
    pub years: (i32, i32),
    /// Layouts and formats used in turn.
    pub layouts: &'static [(&'static str, LocalFormat)],
    /// Rows per publication on average.
    pub rows_per_pub: usize,
    /// Fail rate relative to the national one.
    pub fail_factor: f64,
    /// Where samples come from.
    pub channel: Channel,
}

/// Container and encoding of a local layout.
#[derive(Debug, Clone, Copy)]
pub enum LocalFormat {
    /// CSV in an encoding.
    Csv(Encoding),
    /// XLSX.
    Xlsx,
    /// Legacy XLS (BIFF8).
    Xls,
    /// XLSX with product section rows.
    XlsxSections,
    /// HTML with a two-row header and a ragged row.
    HtmlTwoRow,
    /// Separate pass and fail CSV files (Shanghai).
    SplitCsv,
    /// JSON.
    Json,
}

/// The publishing habits of each local spot-check resource.
pub fn local_spec(resource: &str) -> LocalSpec {
    use LocalFormat::*;
    match resource {
        "A2-01" => LocalSpec {
            level: "provincial",
            years: (2005, 2025),
            layouts: &[
                ("H6", Csv(Encoding::Gbk)),
                ("H7", Xlsx),
                ("H12", XlsxSections),
                ("H12", HtmlTwoRow),
            ],
            rows_per_pub: 300,
            fail_factor: 0.8,
            channel: Channel::Production,
        },
        "A2-02" => LocalSpec {
            level: "provincial",
            years: (2008, 2025),
            layouts: &[("H4", Csv(Encoding::Gb18030)), ("H4", Csv(Encoding::Utf8))],
            rows_per_pub: 60,
            fail_factor: 0.8,
            channel: Channel::Distribution,
        },
        "A2-03" => LocalSpec {
            level: "municipal",
            years: (2010, 2025),
            layouts: &[("H8", SplitCsv), ("H9", Xls), ("H10", Xlsx)],
            rows_per_pub: 150,
            fail_factor: 0.9,
            channel: Channel::Distribution,
        },
        "A2-04" => LocalSpec {
            level: "joint",
            years: (2015, 2025),
            layouts: &[("JOINT", Csv(Encoding::Utf8Bom))],
            rows_per_pub: 250,
            fail_factor: 1.0,
            channel: Channel::Production,
        },
        "A3-01" => LocalSpec {
            level: "special",
            years: (2012, 2025),
            layouts: &[
                ("H11", Csv(Encoding::Utf8)),
                ("H12", XlsxSections),
                ("H11B", Csv(Encoding::Utf8Bom)),
            ],
            rows_per_pub: 200,
            fail_factor: 1.3,
            channel: Channel::Distribution,
        },
        "A3-02" => LocalSpec {
            level: "ecommerce",
            years: (2014, 2025),
            layouts: &[("ECOM", Json), ("H5", Xlsx)],
            rows_per_pub: 200,
            fail_factor: 1.5,
            channel: Channel::Ecommerce,
        },
        "A3-04" => LocalSpec {
            level: "national",
            years: (2008, 2025),
            layouts: &[("RECHECK", Csv(Encoding::Gbk))],
            rows_per_pub: 80,
            fail_factor: 2.2,
            channel: Channel::Production,
        },
        _ => LocalSpec {
            level: "national",
            years: (2005, 2025),
            layouts: &[("H1", Xlsx)],
            rows_per_pub: 200,
            fail_factor: 1.0,
            channel: Channel::Production,
        },
    }
}

/// One publication of a local (or special, e-commerce, re-check, metrology) resource.
pub fn local_publication(
    out: &Output,
    resource: &'static str,
    index: usize,
    of: usize,
) -> Result<Stats> {
    let seed = out.seed;
    let spec = local_spec(resource);
    let mut rng = Rng::new(seed, &["local", resource, &index.to_string()]);
    let (y0, y1) = spec.years;
    let span = (y1 - y0 + 1) as usize;
    let year = y0 + (index % span) as i32;
    let (layout_id, format) = spec.layouts[index % spec.layouts.len()];
    let weights: Vec<f64> = PROVINCES.iter().map(|p| p.weight.max(0.3)).collect();
    let province = &PROVINCES[rng.weighted(&weights)];
    let rows_total = ((out.scale as f64 * local_share(resource)) as usize).max(of);
    let rows = ((rows_total / of) as f64 * (0.6 + 0.8 * rng.f64())) as usize + 3;
    let catalogue: Vec<&'static Product> = if resource == "C2-05" {
        INSTRUMENTS.iter().collect()
    } else if layout_id == "H11"
        || layout_id == "H11B"
        || (resource == "A3-01" && layout_id == "H12")
    {
        vocab::PRODUCTS
            .iter()
            .filter(|p| p.industry == "化工")
            .collect()
    } else {
        products_for(year)
    };
    let n_products = (rows / 60).clamp(1, 5).min(catalogue.len());
    let mut chosen: Vec<&'static Product> = Vec::new();
    while chosen.len() < n_products {
        let p = *rng.pick(&catalogue);
        if !chosen.iter().any(|c| c.name == p.name) {
            chosen.push(p);
        }
    }
    let mut meta = local_meta(resource, &spec, province, year, index, &mut rng, &chosen);
    // A table without a result column is a fail list (H5 of e-commerce checks).
    let fail_list = !layouts(layout_id)
        .cols
        .iter()
        .any(|(c, _)| *c == crate::spot::Col::Result);
    if fail_list && format_has_one_table(format) {
        meta.scope = "fail_only";
    }
    let pool = pool_size(out.scale, vocab::PRODUCTS.len());
    let home = (spec.level != "national").then_some(province);
    let target = (vocab::national_fail_rate(year) / 100.0 * spec.fail_factor).min(0.6);
    // A fail-only list prints only the failures: simulate enough batches to fill it.
    let simulated = if meta.scope == "fail_only" {
        (rows as f64 / target) as usize
    } else {
        rows
    };
    let mix: Vec<(&'static Product, usize)> = chosen
        .iter()
        .map(|p| (*p, simulated / n_products + 1))
        .collect();
    let p_fail = calibrate(target, &mix);
    let agency = match spec.level {
        "national" => None,
        _ => Some(crate::enterprise::provincial_agency(&mut rng, province)),
    };
    let mut groups: Vec<(&'static Product, Vec<Batch>)> = Vec::new();
    for (product, n) in &mix {
        let mut batches = Vec::with_capacity(*n);
        for _ in 0..*n {
            let channel = if spec.level == "municipal" && rng.chance(0.3) {
                Channel::Production
            } else {
                spec.channel
            };
            let agency = agency.clone().unwrap_or_else(|| product.agency.to_owned());
            let mut b = simulate(
                &mut rng,
                seed,
                product,
                pool,
                home,
                meta.announced_on,
                p_fail(product),
                channel,
                &agency,
            );
            if resource == "A3-04" {
                // Every row of a follow-up check reports the re-check's outcome.
                b.remark = Some(if b.fail {
                    vocab::REMARK_FLAGS[0]
                } else {
                    vocab::REMARK_FLAGS[1]
                });
            }
            batches.push(b);
        }
        groups.push((product, batches));
    }

    let layout = layouts(layout_id);
    let mut hints = Vec::new();
    let atts = match format {
        LocalFormat::Csv(encoding) => {
            let fmt = Format::Csv {
                encoding,
                crlf: encoding == Encoding::Gbk,
            };
            vec![flat_table(
                &mut rng, &meta, layout, fmt, &groups, meta.scope, &mut hints,
            )]
        }
        LocalFormat::Xlsx => vec![flat_table(
            &mut rng,
            &meta,
            layout,
            Format::Xlsx,
            &groups,
            meta.scope,
            &mut hints,
        )],
        LocalFormat::Xls => vec![flat_table(
            &mut rng,
            &meta,
            layout,
            Format::Xls,
            &groups,
            meta.scope,
            &mut hints,
        )],
        LocalFormat::Json => vec![flat_table(
            &mut rng,
            &meta,
            layout,
            Format::Json,
            &groups,
            meta.scope,
            &mut hints,
        )],
        LocalFormat::XlsxSections => {
            vec![sectioned(&mut rng, &meta, layout, Format::Xlsx, &groups)]
        }
        LocalFormat::HtmlTwoRow => vec![sectioned(
            &mut rng,
            &meta,
            layout,
            Format::Html {
                encoding: Encoding::Utf8,
            },
            &groups,
        )],
        LocalFormat::SplitCsv => {
            let pass = flat_table(
                &mut rng,
                &meta,
                layouts("H8"),
                Format::Csv {
                    encoding: Encoding::Utf8,
                    crlf: false,
                },
                &groups,
                "pass_only",
                &mut hints,
            );
            let fail = flat_table(
                &mut rng,
                &meta,
                layouts("H8F"),
                Format::Csv {
                    encoding: Encoding::Utf8,
                    crlf: false,
                },
                &groups,
                "fail_only",
                &mut hints,
            );
            vec![pass, fail]
        }
    };
    let encoding_hint = match format {
        LocalFormat::Csv(Encoding::Gbk) if rng.chance(0.7) => Some("gbk"),
        // A wrong hint: detection must not trust it.
        LocalFormat::Csv(Encoding::Gb18030) if rng.chance(0.3) => Some("utf-8"),
        _ => None,
    };
    publish(out, &meta, atts, hints, encoding_hint)
}

fn local_meta(
    resource: &'static str,
    spec: &LocalSpec,
    province: &'static Province,
    year: i32,
    index: usize,
    rng: &mut Rng,
    products: &[&'static Product],
) -> PubMeta {
    let bureau = if year >= 2018 {
        "市场监督管理局"
    } else {
        "质量技术监督局"
    };
    let city = if province.is_municipality() {
        province.full
    } else {
        *rng.pick(province.cities)
    };
    let (authority, level_word) = match spec.level {
        "municipal" => (format!("{city}{bureau}"), "市级"),
        "national" if resource == "C2-05" => (
            format!("{}计量司", national_authority(year)),
            "计量器具产品质量国家",
        ),
        "national" => (national_authority(year).to_owned(), "跟踪抽查"),
        "ecommerce" => (format!("{}{bureau}", province.full), "电子商务产品质量"),
        "special" => (format!("{}{bureau}", province.full), "专项"),
        "joint" => (format!("{}{bureau}", province.full), "国家-地方联动"),
        _ => (format!("{}{bureau}", province.full), "省级"),
    };
    let n = rng.range(1, 60);
    let no = match rng.below(5) {
        0 => format!("〔{year}〕{n}号"),
        1 => format!("[{year}]{n}号"),
        2 => format!("【{year}】{n}号"),
        3 => format!("{year}年第{n}期"),
        _ => format!("{year}年第{n}号"),
    };
    let round = match rng.below(3) {
        0 => format!("第{}批", rng.range(1, 6)),
        1 => format!("第{}季度", rng.range(1, 4)),
        _ => format!("第{}期", rng.range(1, 30)),
    };
    let campaign = (spec.level == "special").then(|| {
        if products.iter().any(|p| p.industry == "化工") {
            format!("{year}年{}车用油品产品质量专项监督抽查", province.short)
        } else {
            format!(
                "{year}年{}专项监督抽查",
                products.first().map_or("重点产品", |p| p.name)
            )
        }
    });
    let scope = match resource {
        "A2-02" => "fail_only",
        _ => "full",
    };
    let what = products.first().map_or("", |p| p.name);
    PubMeta {
        resource_id: resource.to_owned(),
        publication_id: format!("{year}-{}-{index:05}", province.code),
        check_level: spec.level,
        authority,
        announcement_no: Some(no),
        announced_on: Date::random_in(rng, year),
        plan_year: year,
        round: Some(round),
        campaign,
        title: format!(
            "{year}年{what}等{}种产品{level_word}监督抽查结果公告",
            products.len()
        ),
        scope,
    }
}

/// Whether a local format holds one table whose scope is the publication's.
fn format_has_one_table(format: LocalFormat) -> bool {
    !matches!(format, LocalFormat::SplitCsv)
}

/// One flat table of all groups (fail-only layouts keep fails, pass tables keep passes).
fn flat_table(
    rng: &mut Rng,
    meta: &PubMeta,
    layout: Layout,
    format: Format,
    groups: &[(&'static Product, Vec<Batch>)],
    scope: &'static str,
    hints: &mut Vec<FileHint>,
) -> Attachment {
    let sheet_name = if layout.id == "H10" {
        "汇总"
    } else {
        "Sheet1"
    };
    let has_product_col = layout
        .cols
        .iter()
        .any(|(c, _)| *c == crate::spot::Col::Product);
    let single = groups.len() == 1;
    let base = match (layout.id, scope) {
        ("H8", "pass_only") => "合格产品".to_owned(),
        ("H8", _) => "不合格产品".to_owned(),
        _ if single => groups[0].0.name.to_owned(),
        _ => "抽查结果".to_owned(),
    };
    // TRS content systems name legacy attachments by number (`P020211112630106584956.xls`).
    let file = if format == Format::Xls {
        format!(
            "P0{}{:012}.xls",
            meta.plan_year * 10_000 + 1112,
            rng.range(0, 999_999_999_999)
        )
    } else {
        format!("{base}.{}", format.ext())
    };
    let mut t = Table::new(layout, meta, scope, sheet_name);
    t.gbk = format.is_gbk_family();
    t.spreadsheet = matches!(format, Format::Xlsx | Format::Xls);
    if single && !has_product_col {
        t.file_product = Some(groups[0].0.name);
    }
    if t.file_product.is_some() || scope != meta.scope {
        hints.push(FileHint {
            file: file.clone(),
            product: t.file_product,
            scope: (scope != meta.scope).then_some(scope),
        });
    }
    let title = meta.title.clone();
    if format != Format::Json {
        match t.layout.id {
            "H9" => {
                t.span(title.clone(), "title");
                t.span(format!("抽查依据：{}及产品标准", groups[0].0.name), "title");
                t.blank();
                t.blank();
            }
            "H10" => t.span(
                format!("{}产品质量监督抽查企业名单及结果", groups[0].0.name),
                "title",
            ),
            _ if rng.chance(0.4) => t.span(title.clone(), "title"),
            _ => {}
        }
    }
    t.header();
    for (_, batches) in groups {
        let keep = |b: &Batch| match scope {
            "fail_only" => b.fail,
            "pass_only" => !b.fail,
            _ => true,
        };
        fill(&mut t, rng, batches, keep);
    }
    if t.layout.pf {
        t.span(
            "注：P表示符合监督检查要求，F表示不合格；“/”表示不适用；拒检情况在备注中注明。",
            "footnote",
        );
    }
    Attachment {
        file,
        format,
        title,
        layout: t.layout.id,
        sheets: vec![t.sheet],
    }
}

/// One table with a section row per product (Beijing H12): XLSX, or HTML with a two-row
/// header joined by `rowspan`/`colspan`, runs of equal enterprise, name and result cells
/// merged, an empty cell past the last column on the header and every third row, and one
/// row that lost its date cell.
fn sectioned(
    rng: &mut Rng,
    meta: &PubMeta,
    layout: Layout,
    format: Format,
    groups: &[(&'static Product, Vec<Batch>)],
) -> Attachment {
    let file = format!("抽查结果.{}", format.ext());
    let mut t = Table::new(
        layout,
        meta,
        "full",
        if format == Format::Xlsx {
            "Sheet1"
        } else {
            "1"
        },
    );
    t.spreadsheet = format == Format::Xlsx;
    let html = matches!(format, Format::Html { .. });
    t.html = html;
    t.span(meta.title.clone(), "title");
    if html {
        t.two_row_header();
    } else {
        t.header();
    }
    let mut ragged_done = false;
    for (i, (product, batches)) in groups.iter().enumerate() {
        t.section(i + 1, product.name);
        for b in batches {
            let mut mess = Mess::draw(rng, &t);
            if html
                && !ragged_done
                && mess.reject.is_none()
                && rng.chance(4.0 / batches.len().max(4) as f64)
            {
                mess.ragged = true;
                mess.duplicate = false;
                ragged_done = true;
            }
            t.push(rng, b, mess);
        }
    }
    if html {
        t.merge_runs(&[
            crate::spot::Col::Enterprise,
            crate::spot::Col::Name,
            crate::spot::Col::Result,
        ]);
        t.pad_html();
    }
    Attachment {
        file,
        format,
        title: meta.title.clone(),
        layout: t.layout.id,
        sheets: vec![t.sheet],
    }
}
