//! A table of a publication being written: its rows as cells, filled from batches with
//! the publication's spellings, placeholders and mess.

use super::Col::*;
use super::*;
use super::{Batch, Channel};

/// Renders batches of one table (one sheet) in a layout.
pub struct Table<'a> {
    /// The layout.
    pub layout: Layout,
    /// The publication.
    pub meta: &'a PubMeta,
    /// Scope of this attachment (it may differ from the publication's: Shanghai pass/fail files).
    pub scope: &'static str,
    /// Product named by `publication.toml` for this file, if any.
    pub file_product: Option<&'static str>,
    /// Whether the file is GBK-family (names must be encodable).
    pub gbk: bool,
    /// Whether numbers and dates are real spreadsheet cells.
    pub spreadsheet: bool,
    /// Whether failed items end in `*` (SAMR xlsx).
    pub star_items: bool,
    /// Whether the table is an HTML page (where `&nbsp;` occurs).
    pub html: bool,
    /// Rows so far.
    pub sheet: Sheet,
    serial: usize,
    section: Option<&'static str>,
}

impl<'a> Table<'a> {
    /// A new, empty table.
    pub fn new(layout: Layout, meta: &'a PubMeta, scope: &'static str, name: &str) -> Self {
        let width = layout.cols.len();
        Self {
            layout,
            meta,
            scope,
            file_product: None,
            gbk: false,
            spreadsheet: false,
            star_items: false,
            html: false,
            sheet: Sheet {
                name: name.to_owned(),
                width,
                ..Sheet::default()
            },
            serial: 0,
            section: None,
        }
    }

    /// A row spanning the table (title, scope line, footnote, section).
    pub fn span(&mut self, text: impl Into<String>, class: &'static str) {
        self.sheet
            .rows
            .push((Shape::Span(text.into()), Truth::NonData(class)));
    }

    /// A blank row.
    pub fn blank(&mut self) {
        let cells = vec![Cell::Empty; self.sheet.width];
        self.sheet
            .rows
            .push((Shape::Cells(cells), Truth::NonData("blank")));
    }

    /// The header row (or a repeat of it).
    pub fn header(&mut self) {
        let cells = self
            .layout
            .cols
            .iter()
            .map(|(_, h)| Cell::text(*h))
            .collect();
        self.sheet
            .rows
            .push((Shape::Cells(cells), Truth::NonData("header")));
    }

    /// A two-row header (Beijing HTML): `产品信息` over the product columns (a `colspan`), the
    /// other headers spanning both rows (a `rowspan`). The cells are the grid a reader lays
    /// the spans out to; `sheet.merges` says how the page writes them.
    pub fn two_row_header(&mut self) {
        let product = |c: &Col| matches!(c, Name | Brand | Model | Batch);
        let top = self.sheet.rows.len();
        let cols = &self.layout.cols;
        let mut group = Vec::with_capacity(cols.len());
        let mut names = Vec::with_capacity(cols.len());
        let mut merges = Vec::new();
        let mut i = 0;
        while i < cols.len() {
            if product(&cols[i].0) {
                let run = cols[i..].iter().take_while(|(c, _)| product(c)).count();
                group.push(Cell::text("产品信息"));
                group.extend((1..run).map(|_| Cell::Empty));
                names.extend(cols[i..i + run].iter().map(|(_, h)| Cell::text(*h)));
                merges.push(Merge {
                    row: top,
                    col: i,
                    rows: 1,
                    cols: run,
                });
                i += run;
            } else {
                group.push(Cell::text(cols[i].1));
                names.push(Cell::text(cols[i].1));
                merges.push(Merge {
                    row: top,
                    col: i,
                    rows: 2,
                    cols: 1,
                });
                i += 1;
            }
        }
        self.sheet.merges.extend(merges);
        self.sheet
            .rows
            .push((Shape::Cells(group), Truth::NonData("header")));
        self.sheet
            .rows
            .push((Shape::Cells(names), Truth::NonData("header")));
    }

    /// Merges, in the given columns, runs of rows below each other that hold the same text
    /// (one `<td rowspan>` on a page), as pages merge an enterprise's or a result's cells.
    /// Runs stop at a row of another shape: a section, a blank or a ragged row.
    pub fn merge_runs(&mut self, which: &[Col]) {
        let width = self.sheet.width;
        let rows = &self.sheet.rows;
        // Data rows, rejected rows and repeated rows; not headers, sections or ragged rows.
        let text = |r: usize, col: usize| match &rows[r] {
            (Shape::Cells(cells), truth)
                if cells.len() == width
                    && !matches!(truth, Truth::NonData(k) if *k != "duplicate") =>
            {
                Some(cells[col].as_text()).filter(|t| !t.trim().is_empty())
            }
            _ => None,
        };
        let mut merges = Vec::new();
        for (col, (c, _)) in self.layout.cols.iter().enumerate() {
            if !which.contains(c) {
                continue;
            }
            let mut r = 0;
            while r < rows.len() {
                let Some(first) = text(r, col) else {
                    r += 1;
                    continue;
                };
                let run = 1
                    + (r + 1..rows.len())
                        .take_while(|&k| text(k, col).as_ref() == Some(&first))
                        .count();
                if run > 1 {
                    merges.push(Merge {
                        row: r,
                        col,
                        rows: run,
                        cols: 1,
                    });
                }
                r += run;
            }
        }
        self.sheet.merges.extend(merges);
    }

    /// Ends the header rows and every third full data row with an empty cell past the last
    /// column (HTML only: `<td>&nbsp;</td>`), so the header is wider than most rows.
    pub fn pad_html(&mut self) {
        let mut data = 0;
        for (r, (shape, truth)) in self.sheet.rows.iter().enumerate() {
            // A ragged row stays short: one more cell would hide the one it lost.
            if !matches!(shape, Shape::Cells(cells) if cells.len() == self.sheet.width) {
                continue;
            }
            let pad = match truth {
                Truth::NonData("header") => true,
                Truth::NonData(_) => false,
                _ => {
                    data += 1;
                    data % 3 == 0
                }
            };
            if pad {
                self.sheet.padded.push(r);
            }
        }
    }

    /// A product section row (`1、车用汽油清净剂`); the serial restarts below it.
    pub fn section(&mut self, index: usize, product: &'static str) {
        self.section = Some(product);
        self.serial = 0;
        self.span(format!("{index}、{product}"), "section");
    }

    fn has(&self, col: Col) -> bool {
        self.layout.cols.iter().any(|(c, _)| *c == col)
    }

    /// Where the product comes from when the row has no 产品种类 cell.
    pub(super) fn product_elsewhere(&self) -> Option<&'static str> {
        self.section.or(self.file_product)
    }

    /// Appends a batch as a data row (possibly a must-reject one) and returns its truth.
    pub fn push(&mut self, rng: &mut Rng, b: &Batch, mess: Mess) {
        self.serial += 1;
        let (cells, truth) = self.render(rng, b, mess);
        self.sheet
            .rows
            .push((Shape::Cells(cells.clone()), truth.clone()));
        if mess.duplicate && matches!(truth, Truth::Data(_)) {
            self.sheet
                .rows
                .push((Shape::Cells(cells), Truth::NonData("duplicate")));
        }
    }

    fn render(&self, rng: &mut Rng, b: &Batch, mess: Mess) -> (Vec<Cell>, Truth) {
        let m = self.meta;
        let mut t = Map::new();
        for key in [
            "product_category",
            "product_subcategory",
            "sample_name",
            "enterprise",
            "enterprise_province_code",
            "enterprise_province",
            "enterprise_city",
            "enterprise_address",
            "enterprise_uscc",
            "inspected_unit",
            "sampling_channel",
            "ecommerce_platform",
            "listing_id",
            "brand",
            "model_spec",
            "batch_raw",
            "production_date",
            "sampled_on",
            "inspection_agency",
            "certification_body",
            "remarks",
        ] {
            t.insert(key.into(), Value::Null);
        }
        t.insert("resource_id".into(), json!(m.resource_id));
        t.insert("publication_id".into(), json!(m.publication_id));
        t.insert("check_level".into(), json!(m.check_level));
        t.insert("authority".into(), json!(m.authority));
        t.insert("announcement_no".into(), json!(m.announcement_no));
        t.insert("announced_on".into(), json!(m.announced_on.iso()));
        t.insert("plan_year".into(), json!(m.plan_year));
        t.insert("round".into(), json!(m.round));
        t.insert("campaign".into(), json!(m.campaign));
        t.insert("publication_scope".into(), json!(self.scope));

        let ent_name = if self.gbk {
            &b.enterprise.name_gbk
        } else {
            &b.enterprise.name
        };
        let mut flags: Vec<&'static str> = Vec::new();
        // The hardest classes of real publications (commissioned makers' forms, denial marks,
        // sentence-closed item lists, serial dates) draw from a generator of their own, seeded
        // by the row, so that adding them left every other byte of the corpus as it was.
        let mut hard = Rng::new(
            self.serial as u64,
            &[
                m.publication_id.as_str(),
                ent_name.as_str(),
                b.model.as_str(),
            ],
        );
        let mut remarks: Vec<String> = Vec::new();
        let mut reject: Option<Truth> = None;
        let mut location_seen = false;
        let mut address_seen = false;
        let mut name_seen = false;
        let mut result: Option<bool> = match self.scope {
            "fail_only" => Some(true),
            "pass_only" => Some(false),
            _ => None,
        };
        let product_col = self.has(Product);
        let product = b.product.name;
        let name_is_product = !product_col && self.product_elsewhere().is_none();
        t.insert(
            "product".into(),
            json!(self.product_elsewhere().unwrap_or(product)),
        );
        if product_col {
            t.insert("product".into(), json!(product));
        }

        let mut cells = Vec::with_capacity(self.layout.cols.len());
        for (col, _) in &self.layout.cols {
            let cell = match col {
                Serial => {
                    if self.spreadsheet {
                        Cell::Num(self.serial as f64)
                    } else {
                        Cell::text(self.serial.to_string())
                    }
                }
                Category => {
                    t.insert("product_category".into(), json!(b.product.category));
                    Cell::text(b.product.category)
                }
                Subcategory => {
                    if b.product.subcategory.is_empty() {
                        Cell::text("/")
                    } else {
                        t.insert("product_subcategory".into(), json!(b.product.subcategory));
                        Cell::text(b.product.subcategory)
                    }
                }
                Product => Cell::text(product),
                Name => {
                    if name_is_product {
                        if mess.reject == Some(RejectKind::NoProduct) {
                            reject = Some(Truth::Reject {
                                reason: "no_product",
                                field: "product".into(),
                                value: String::new(),
                            });
                            Cell::Empty
                        } else {
                            Cell::text(product)
                        }
                    } else {
                        let shown = t["product"].as_str().unwrap_or(product).to_owned();
                        if b.sample_name != shown {
                            t.insert("sample_name".into(), json!(b.sample_name));
                        }
                        Cell::text(&b.sample_name)
                    }
                }
                Enterprise => {
                    name_seen = true;
                    if b.counterfeit && mess.blank_producer {
                        Cell::text(*rng.pick(&["/", "", "—"]))
                    } else {
                        t.insert("enterprise".into(), json!(ent_name));
                        let mut raw = if mess.half_brackets {
                            text::halfwidth_brackets(ent_name)
                        } else {
                            ent_name.clone()
                        };
                        // The commissioned maker, in the forms publications print it: the
                        // producer is the commissioning brand owner; the maker goes to remarks.
                        if let Some(other) = &b.entrusted {
                            let (cell, note) = match hard.below(3) {
                                0 => (format!("{raw}（委托{other}）"), format!("委托{other}")),
                                1 => (
                                    format!("委托方：{raw}；受托方：{other}"),
                                    format!("受托方：{other}"),
                                ),
                                _ => (
                                    format!("{raw}(受托方：{other})"),
                                    format!("受托方：{other}"),
                                ),
                            };
                            raw = cell;
                            remarks.push(note);
                        } else if b.fail && hard.chance(0.01) {
                            // The named producer denied making the product.
                            let note = *hard.pick(&[
                                "否认该产品为其生产",
                                "标称生产企业否认生产",
                                "该企业否认生产此产品",
                            ]);
                            raw = if hard.chance(0.5) {
                                format!("{raw}（{note}）")
                            } else {
                                format!("{raw}({note})")
                            };
                            remarks.push(note.to_owned());
                            flags.push("producer_denied");
                        }
                        Cell::text(raw)
                    }
                }
                Location => {
                    let (raw, with_city) = spell_location(rng, &b.enterprise, mess.placeholder);
                    if let Some(raw) = raw {
                        location_seen = true;
                        set_place(&mut t, &b.enterprise, with_city);
                        Cell::text(raw)
                    } else {
                        Cell::text(*rng.pick(PLACEHOLDERS))
                    }
                }
                Address => {
                    if mess.placeholder {
                        Cell::text("/")
                    } else {
                        address_seen = true;
                        t.insert("enterprise_address".into(), json!(b.enterprise.address));
                        Cell::text(&b.enterprise.address)
                    }
                }
                Uscc => match &b.enterprise.uscc {
                    Some(code) if mess.bad_uscc => {
                        // One character off: the check digit no longer matches.
                        let mut chars: Vec<char> = code.chars().collect();
                        chars[10] = if chars[10] == '7' { '8' } else { '7' };
                        Cell::text(chars.into_iter().collect::<String>())
                    }
                    Some(code) => {
                        t.insert("enterprise_uscc".into(), json!(code));
                        Cell::text(code)
                    }
                    None => Cell::text(*rng.pick(&["/", "", "无"])),
                },
                Inspected => {
                    let unit = if self.gbk {
                        gbk_safe(&b.inspected_unit, &b.enterprise)
                    } else {
                        b.inspected_unit.clone()
                    };
                    t.insert("inspected_unit".into(), json!(unit));
                    Cell::text(if mess.half_brackets {
                        text::halfwidth_brackets(&unit)
                    } else {
                        unit
                    })
                }
                Brand => {
                    if mess.placeholder || b.counterfeit {
                        Cell::text(*rng.pick(&["/", "图形", "图形商标", "——", "无"]))
                    } else {
                        t.insert("brand".into(), json!(b.enterprise.brand));
                        Cell::text(&b.enterprise.brand)
                    }
                }
                Model => {
                    t.insert("model_spec".into(), json!(text::fold(&b.model)));
                    // GBK has no `²`: such files print `mm2`.
                    let model = if self.gbk && !crate::sink::gbk_encodable(&b.model) {
                        text::fold(&b.model)
                    } else {
                        b.model.clone()
                    };
                    if mess.fullwidth {
                        Cell::text(text::to_fullwidth(&model))
                    } else if mess.nbsp {
                        Cell::text(model.replacen(' ', "\u{a0}", 1))
                    } else {
                        Cell::text(model)
                    }
                }
                Batch => {
                    if mess.placeholder {
                        Cell::text(*rng.pick(&["/", "/ / /", "未标注", "——"]))
                    } else if self.spreadsheet && rng.chance(0.15) {
                        t.insert("batch_raw".into(), json!(b.produced.iso()));
                        t.insert("production_date".into(), json!(b.produced.iso()));
                        Cell::Date(b.produced)
                    } else if mess.bad_date {
                        let raw = format!("{}-02-30", b.produced.y);
                        t.insert("batch_raw".into(), json!(raw));
                        Cell::text(raw)
                    } else {
                        let s = text::spell_production_date(rng, b.produced);
                        t.insert("batch_raw".into(), json!(s.raw));
                        t.insert("production_date".into(), json!(s.date));
                        Cell::text(s.raw)
                    }
                }
                BatchNo => {
                    if mess.placeholder {
                        Cell::text("/")
                    } else {
                        let raw = format!(
                            "{}{:02}{:02}{}",
                            b.produced.y % 100,
                            b.produced.m,
                            b.produced.d,
                            rng.range(1, 9)
                        );
                        t.insert("batch_raw".into(), json!(raw));
                        Cell::text(raw)
                    }
                }
                ProdDate => {
                    t.insert("production_date".into(), json!(b.produced.iso()));
                    let d = b.produced;
                    if self.spreadsheet && hard.chance(0.2) {
                        // A serial day number in a cell not formatted as a date (44315).
                        Cell::Num(d.excel_serial())
                    } else {
                        Cell::text(match rng.below(3) {
                            0 => d.iso(),
                            1 => format!("{}.{}.{}", d.y, d.m, d.d),
                            _ => format!("{}年{}月{}日", d.y, d.m, d.d),
                        })
                    }
                }
                SampledOn => {
                    t.insert("sampled_on".into(), json!(b.sampled.iso()));
                    let d = b.sampled;
                    Cell::text(if rng.chance(0.5) {
                        d.iso()
                    } else {
                        format!("{}.{}.{}", d.y, d.m, d.d)
                    })
                }
                Result => {
                    result = Some(b.fail);
                    if let Some(RejectKind::Result(raw)) = mess.reject {
                        reject = Some(Truth::Reject {
                            reason: "unreadable_result",
                            field: "result".into(),
                            value: raw.to_owned(),
                        });
                        Cell::text(raw)
                    } else if b.counterfeit && !self.layout.pf {
                        flags.push("counterfeit_suspected");
                        Cell::text("不合格（涉嫌假冒）")
                    } else if self.layout.pf {
                        Cell::text(if b.fail { "F" } else { "P" })
                    } else if b.fail {
                        Cell::text("不合格")
                    } else {
                        Cell::text(*rng.pick(&[
                            "合格",
                            "合格",
                            "合格",
                            "合格",
                            "合格",
                            "合格",
                            "符合本次监督检查要求",
                            "经检验合格",
                        ]))
                    }
                }
                Items => {
                    if b.fail && !b.items.is_empty() {
                        t.insert("failed_items_visible".into(), json!(true));
                        let list = join_items(rng, &b.items, self.star_items);
                        // Some lists end as a sentence: 泛霜。
                        Cell::text(if hard.chance(0.1) {
                            format!("{list}。")
                        } else {
                            list
                        })
                    } else if b.fail {
                        Cell::text("")
                    } else {
                        Cell::text(*rng.pick(&["/", "——", "", "/", "未发现不合格项目"]))
                    }
                }
                Agency => {
                    t.insert("inspection_agency".into(), json!(b.agency));
                    Cell::text(&b.agency)
                }
                Remarks => {
                    if let Some((text, flag)) = b.remark {
                        flags.push(flag);
                        remarks.insert(0, text.to_owned());
                        Cell::text(text)
                    } else {
                        Cell::text(*rng.pick(&["", "", "", "/"]))
                    }
                }
                Platform => match b.platform {
                    Some(p) => {
                        t.insert("ecommerce_platform".into(), json!(p));
                        Cell::text(p)
                    }
                    None => Cell::text("/"),
                },
                Listing => match &b.listing {
                    Some(id) => {
                        let raw = format!("https://item.example.com/{id}.html");
                        t.insert("listing_id".into(), json!(raw));
                        Cell::text(raw)
                    }
                    None => Cell::text("/"),
                },
                Channel => {
                    let (raw, value) = match b.channel {
                        Channel::Production => {
                            (*rng.pick(&["生产领域", "生产", "生产企业"]), "production")
                        }
                        Channel::Distribution => {
                            (*rng.pick(&["流通领域", "流通", "销售"]), "distribution")
                        }
                        Channel::Ecommerce => {
                            (*rng.pick(&["电商", "电子商务", "网购"]), "ecommerce")
                        }
                    };
                    t.insert("sampling_channel".into(), json!(value));
                    Cell::text(raw)
                }
                CertBody => match b.cert_body {
                    Some(c) => {
                        t.insert("certification_body".into(), json!(c));
                        Cell::text(c)
                    }
                    None => Cell::text("/"),
                },
            };
            cells.push(cell);
        }

        // A producer's province and city follow from the location cell, else the address,
        // else the place the name starts with (docs/DESIGN.md §5 precedence).
        if !location_seen {
            if address_seen {
                set_place(&mut t, &b.enterprise, true);
            } else if name_seen && t["enterprise"].is_string() {
                match b.enterprise.prefix {
                    NamePrefix::City => set_place(&mut t, &b.enterprise, true),
                    NamePrefix::Province => set_place(&mut t, &b.enterprise, false),
                    NamePrefix::None => {}
                }
            }
        }
        let fail = result.unwrap_or(b.fail);
        t.insert("result".into(), json!(if fail { "fail" } else { "pass" }));
        let visible = t.remove("failed_items_visible").is_some();
        t.insert(
            "failed_items".into(),
            json!(if fail && visible {
                b.items.clone()
            } else {
                Vec::new()
            }),
        );
        flags.sort_by_key(|f| FLAG_ORDER.iter().position(|o| o == f));
        flags.dedup();
        t.insert("flags".into(), json!(flags));
        if !remarks.is_empty() {
            t.insert("remarks".into(), json!(remarks.join("；")));
        }

        if mess.ragged {
            // The Beijing HTML row that lost its date cell: every later cell shifts left.
            if let Some(pos) = self.layout.cols.iter().position(|(c, _)| *c == Batch) {
                cells.remove(pos);
                let have = cells.len();
                return (
                    cells,
                    Truth::Reject {
                        reason: "ragged_row",
                        field: "row".into(),
                        value: format!("{have} cells, header has {}", self.layout.cols.len()),
                    },
                );
            }
        }
        (cells, reject.unwrap_or(Truth::Data(t)))
    }
}
