//! The catalog in the metadata formats researchers' tools read: a Frictionless Data Package
//! (`datapackage.json`) and DCAT-AP as JSON-LD.

use serde_json::{Value, json};

use crate::catalog::{Catalog, Resource};

/// How the Data Package points at the data files.
#[derive(Debug, Clone)]
pub struct DataPackageOptions {
    /// Prepended to `<table>.csv` to make each resource's `path` (relative or a URL).
    pub path_prefix: String,
    /// The package version, e.g. the snapshot id.
    pub version: Option<String>,
    /// When the package was created (RFC 3339).
    pub created: Option<String>,
}

impl Default for DataPackageOptions {
    fn default() -> Self {
        Self {
            path_prefix: "data/".into(),
            version: None,
            created: None,
        }
    }
}

/// The licence object of Data Package v2 for an SPDX id.
fn license(id: &str) -> Value {
    match id {
        "CC-BY-4.0" => json!({
            "name": id,
            "path": "https://creativecommons.org/licenses/by/4.0/",
            "title": "Creative Commons Attribution 4.0 International",
        }),
        other => {
            json!({ "name": other, "path": format!("https://spdx.org/licenses/{other}.html") })
        }
    }
}

fn license_uri(id: &str) -> String {
    license(id)["path"].as_str().unwrap_or_default().to_owned()
}

/// The Frictionless Data Package (v2) describing every resource, with its schema inline.
pub fn datapackage(catalog: &Catalog, options: &DataPackageOptions) -> Value {
    let info = &catalog.info;
    let resources: Vec<Value> = catalog
        .resources
        .iter()
        .map(|r| {
            let schema = catalog
                .schema_of(r)
                .ok()
                .and_then(|s| serde_json::to_value(s).ok())
                .unwrap_or(Value::Null);
            json!({
                "name": r.table,
                "type": "table",
                "path": format!("{}{}.csv", options.path_prefix, r.table),
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "title": r.title_zh,
                "description": r.description_zh,
                "licenses": [license(&r.license)],
                "sources": [{ "title": r.publisher_zh }],
                "schema": schema,
                "x-id": r.id,
                "x-title-en": r.title_en,
                "x-description-en": r.description_en,
                "x-category": r.category_id(),
                "x-subcategory": r.subcategory_id(),
                "x-frequency": r.frequency,
                "x-temporal": { "start": r.temporal_start, "end": r.temporal_end },
                "x-spot-check": r.spot_check,
                "x-keywords-en": r.keywords_en,
                "keywords": r.keywords_zh,
            })
        })
        .collect();
    let mut package = json!({
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": info.id,
        "title": format!("{} {}", info.title_zh, info.title_en),
        "description": format!("{}\n\n{}", info.description_zh, info.description_en),
        "homepage": info.homepage,
        "licenses": [license(&info.license)],
        "contributors": [{ "title": info.publisher_zh, "roles": ["publisher"] }],
        "keywords": ["质检", "监督抽查", "quality supervision", "spot checks", "China"],
        "resources": resources,
    });
    if let Some(version) = &options.version {
        package["version"] = json!(version);
    }
    if let Some(created) = &options.created {
        package["created"] = json!(created);
    }
    package
}

fn text(zh: &str, en: &str) -> Value {
    json!([{ "@value": zh, "@language": "zh" }, { "@value": en, "@language": "en" }])
}

/// The catalog as DCAT-AP JSON-LD; `base` is the service's base URL, ending in `/`.
pub fn dcat(catalog: &Catalog, base: &str) -> Value {
    let info = &catalog.info;
    let publisher_id = format!("{base}#publisher");
    let scheme_id = format!("{base}themes");
    let mut graph = vec![
        json!({
            "@id": format!("{base}catalog"),
            "@type": "dcat:Catalog",
            "dct:identifier": info.id,
            "dct:title": text(&info.title_zh, &info.title_en),
            "dct:description": text(&info.description_zh, &info.description_en),
            "dct:publisher": { "@id": publisher_id },
            "dct:license": { "@id": license_uri(&info.license) },
            "dct:language": info.language.iter().map(|l| json!({ "@id": language_uri(l) })).collect::<Vec<_>>(),
            "foaf:homepage": { "@id": info.homepage },
            "dcat:themeTaxonomy": { "@id": scheme_id },
            "dcat:dataset": catalog.resources.iter().map(|r| json!({ "@id": dataset_id(base, r) })).collect::<Vec<_>>(),
        }),
        json!({
            "@id": publisher_id,
            "@type": "foaf:Agent",
            "foaf:name": text(&info.publisher_zh, &info.publisher_en),
        }),
        json!({
            "@id": scheme_id,
            "@type": "skos:ConceptScheme",
            "dct:title": text("质检数据六大类二十四小类", "Six categories and twenty-four subcategories"),
        }),
    ];
    for c in &catalog.categories {
        graph.push(json!({
            "@id": format!("{base}themes/{}", c.id),
            "@type": "skos:Concept",
            "skos:notation": c.id,
            "skos:prefLabel": text(&c.title_zh, &c.title_en),
            "skos:definition": text(&c.description_zh, &c.description_en),
            "skos:inScheme": { "@id": scheme_id },
            "skos:topConceptOf": { "@id": scheme_id },
        }));
    }
    for s in &catalog.subcategories {
        graph.push(json!({
            "@id": format!("{base}themes/{}", s.id),
            "@type": "skos:Concept",
            "skos:notation": s.id,
            "skos:prefLabel": text(&s.title_zh, &s.title_en),
            "skos:inScheme": { "@id": scheme_id },
            "skos:broader": { "@id": format!("{base}themes/{}", s.category_id()) },
        }));
    }
    for r in &catalog.resources {
        let mut temporal = json!({
            "@type": "dct:PeriodOfTime",
            "dcat:startDate": { "@value": format!("{}-01-01", r.temporal_start), "@type": "xsd:date" },
        });
        if let Some(end) = r.temporal_end {
            temporal["dcat:endDate"] =
                json!({ "@value": format!("{end}-12-31"), "@type": "xsd:date" });
        }
        let keywords: Vec<Value> = r
            .keywords_zh
            .iter()
            .map(|k| json!({ "@value": k, "@language": "zh" }))
            .chain(
                r.keywords_en
                    .iter()
                    .map(|k| json!({ "@value": k, "@language": "en" })),
            )
            .collect();
        graph.push(json!({
            "@id": dataset_id(base, r),
            "@type": "dcat:Dataset",
            "dct:identifier": r.id,
            "dct:title": text(&r.title_zh, &r.title_en),
            "dct:description": text(&r.description_zh, &r.description_en),
            "dcat:keyword": keywords,
            "dct:publisher": { "@type": "foaf:Agent", "foaf:name": text(&r.publisher_zh, &r.publisher_en) },
            "dct:accrualPeriodicity": { "@id": r.frequency.dcat_uri() },
            "dct:temporal": temporal,
            "dct:license": { "@id": license_uri(&r.license) },
            "dcat:theme": [
                { "@id": format!("{base}themes/{}", r.category_id()) },
                { "@id": format!("{base}themes/{}", r.subcategory_id()) },
            ],
        }));
    }
    json!({
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "skos": "http://www.w3.org/2004/02/skos/core#",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@graph": graph,
    })
}

fn dataset_id(base: &str, r: &Resource) -> String {
    format!("{base}datasets/{}", r.id)
}

fn language_uri(tag: &str) -> String {
    let code = match tag {
        "zh" => "ZHO",
        "en" => "ENG",
        other => other,
    };
    format!("http://publications.europa.eu/resource/authority/language/{code}")
}
