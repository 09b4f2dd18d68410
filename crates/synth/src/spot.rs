//! Spot-check publications: simulated batches rendered in the header sets H1–H12 of
//! `REAL-DATA.md` §1.2, with the messiness of §4, and the canonical rows of DESIGN §5 as truth.

use serde_json::{Map, Value, json};

use crate::enterprise::{self, Enterprise, NamePrefix};
use crate::rng::Rng;
use crate::sink::{Cell, Shape, Sheet, Truth};
use crate::text::{self, Date};
use crate::vocab::{PLACEHOLDERS, Product, Province, REMARK_FLAGS};

/// The canonical order of flags (the schema's description lists them in this order).
pub const FLAG_ORDER: [&str; 6] = [
    "counterfeit_suspected",
    "refused",
    "producer_denied",
    "recheck_failed",
    "recheck_passed",
    "unlicensed",
];

/// What a column of a raw spot-check table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    /// 序号.
    Serial,
    /// 产品大类.
    Category,
    /// 产品小类.
    Subcategory,
    /// 产品种类: the product type.
    Product,
    /// 产品名称 and its variants: the sample's name, or the product where nothing else names it.
    Name,
    /// 标称生产企业 and variants.
    Enterprise,
    /// 所在地: a province, city or both, in any spelling.
    Location,
    /// 标称生产企业地址.
    Address,
    /// 统一社会信用代码.
    Uscc,
    /// 受检单位.
    Inspected,
    /// 商标.
    Brand,
    /// 规格型号.
    Model,
    /// 生产日期/批号 in one cell.
    Batch,
    /// 批号 alone.
    BatchNo,
    /// 生产日期 alone.
    ProdDate,
    /// 抽样日期 / 监督抽查时间.
    SampledOn,
    /// 抽查结果.
    Result,
    /// 不合格项目.
    Items,
    /// 承检机构.
    Agency,
    /// 备注.
    Remarks,
    /// 电商平台.
    Platform,
    /// 商品链接.
    Listing,
    /// 抽样领域.
    Channel,
    /// 认证机构.
    CertBody,
}

/// A header set: columns with their header text, and how results are coded.
#[derive(Debug, Clone)]
pub struct Layout {
    /// H1 … H12, or a name for our own variants.
    pub id: &'static str,
    /// Columns and header texts.
    pub cols: Vec<(Col, &'static str)>,
    /// Results written as P/F (Zhejiang).
    pub pf: bool,
}

fn layout(id: &'static str, cols: &[(Col, &'static str)]) -> Layout {
    Layout {
        id,
        cols: cols.to_vec(),
        pf: false,
    }
}

use Col::*;

/// The header sets of REAL-DATA §1.2 (and three variants of ours for JSON, joint and re-check
/// publications).
pub fn layouts(id: &str) -> Layout {
    match id {
        "H1" => layout(
            "H1",
            &[
                (Serial, "序号"),
                (Enterprise, "企业名称"),
                (Location, "所在地"),
                (Name, "产品名称"),
                (Brand, "商标"),
                (Model, "规格型号"),
                (Batch, "生产日期/批号"),
                (Result, "抽查结果"),
                (Items, "主要不合格项目"),
                (Agency, "承检机构"),
            ],
        ),
        "H2" => layout(
            "H2",
            &[
                (Serial, "序号"),
                (Enterprise, "企业名称"),
                (Location, "所在省"),
                (Model, "规格型号"),
                (Batch, "生产日期/批号"),
                (Items, "主要不合格项目"),
                (Agency, "承检机构"),
            ],
        ),
        "H3" | "H4" => layout(
            if id == "H3" { "H3" } else { "H4" },
            &[
                (Serial, "序号"),
                (Product, "产品种类"),
                (Inspected, "受检单位"),
                (Enterprise, "标称生产单位"),
                (Location, "标称生产单位所在地"),
                (Name, "产品名称"),
                (Model, "规格型号"),
                (Batch, "生产日期/批号"),
                (Items, "主要不合格项目"),
                (Agency, "承检机构"),
                (Remarks, "备注"),
            ],
        ),
        "H5" => layout(
            "H5",
            &[
                (Serial, "序号"),
                (Product, "产品种类"),
                (Inspected, "受检单位"),
                (Enterprise, "标称生产单位"),
                (Location, "标称生产 单位所在地"),
                (Name, "产品名称"),
                (Model, "规格型号"),
                (Batch, "生产日期/批号"),
                (Items, "主要不合格项目"),
                (Agency, "承检机构"),
                (Platform, "电商平台"),
                (Remarks, "备注"),
            ],
        ),
        "H6" => layout(
            "H6",
            &[
                (Serial, "序号"),
                (Name, "产品名称"),
                (Enterprise, "生产企业"),
                (Brand, "商标"),
                (Model, "规格型号"),
                (Batch, "生产日期/批号"),
                (Result, "抽查结果"),
                (Items, "不合格项目"),
                (Agency, "承检机构"),
            ],
        ),
        "H7" => Layout {
            pf: true,
            ..layout(
                "H7",
                &[
                    (Serial, "序号"),
                    (Name, "产品名称"),
                    (Model, "规格型号"),
                    (Batch, "生产日期\n或批号"),
                    (Enterprise, "生产企业名称"),
                    (SampledOn, "监督\n抽查\n时间"),
                    (Result, "检验\n结论"),
                    (Items, "不合格项目"),
                ],
            )
        },
        "H8" => layout(
            "H8",
            &[
                (Name, "样品标称名称"),
                (Brand, "标称商标"),
                (Model, "标称规格型号"),
                (Batch, "标称生产日期/批号"),
                (Enterprise, "标称生产者名称"),
                (Inspected, "被抽样生产者、销售者"),
                (Platform, "被抽样销售者所在商场/电商平台"),
                (CertBody, "认证机构"),
            ],
        ),
        "H8F" => layout(
            "H8",
            &[
                (Name, "样品标称名称"),
                (Brand, "标称商标"),
                (Model, "标称规格型号"),
                (Batch, "标称生产日期/批号"),
                (Enterprise, "标称生产者名称"),
                (Inspected, "被抽样生产者、销售者"),
                (Platform, "被抽样销售者所在商场/电商平台"),
                (CertBody, "认证机构"),
                (Items, "不合格项目"),
            ],
        ),
        "H9" => layout(
            "H9",
            &[
                (Serial, "序号"),
                (Name, "产品名称"),
                (Enterprise, "标称生产者名称"),
                (Batch, "生产日期或批号"),
                (Model, "规格型号"),
                (Brand, "商标"),
                (Result, "抽查结果"),
                (Items, "不合格项目"),
                (Channel, "抽样领域"),
                (Inspected, "受检单位名称"),
            ],
        ),
        "H10" => layout(
            "H10",
            &[
                (Serial, "序号"),
                (Name, "产品具体名称"),
                (Brand, "商标"),
                (Batch, "生产日期/货号"),
                (Model, "规格型号"),
                (Enterprise, "标称生产企业"),
                (Address, "标称生产企业地址"),
                (Inspected, "受检单位"),
                (Channel, "样品来源"),
                (Result, "抽查结果"),
            ],
        ),
        "H11" => layout(
            "H11",
            &[
                (Serial, "序号"),
                (Name, "产品名称"),
                (Model, "规格型号"),
                (BatchNo, "批号"),
                (ProdDate, "生产日期"),
                (Brand, "标称商标"),
                (Inspected, "受检单位名称"),
                (Enterprise, "标称生产单位名称"),
                (Result, "抽查结果"),
                (Items, "不合格项目"),
            ],
        ),
        "H11B" => layout(
            "H11",
            &[
                (Serial, "序号"),
                (Name, "产品名称"),
                (Model, "规格型号"),
                (ProdDate, "生产日期"),
                (Brand, "标称商标"),
                (Inspected, "受检单位名称"),
                (Enterprise, "标称生产单位名称"),
                (Result, "抽查结果"),
                (Items, "不合格项目"),
            ],
        ),
        "H12" => layout(
            "H12",
            &[
                (Serial, "序号"),
                (Enterprise, "企业名称"),
                (Name, "产品名称"),
                (Brand, "商标"),
                (Model, "规格型号"),
                (Batch, "生产日期/批号"),
                (Result, "抽查结果"),
                (Items, "不合格项目"),
                (Remarks, "备注"),
            ],
        ),
        "JOINT" => layout(
            "JOINT",
            &[
                (Serial, "序号"),
                (Category, "产品大类"),
                (Subcategory, "产品小类"),
                (Product, "产品种类"),
                (Enterprise, "标称生产企业名称"),
                (Uscc, "统一社会信用代码"),
                (Location, "所在地"),
                (Inspected, "受检单位"),
                (Channel, "抽样环节"),
                (Name, "产品名称"),
                (Brand, "商标"),
                (Model, "规格型号"),
                (Batch, "生产日期/批号"),
                (Result, "检验结果"),
                (Items, "不合格项目"),
                (Agency, "检验机构"),
                (Remarks, "备注"),
            ],
        ),
        "ECOM" => layout(
            "ECOM",
            &[
                (Serial, "序号"),
                (Product, "产品种类"),
                (Name, "产品名称"),
                (Listing, "商品链接"),
                (Platform, "电商平台"),
                (Inspected, "网店名称"),
                (Enterprise, "标称生产企业"),
                (Location, "标称生产企业所在地"),
                (Brand, "商标"),
                (Model, "规格型号"),
                (Batch, "生产日期/批号"),
                (SampledOn, "抽样日期"),
                (Result, "检验结果"),
                (Items, "不合格项目"),
                (Agency, "检验机构"),
            ],
        ),
        _ => layout(
            "RECHECK",
            &[
                (Serial, "序号"),
                (Name, "产品名称"),
                (Enterprise, "生产企业"),
                (Location, "所在地"),
                (Brand, "商标"),
                (Model, "规格型号"),
                (Batch, "生产日期/批号"),
                (Result, "抽查结果"),
                (Items, "不合格项目"),
                (Agency, "承检机构"),
                (Remarks, "备注"),
            ],
        ),
    }
}

/// Where a sample was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// At the producer.
    Production,
    /// At a seller.
    Distribution,
    /// Online.
    Ecommerce,
}

/// One simulated batch, with everything any layout might print.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The product type.
    pub product: &'static Product,
    /// The sample's own name.
    pub sample_name: String,
    /// The producer.
    pub enterprise: Enterprise,
    /// Where sampled.
    pub channel: Channel,
    /// Who was sampled.
    pub inspected_unit: String,
    /// Platform for online samples.
    pub platform: Option<&'static str>,
    /// Listing id for online samples.
    pub listing: Option<String>,
    /// Model and specification, canonical.
    pub model: String,
    /// Production date.
    pub produced: Date,
    /// Sampling date.
    pub sampled: Date,
    /// Failed.
    pub fail: bool,
    /// Failed items.
    pub items: Vec<&'static str>,
    /// Remark text and its flag.
    pub remark: Option<(&'static str, &'static str)>,
    /// Suspected counterfeit.
    pub counterfeit: bool,
    /// Inspection agency.
    pub agency: String,
    /// Certification body (Shanghai tables).
    pub cert_body: Option<&'static str>,
    /// Commissioned producer (`委托…`), printed inside the enterprise cell.
    pub entrusted: Option<String>,
}

/// Simulates one batch of `product` with fail probability `p_fail`, for a notice published on
/// `announced`.
#[allow(clippy::too_many_arguments)]
pub fn simulate(
    rng: &mut Rng,
    seed: u64,
    product: &'static Product,
    pool: usize,
    home: Option<&'static Province>,
    announced: Date,
    p_fail: f64,
    channel: Channel,
    agency: &str,
) -> Batch {
    // Enterprises of the home province for local checks; the pool recurs across years.
    let mut ent = enterprise::enterprise(seed, product, rng.below(pool));
    if let Some(home) = home {
        for _ in 0..12 {
            if ent.province.code == home.code {
                break;
            }
            ent = enterprise::enterprise(seed, product, rng.below(pool));
        }
    }
    let size_mult = crate::vocab::SIZE_FAIL_MULT[ent.size];
    let fail = rng.chance((p_fail * size_mult).min(0.95));
    let mut items = Vec::new();
    if fail {
        let n = 1 + usize::from(rng.chance(0.45)) + usize::from(rng.chance(0.15));
        while items.len() < n.min(product.items.len()) {
            // The first items of the list are the typical fails.
            let w: Vec<f64> = (0..product.items.len())
                .map(|i| 1.0 / (1.0 + i as f64))
                .collect();
            let item = product.items[rng.weighted(&w)];
            if !items.contains(&item) {
                items.push(item);
            }
        }
    }
    let counterfeit = fail && rng.chance(0.01);
    let remark = if counterfeit {
        Some(REMARK_FLAGS[2])
    } else if fail && rng.chance(0.02) {
        Some(REMARK_FLAGS[0])
    } else if !fail && rng.chance(0.005) {
        Some(REMARK_FLAGS[1])
    } else if fail && rng.chance(0.004) {
        Some(REMARK_FLAGS[4])
    } else if rng.chance(0.002) {
        Some(REMARK_FLAGS[5])
    } else {
        None
    };
    // Sampled weeks to months before the notice that publishes the result.
    let sampled = announced.minus_days(rng.range(15, 150) as u32);
    let produced = sampled.minus_days(rng.range(5, 200) as u32);
    let (inspected_unit, platform, listing) = match channel {
        Channel::Production => (ent.name.clone(), None, None),
        Channel::Distribution => (
            enterprise::seller(rng, home.unwrap_or(ent.province)),
            None,
            None,
        ),
        Channel::Ecommerce => (
            enterprise::shop(rng, &ent.brand),
            Some(*rng.pick(crate::vocab::PLATFORMS)),
            Some(format!("{}", rng.range(100_000_000_000, 999_999_999_999))),
        ),
    };
    let model = model_spec(rng, product);
    let sample_name = if rng.chance(0.35) {
        format!(
            "{}{}",
            rng.pick(&["家用", "多功能", "智能", "普通", "新款", "标准型"]),
            product.name
        )
    } else {
        product.name.to_owned()
    };
    let entrusted = rng.chance(0.02).then(|| {
        let other = enterprise::enterprise(seed, product, rng.below(pool));
        other.name_gbk
    });
    Batch {
        product,
        sample_name,
        enterprise: ent,
        channel,
        inspected_unit,
        platform,
        listing,
        model,
        produced,
        sampled,
        fail,
        items,
        remark,
        counterfeit,
        agency: agency.to_owned(),
        cert_body: rng.chance(0.3).then(|| {
            *rng.pick(&[
                "中国质量认证中心有限公司",
                "威凯认证检测有限公司",
                "广东质检中诚认证有限公司",
            ])
        }),
        entrusted,
    }
}

fn model_spec(rng: &mut Rng, product: &Product) -> String {
    let letters = ["HD", "SL", "XY", "LB", "BV", "KX", "ZD", "TDR", "JF", "HC"];
    let code = format!(
        "{}-{}{}",
        rng.pick(&letters),
        rng.range(10, 9999),
        rng.pick(&["", "A", "B", "S", "D"])
    );
    match product.industry {
        "电器" => format!(
            "{code} {}W {}L",
            rng.pick(&["800", "1500", "1800", "2000", "2200"]),
            rng.pick(&["1.2", "1.5", "1.7", "2.0"])
        ),
        "线缆" => format!("BV 450/750V 1×{}mm²", rng.pick(&["1.5", "2.5", "4", "6"])),
        "服饰" | "鞋业" => format!(
            "{}/{}",
            rng.pick(&["90", "100", "110", "120", "130"]),
            rng.pick(&["48", "52", "56", "60"])
        ),
        "化肥" => format!(
            "{}-{}-{} 40kg/袋",
            rng.range(8, 20),
            rng.range(8, 20),
            rng.range(8, 20)
        ),
        "陶瓷" => format!(
            "{}×{}mm",
            rng.pick(&["600", "800"]),
            rng.pick(&["600", "800", "1200"])
        ),
        "建材" => rng
            .pick(&["P·O 42.5", "P·C 32.5R", "P·S·A 32.5"])
            .to_string(),
        _ => code,
    }
}

/// The publication a row belongs to, as `publication.toml` states it.
#[derive(Debug, Clone)]
pub struct PubMeta {
    /// Resource id.
    pub resource_id: String,
    /// Publication directory name.
    pub publication_id: String,
    /// national, provincial, …
    pub check_level: &'static str,
    /// Publishing authority.
    pub authority: String,
    /// Notice number.
    pub announcement_no: Option<String>,
    /// Publication date.
    pub announced_on: Date,
    /// Plan year.
    pub plan_year: i32,
    /// Round as published.
    pub round: Option<String>,
    /// Special campaign.
    pub campaign: Option<String>,
    /// Notice title.
    pub title: String,
    /// full, fail_only or pass_only.
    pub scope: &'static str,
}

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
                rows: Vec::new(),
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

    /// A two-row header (Beijing HTML): a grouping row over the product columns, then names.
    pub fn two_row_header(&mut self) {
        let group: Vec<Cell> = self
            .layout
            .cols
            .iter()
            .map(|(c, h)| match c {
                Name | Brand | Model | Batch => Cell::text("产品信息"),
                _ => Cell::text(*h),
            })
            .collect();
        let names: Vec<Cell> = self
            .layout
            .cols
            .iter()
            .map(|(c, h)| match c {
                Name | Brand | Model | Batch => Cell::text(*h),
                _ => Cell::Empty,
            })
            .collect();
        self.sheet
            .rows
            .push((Shape::Cells(group), Truth::NonData("header")));
        self.sheet
            .rows
            .push((Shape::Cells(names), Truth::NonData("header")));
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
    fn product_elsewhere(&self) -> Option<&'static str> {
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
                        if let Some(other) = &b.entrusted {
                            raw = format!("{raw}（委托{other}）");
                            remarks.push(format!("委托{other}"));
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
                    Cell::text(match rng.below(3) {
                        0 => d.iso(),
                        1 => format!("{}.{}.{}", d.y, d.m, d.d),
                        _ => format!("{}年{}月{}日", d.y, d.m, d.d),
                    })
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
                        Cell::text(join_items(rng, &b.items, self.star_items))
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
        // else the place the name starts with (DESIGN §5 precedence).
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

fn gbk_safe(unit: &str, e: &Enterprise) -> String {
    if unit == e.name {
        e.name_gbk.clone()
    } else {
        unit.to_owned()
    }
}

fn set_place(t: &mut Map<String, Value>, e: &Enterprise, with_city: bool) {
    t.insert("enterprise_province_code".into(), json!(e.province.code));
    t.insert("enterprise_province".into(), json!(e.province.full));
    if with_city && let Some(city) = e.city {
        t.insert("enterprise_city".into(), json!(city));
    }
}

/// A location cell in one of the spellings of REAL-DATA §4.11; `None` for a placeholder.
/// The bool says whether the spelling names the city.
fn spell_location(rng: &mut Rng, e: &Enterprise, placeholder: bool) -> (Option<String>, bool) {
    if placeholder {
        return (None, false);
    }
    let p = e.province;
    let choice = rng.below(10);
    match (choice, e.city) {
        (0..=2, _) => (Some(p.short.to_owned()), false),
        (3..=4, _) => (Some(p.full.to_owned()), false),
        (5, _) if !p.abbr.is_empty() => (Some(p.abbr.to_owned()), false),
        (6..=7, Some(city)) => (Some(format!("{}{}", p.full, city)), true),
        (8, Some(city)) => (
            Some(format!("{}{}", p.short, city.trim_end_matches('市'))),
            true,
        ),
        (9, Some(city)) => (Some(city.to_owned()), true),
        _ => (Some(p.short.to_owned()), false),
    }
}

fn join_items(rng: &mut Rng, items: &[&str], star: bool) -> String {
    let mut sep = *rng.pick(&["、", "、", "，", ",", "；", ";", "\n"]);
    // A list uses one separator; one that occurs inside an item (`电气间隙、爬电距离…`) would
    // make the list unreadable, so such lists use `；`.
    if items.iter().any(|i| i.contains(['、', '，', ','])) {
        sep = "；";
    }
    items
        .iter()
        .map(|i| {
            if star && rng.chance(0.6) {
                format!("{i}*")
            } else {
                (*i).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(sep)
}

/// Result cells that say neither pass nor fail.
const UNREADABLE_RESULTS: [&str; 4] = ["待定", "见附件", "？", "复检中"];

/// Why a row must be rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectKind {
    /// The result cell says something that is neither pass nor fail.
    Result(&'static str),
    /// Nothing names the product.
    NoProduct,
}

/// The messiness applied to one row.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mess {
    /// Optional cells hold placeholders.
    pub placeholder: bool,
    /// Names use half-width brackets.
    pub half_brackets: bool,
    /// The model is printed in full-width characters.
    pub fullwidth: bool,
    /// A non-breaking space inside the model.
    pub nbsp: bool,
    /// The row appears twice.
    pub duplicate: bool,
    /// The batch cell holds an impossible date.
    pub bad_date: bool,
    /// The credit code has a wrong check character.
    pub bad_uscc: bool,
    /// A counterfeit row whose producer cell is empty.
    pub blank_producer: bool,
    /// A row that lost a cell (HTML only).
    pub ragged: bool,
    /// A row that cannot be published.
    pub reject: Option<RejectKind>,
}

impl Mess {
    /// Draws the messiness of one row at the rates of REAL-DATA §4 and §7.
    pub fn draw(rng: &mut Rng, table: &Table<'_>) -> Self {
        let mut m = Self {
            placeholder: rng.chance(0.08),
            half_brackets: rng.chance(0.2),
            fullwidth: rng.chance(0.04),
            nbsp: table.html && rng.chance(0.05),
            duplicate: rng.chance(0.003),
            bad_date: rng.chance(0.002),
            bad_uscc: rng.chance(0.05),
            blank_producer: rng.chance(0.5),
            ragged: false,
            reject: None,
        };
        if rng.chance(0.002) {
            let has = |c: Col| table.layout.cols.iter().any(|(x, _)| *x == c);
            if has(Result) {
                m.reject = Some(RejectKind::Result(
                    UNREADABLE_RESULTS[rng.below(UNREADABLE_RESULTS.len())],
                ));
            } else if has(Name) && !has(Product) && table.product_elsewhere().is_none() {
                m.reject = Some(RejectKind::NoProduct);
            }
        }
        if m.reject.is_some() {
            m.duplicate = false;
        }
        m
    }
}
