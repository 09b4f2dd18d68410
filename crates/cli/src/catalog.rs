//! `zhijian catalog`: the tree of categories, subcategories and resources, one resource's
//! schema, or the whole catalog as JSON, a Data Package or DCAT-AP JSON-LD.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use zhijian_catalog::export::{self, DataPackageOptions};
use zhijian_catalog::{Catalog, Resource};

use crate::CliError;

/// Arguments of `zhijian catalog`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Read `catalog.toml` and `tables/` from this directory instead of the copy built into the binary.
    #[arg(long, env = "ZHIJIAN_SCHEMAS", value_name = "DIR")]
    schemas: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Tree)]
    format: Format,
    /// Show one resource (by id such as A1-02, or table name) with its schema.
    #[arg(long, value_name = "ID")]
    resource: Option<String>,
    /// Base URL of the service, used in DCAT identifiers.
    #[arg(
        long,
        env = "ZHIJIAN_BASE_URL",
        default_value = "http://127.0.0.1:8080/"
    )]
    base_url: String,
}

/// Output formats of `zhijian catalog`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// Human-readable tree (or field table with `--resource`).
    Tree,
    /// The same as JSON.
    Json,
    /// Frictionless Data Package (`datapackage.json`).
    Datapackage,
    /// DCAT-AP JSON-LD.
    Dcat,
}

pub(crate) fn run(args: &CatalogArgs, out: &mut impl Write) -> Result<(), CliError> {
    let catalog = match &args.schemas {
        Some(dir) => Catalog::load_dir(dir)?,
        None => Catalog::builtin()?,
    };
    if let Some(wanted) = &args.resource {
        let resource = catalog
            .resource(wanted)
            .or_else(|_| catalog.resource_by_table(wanted))
            .map_err(|_| zhijian_catalog::CatalogError::NotFound {
                kind: "resource with id or table",
                name: wanted.clone(),
            })?;
        return match args.format {
            Format::Tree => write_resource(&catalog, resource, out),
            Format::Json => write_json(out, &resource_json(&catalog, resource)),
            Format::Datapackage | Format::Dcat => {
                let all = document(&catalog, args);
                write_json(out, &all)
            }
        };
    }
    match args.format {
        Format::Tree => write_tree(&catalog, out),
        _ => write_json(out, &document(&catalog, args)),
    }
}

fn document(catalog: &Catalog, args: &CatalogArgs) -> Value {
    match args.format {
        Format::Datapackage => export::datapackage(catalog, &DataPackageOptions::default()),
        Format::Dcat => export::dcat(catalog, &args.base_url),
        Format::Tree | Format::Json => tree_json(catalog),
    }
}

fn write_json(out: &mut impl Write, value: &Value) -> Result<(), CliError> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

fn write_tree(catalog: &Catalog, out: &mut impl Write) -> Result<(), CliError> {
    let info = &catalog.info;
    let sc = catalog.resources.iter().filter(|r| r.spot_check).count();
    writeln!(
        out,
        "{} {} — {} categories, {} subcategories, {} resources ({sc} spot-check)",
        info.title_zh,
        info.title_en,
        catalog.categories.len(),
        catalog.subcategories.len(),
        catalog.resources.len()
    )?;
    for c in &catalog.categories {
        let n = catalog.resources_in_category(&c.id).count();
        writeln!(out, "{} {} {} ({n})", c.id, c.title_zh, c.title_en)?;
        for s in catalog.subcategories_of(&c.id) {
            writeln!(out, "  {} {} {}", s.id, s.title_zh, s.title_en)?;
            for r in catalog.resources_of(&s.id) {
                let mark = if r.spot_check { "  [SC]" } else { "" };
                writeln!(
                    out,
                    "    {} {} · {} ({}){mark}",
                    r.id, r.title_zh, r.title_en, r.table
                )?;
            }
        }
    }
    Ok(())
}

fn write_resource(catalog: &Catalog, r: &Resource, out: &mut impl Write) -> Result<(), CliError> {
    let schema = catalog.schema_of(r)?;
    writeln!(out, "{} {} · {}", r.id, r.title_zh, r.title_en)?;
    writeln!(out, "  table:     {}", r.table)?;
    writeln!(out, "  schema:    {}", r.schema)?;
    writeln!(out, "  publisher: {} · {}", r.publisher_zh, r.publisher_en)?;
    writeln!(
        out,
        "  frequency: {} · {}",
        r.frequency.label_zh(),
        r.frequency.label_en()
    )?;
    let end = r
        .temporal_end
        .map_or_else(|| "now".to_owned(), |y| y.to_string());
    writeln!(out, "  coverage:  {}–{end}", r.temporal_start)?;
    writeln!(out, "  licence:   {}", r.license)?;
    writeln!(out, "  key:       {}", schema.primary_key.join(", "))?;
    writeln!(out, "  {}", r.description_zh)?;
    writeln!(out, "  {}", r.description_en)?;
    writeln!(out)?;
    let arrow = schema.to_arrow();
    for (f, a) in schema.fields.iter().zip(arrow.fields()) {
        let null = if a.is_nullable() { "" } else { " not null" };
        writeln!(
            out,
            "  {:<26} {:<28} {} · {}",
            f.name,
            format!("{}{null}", a.data_type()),
            f.title,
            f.title_en
        )?;
    }
    Ok(())
}

fn resource_summary(catalog: &Catalog, r: &Resource) -> Value {
    let fields = catalog
        .schema_of(r)
        .map(|s| s.fields.len())
        .unwrap_or_default();
    json!({
        "id": r.id,
        "table": r.table,
        "title_zh": r.title_zh,
        "title_en": r.title_en,
        "spot_check": r.spot_check,
        "schema": r.schema,
        "fields": fields,
        "frequency": r.frequency,
    })
}

fn resource_json(catalog: &Catalog, r: &Resource) -> Value {
    let mut value = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Ok(schema) = catalog.schema_of(r) {
        value["table_schema"] = serde_json::to_value(schema).unwrap_or(Value::Null);
    }
    value
}

fn tree_json(catalog: &Catalog) -> Value {
    let categories: Vec<Value> = catalog
        .categories
        .iter()
        .map(|c| {
            let subcategories: Vec<Value> = catalog
                .subcategories_of(&c.id)
                .map(|s| {
                    let resources: Vec<Value> =
                        catalog.resources_of(&s.id).map(|r| resource_summary(catalog, r)).collect();
                    json!({ "id": s.id, "title_zh": s.title_zh, "title_en": s.title_en, "resources": resources })
                })
                .collect();
            json!({
                "id": c.id,
                "title_zh": c.title_zh,
                "title_en": c.title_en,
                "description_zh": c.description_zh,
                "description_en": c.description_en,
                "subcategories": subcategories,
            })
        })
        .collect();
    json!({
        "catalog": catalog.info,
        "counts": {
            "categories": catalog.categories.len(),
            "subcategories": catalog.subcategories.len(),
            "resources": catalog.resources.len(),
            "spot_check_resources": catalog.resources.iter().filter(|r| r.spot_check).count(),
        },
        "categories": categories,
    })
}
