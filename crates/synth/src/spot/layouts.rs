//! The column layouts of the spot-check publications: which columns each resource's files
//! print, in what order, under which headers.

use super::*;

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

use super::Col::*;

/// The header sets of docs/REAL-DATA.md §1.2 (and three variants of ours for JSON, joint and re-check
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
