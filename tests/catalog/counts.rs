use std::collections::BTreeMap;

use zhijian_catalog::{Catalog, FieldType, LINEAGE_FIELDS, SPOT_CHECK_SCHEMA};
use zhijian_tests::schemas_dir;

fn catalog() -> Catalog {
    Catalog::load_dir(&schemas_dir()).expect("schemas/ is a valid catalog")
}

#[test]
fn six_categories_twenty_four_subcategories_108_resources() {
    let c = catalog();
    assert_eq!(c.categories.len(), 6);
    assert_eq!(c.subcategories.len(), 24);
    assert_eq!(c.resources.len(), 108);
    let per_category: BTreeMap<&str, usize> = c
        .categories
        .iter()
        .map(|cat| (cat.id.as_str(), c.resources_in_category(&cat.id).count()))
        .collect();
    let expected = BTreeMap::from([
        ("A", 20),
        ("B", 17),
        ("C", 17),
        ("D", 17),
        ("E", 18),
        ("F", 19),
    ]);
    assert_eq!(per_category, expected);
    // TAXONOMY.md: A 5+5+5+5; B 5+4+4+4; C 4+5+4+4; D 5+4+4+4; E 5+5+4+4; F 5+5+5+4.
    let per_sub: Vec<usize> = c
        .subcategories
        .iter()
        .map(|s| c.resources_of(&s.id).count())
        .collect();
    assert_eq!(
        per_sub,
        [
            5, 5, 5, 5, 5, 4, 4, 4, 4, 5, 4, 4, 5, 4, 4, 4, 5, 5, 4, 4, 5, 5, 5, 4
        ]
    );
    for s in &c.subcategories {
        assert_eq!(c.subcategories_of(s.category_id()).count(), 4, "{}", s.id);
    }
}

#[test]
fn the_embedded_catalog_is_the_one_on_disk() {
    let embedded = Catalog::builtin().expect("embedded catalog is valid");
    let disk = catalog();
    let ids = |c: &Catalog| {
        c.resources
            .iter()
            .map(|r| (r.id.clone(), r.table.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&embedded), ids(&disk));
    assert_eq!(
        embedded.schemas(),
        disk.schemas(),
        "rebuild: schemas/ changed after the build"
    );
}

#[test]
fn spot_check_resources_share_the_canonical_schema() {
    let c = catalog();
    let sc: Vec<&str> = c
        .resources
        .iter()
        .filter(|r| r.spot_check)
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(
        sc,
        [
            "A1-02", "A1-03", "A2-01", "A2-02", "A2-03", "A2-04", "A3-01", "A3-02", "A3-04",
            "C2-05"
        ]
    );
    for r in &c.resources {
        assert_eq!(r.spot_check, r.schema == SPOT_CHECK_SCHEMA, "{}", r.id);
        let schema = c.schema_of(r).expect("every resource has a schema");
        for lineage in LINEAGE_FIELDS {
            assert!(schema.field(lineage).is_some(), "{} lacks {lineage}", r.id);
        }
    }
    let ids: std::collections::HashSet<_> = c.resources.iter().map(|r| &r.table).collect();
    assert_eq!(ids.len(), 108, "table names are unique");
}

#[test]
fn canonical_spot_check_columns_have_the_designed_types() {
    use arrow_schema::DataType;
    let c = catalog();
    let schema = c.schema(SPOT_CHECK_SCHEMA).expect("spot_checks schema");
    let arrow = schema.to_arrow();
    let ty = |name: &str| arrow.field_with_name(name).expect(name).data_type().clone();
    // docs/DESIGN.md §5.
    for name in [
        "record_id",
        "resource_id",
        "publication_id",
        "check_level",
        "authority",
        "announcement_no",
        "round",
        "product_category",
        "product_subcategory",
        "product",
        "sample_name",
        "enterprise",
        "enterprise_province_code",
        "enterprise_province",
        "enterprise_city",
        "enterprise_uscc",
        "inspected_unit",
        "sampling_channel",
        "ecommerce_platform",
        "brand",
        "model_spec",
        "batch_raw",
        "result",
        "inspection_agency",
        "remarks",
        "source_file",
        "source_sheet",
    ] {
        assert_eq!(ty(name), DataType::Utf8, "{name}");
    }
    assert_eq!(ty("announced_on"), DataType::Date32);
    assert_eq!(ty("production_date"), DataType::Date32);
    assert_eq!(ty("plan_year"), DataType::Int16);
    assert_eq!(ty("source_row"), DataType::Int32);
    for list in ["failed_items", "flags"] {
        assert!(
            matches!(ty(list), DataType::List(item) if item.data_type() == &DataType::Utf8),
            "{list}"
        );
    }
    assert!(
        !arrow
            .field_with_name("record_id")
            .expect("record_id")
            .is_nullable()
    );
    assert!(arrow.field_with_name("brand").expect("brand").is_nullable());
    let result = schema.field("result").expect("result");
    assert_eq!(result.field_type, FieldType::String);
    assert_eq!(
        result.constraints.enum_values.as_deref(),
        Some(&[serde_json::json!("pass"), serde_json::json!("fail")][..])
    );
    // The alias inventory of docs/REAL-DATA.md §1.2 maps to the canonical columns.
    let owner = |header: &str| {
        let key = zhijian_catalog::header_key(header);
        schema
            .fields
            .iter()
            .find(|f| {
                std::iter::once(&f.title)
                    .chain(&f.aliases)
                    .any(|a| zhijian_catalog::header_key(a) == key)
            })
            .map(|f| f.name.as_str())
    };
    assert_eq!(owner("标称生产 单位所在地"), Some("enterprise_province"));
    assert_eq!(owner("生产日期/\n批号"), Some("batch_raw"));
    assert_eq!(owner("检验 结论"), Some("result"));
    assert_eq!(owner("不合格项目║检验结果║标准值"), Some("failed_items"));
    assert_eq!(owner("被抽样生产者、销售者"), Some("inspected_unit"));
    assert_eq!(owner("标称生产企业名称/进货来源名称"), Some("enterprise"));
    assert_eq!(owner("承建机构"), Some("inspection_agency"));
    assert_eq!(owner("产品种类"), Some("product"));
    assert_eq!(owner("产品名称"), Some("sample_name"));
    assert_eq!(owner("序号"), None, "序号 is an ignored header");
}
