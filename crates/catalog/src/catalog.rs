//! The catalog: categories, subcategories and resources from `catalog.toml`, each resource
//! tied to its Table Schema.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CatalogError, Result};
use crate::schema::TableSchema;
use crate::thesaurus::{THESAURUS_FILE, Thesaurus};

/// How many categories, subcategories and resources the taxonomy has (`TAXONOMY.md`).
pub const EXPECTED_COUNTS: (usize, usize, usize) = (6, 24, 108);

/// The schema that all spot-check resources share (docs/DESIGN.md §5).
pub const SPOT_CHECK_SCHEMA: &str = "spot_checks";

/// The columns a resource's Parquet file is sorted by (ascending, nulls first): the common
/// listing filters of spot checks, otherwise the primary key; `record_id` last, so the order
/// is total. Ingest writes in this order and the query side declares it to DataFusion.
pub fn sort_order(schema_name: &str, primary_key: &[String]) -> Vec<String> {
    if schema_name == SPOT_CHECK_SCHEMA {
        ["product", "plan_year", "enterprise", "record_id"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    } else {
        primary_key
            .iter()
            .filter(|k| *k != "record_id")
            .cloned()
            .chain(std::iter::once("record_id".to_owned()))
            .collect()
    }
}

/// The catalog file, relative to the schemas directory.
pub const CATALOG_FILE: &str = "catalog.toml";

/// The directory of Table Schemas, relative to the schemas directory.
pub const TABLES_DIR: &str = "tables";

/// The whole catalog, validated: every resource has a schema and every schema is valid.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Metadata of the catalog itself.
    pub info: CatalogInfo,
    /// The 6 categories, in file order.
    pub categories: Vec<Category>,
    /// The 24 subcategories, in file order.
    pub subcategories: Vec<Subcategory>,
    /// The 108 resources, in file order.
    pub resources: Vec<Resource>,
    /// The product thesaurus (`products.toml`).
    pub products: Thesaurus,
    schemas: BTreeMap<String, TableSchema>,
}

/// Metadata of the catalog as a whole.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogInfo {
    /// Short machine name.
    pub id: String,
    /// Chinese title.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
    /// Chinese description.
    pub description_zh: String,
    /// English description.
    pub description_en: String,
    /// Who publishes the catalog, in Chinese.
    pub publisher_zh: String,
    /// Who publishes the catalog, in English.
    pub publisher_en: String,
    /// Base URL of the service.
    pub homepage: String,
    /// SPDX licence id of the compilation.
    pub license: String,
    /// Languages of the metadata (BCP 47).
    pub language: Vec<String>,
}

/// A top-level category (`A` … `F`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// One capital letter.
    pub id: String,
    /// Chinese title.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
    /// Chinese description.
    pub description_zh: String,
    /// English description.
    pub description_en: String,
}

/// A subcategory (`A1` … `F4`); its category is the first letter of its id.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subcategory {
    /// Category letter and one digit.
    pub id: String,
    /// Chinese title.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
}

impl Subcategory {
    /// Id of the category this subcategory belongs to.
    pub fn category_id(&self) -> &str {
        self.id.get(..1).unwrap_or_default()
    }
}

/// How often a resource is updated at its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Frequency {
    /// Every day.
    Daily,
    /// Every week.
    Weekly,
    /// Every month.
    Monthly,
    /// Every quarter.
    Quarterly,
    /// Every year.
    Annual,
    /// As the authority publishes.
    Irregular,
}

impl Frequency {
    /// The EU Publications Office frequency authority URI (used by DCAT-AP).
    pub fn dcat_uri(self) -> &'static str {
        match self {
            Self::Daily => "http://publications.europa.eu/resource/authority/frequency/DAILY",
            Self::Weekly => "http://publications.europa.eu/resource/authority/frequency/WEEKLY",
            Self::Monthly => "http://publications.europa.eu/resource/authority/frequency/MONTHLY",
            Self::Quarterly => {
                "http://publications.europa.eu/resource/authority/frequency/QUARTERLY"
            }
            Self::Annual => "http://publications.europa.eu/resource/authority/frequency/ANNUAL",
            Self::Irregular => "http://publications.europa.eu/resource/authority/frequency/IRREG",
        }
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Daily => "每日",
            Self::Weekly => "每周",
            Self::Monthly => "每月",
            Self::Quarterly => "每季度",
            Self::Annual => "每年",
            Self::Irregular => "不定期",
        }
    }

    /// English label (the serde name).
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
            Self::Quarterly => "quarterly",
            Self::Annual => "annual",
            Self::Irregular => "irregular",
        }
    }
}

/// One of the 108 data resources.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// Stable id: subcategory id, `-`, two digits (`A1-02`).
    pub id: String,
    /// SQL table name, English snake_case.
    pub table: String,
    /// Chinese title.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
    /// Chinese description.
    pub description_zh: String,
    /// English description.
    pub description_en: String,
    /// The authority that publishes the source data, in Chinese.
    pub publisher_zh: String,
    /// The authority that publishes the source data, in English.
    pub publisher_en: String,
    /// How often the source is updated.
    pub frequency: Frequency,
    /// SPDX licence id.
    pub license: String,
    /// Chinese keywords.
    pub keywords_zh: Vec<String>,
    /// English keywords.
    pub keywords_en: Vec<String>,
    /// First year covered.
    pub temporal_start: u16,
    /// Last year covered; `None` while the series goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporal_end: Option<u16>,
    /// Whether the resource normalizes into the canonical `spot_checks` schema.
    pub spot_check: bool,
    /// Name of the Table Schema (`schemas/tables/<schema>.json`).
    pub schema: String,
}

impl Resource {
    /// Id of the subcategory (`A1` for `A1-02`).
    pub fn subcategory_id(&self) -> &str {
        self.id.get(..2).unwrap_or_default()
    }

    /// Id of the category (`A` for `A1-02`).
    pub fn category_id(&self) -> &str {
        self.id.get(..1).unwrap_or_default()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    catalog: CatalogInfo,
    categories: Vec<Category>,
    subcategories: Vec<Subcategory>,
    resources: Vec<Resource>,
}

/// Where catalog files come from: a directory on disk or the copy built into the binary.
trait Source {
    /// The path to name in errors for a file relative to the schemas directory.
    fn path(&self, rel: &str) -> PathBuf;
    /// The text of a file relative to the schemas directory.
    fn read(&self, rel: &str) -> Result<String>;
    /// Names of all schema files present (without `.json`).
    fn schema_names(&self) -> Result<BTreeSet<String>>;
}

struct Dir<'a>(&'a Path);

impl Source for Dir<'_> {
    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    fn read(&self, rel: &str) -> Result<String> {
        let path = self.path(rel);
        std::fs::read_to_string(&path).map_err(|source| CatalogError::Read { path, source })
    }

    fn schema_names(&self) -> Result<BTreeSet<String>> {
        let dir = self.path(TABLES_DIR);
        let entries = std::fs::read_dir(&dir).map_err(|source| CatalogError::Read {
            path: dir.clone(),
            source,
        })?;
        let mut names = BTreeSet::new();
        for entry in entries {
            let entry = entry.map_err(|source| CatalogError::Read {
                path: dir.clone(),
                source,
            })?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json")
                && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
            {
                names.insert(stem.to_owned());
            }
        }
        Ok(names)
    }
}

struct Embedded;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

impl Source for Embedded {
    fn path(&self, rel: &str) -> PathBuf {
        Path::new("schemas").join(rel)
    }

    fn read(&self, rel: &str) -> Result<String> {
        embedded::FILES
            .iter()
            .find(|(name, _)| *name == rel)
            .map(|(_, text)| (*text).to_owned())
            .ok_or_else(|| CatalogError::Read {
                path: self.path(rel),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not embedded"),
            })
    }

    fn schema_names(&self) -> Result<BTreeSet<String>> {
        let prefix = format!("{TABLES_DIR}/");
        Ok(embedded::FILES
            .iter()
            .filter_map(|(name, _)| name.strip_prefix(&prefix)?.strip_suffix(".json"))
            .map(str::to_owned)
            .collect())
    }
}

impl Catalog {
    /// The catalog built into this binary from the repository's `schemas/`.
    pub fn builtin() -> Result<Self> {
        Self::load_from(&Embedded)
    }

    /// Loads and validates `catalog.toml` and `tables/*.json` from a schemas directory.
    pub fn load_dir(dir: &Path) -> Result<Self> {
        Self::load_from(&Dir(dir))
    }

    fn load_from(source: &dyn Source) -> Result<Self> {
        let path = source.path(CATALOG_FILE);
        let text = source.read(CATALOG_FILE)?;
        let file: CatalogFile = toml::from_str(&text).map_err(|e| CatalogError::Toml {
            path: path.clone(),
            source: Box::new(e),
        })?;
        let CatalogFile {
            catalog: info,
            categories,
            subcategories,
            resources,
        } = file;
        let mut catalog = Self {
            info,
            categories,
            subcategories,
            resources,
            products: Thesaurus::default(),
            schemas: BTreeMap::new(),
        };
        catalog.check_entries(&path)?;

        let present = source.schema_names()?;
        let wanted: BTreeSet<&str> = catalog
            .resources
            .iter()
            .map(|r| r.schema.as_str())
            .collect();
        for resource in &catalog.resources {
            if !present.contains(&resource.schema) {
                return Err(entry(
                    &path,
                    "resource",
                    &resource.id,
                    format!(
                        "schema `{}` has no file {TABLES_DIR}/{}.json",
                        resource.schema, resource.schema
                    ),
                ));
            }
        }
        if let Some(unused) = present.iter().find(|name| !wanted.contains(name.as_str())) {
            return Err(CatalogError::Schema {
                path: source.path(&format!("{TABLES_DIR}/{unused}.json")),
                field: None,
                problem: "is not the schema of any resource in catalog.toml".into(),
            });
        }
        for name in wanted {
            let rel = format!("{TABLES_DIR}/{name}.json");
            let schema = TableSchema::from_json(&source.path(&rel), &source.read(&rel)?)?;
            catalog.schemas.insert(name.to_owned(), schema);
        }
        catalog.check_counts(&path)?;
        catalog.products =
            Thesaurus::from_toml(&source.path(THESAURUS_FILE), &source.read(THESAURUS_FILE)?)?;
        Ok(catalog)
    }

    fn check_entries(&self, path: &Path) -> Result<()> {
        let mut ids = HashSet::new();
        for c in &self.categories {
            let ok = c.id.len() == 1 && c.id.chars().all(|ch| ch.is_ascii_uppercase());
            if !ok {
                return Err(entry(
                    path,
                    "category",
                    &c.id,
                    "id must be one capital letter".into(),
                ));
            }
            require_text(
                path,
                "category",
                &c.id,
                &[
                    &c.title_zh,
                    &c.title_en,
                    &c.description_zh,
                    &c.description_en,
                ],
            )?;
            if !ids.insert(c.id.as_str()) {
                return Err(entry(path, "category", &c.id, "id appears twice".into()));
            }
        }
        for s in &self.subcategories {
            let b = s.id.as_bytes();
            if !(b.len() == 2 && b[0].is_ascii_uppercase() && (b'1'..=b'9').contains(&b[1])) {
                return Err(entry(
                    path,
                    "subcategory",
                    &s.id,
                    "id must be a category letter and a digit 1-9".into(),
                ));
            }
            if !ids.contains(s.category_id()) {
                return Err(entry(
                    path,
                    "subcategory",
                    &s.id,
                    format!("category `{}` does not exist", s.category_id()),
                ));
            }
            require_text(path, "subcategory", &s.id, &[&s.title_zh, &s.title_en])?;
            if !ids.insert(s.id.as_str()) {
                return Err(entry(path, "subcategory", &s.id, "id appears twice".into()));
            }
        }
        let mut tables = HashSet::new();
        for r in &self.resources {
            let b = r.id.as_bytes();
            let ok = b.len() == 5 && b[2] == b'-' && b[3].is_ascii_digit() && b[4].is_ascii_digit();
            if !ok || r.subcategory_id().len() != 2 {
                return Err(entry(
                    path,
                    "resource",
                    &r.id,
                    "id must look like A1-02".into(),
                ));
            }
            if !self
                .subcategories
                .iter()
                .any(|s| s.id == r.subcategory_id())
            {
                return Err(entry(
                    path,
                    "resource",
                    &r.id,
                    format!("subcategory `{}` does not exist", r.subcategory_id()),
                ));
            }
            if !ids.insert(r.id.as_str()) {
                return Err(entry(path, "resource", &r.id, "id appears twice".into()));
            }
            let snake = r.table.starts_with(|c: char| c.is_ascii_lowercase())
                && r.table
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !snake {
                return Err(entry(
                    path,
                    "resource",
                    &r.id,
                    format!("table `{}` must be English snake_case", r.table),
                ));
            }
            if r.table == SPOT_CHECK_SCHEMA || !tables.insert(r.table.as_str()) {
                return Err(entry(
                    path,
                    "resource",
                    &r.id,
                    format!("table `{}` is already taken", r.table),
                ));
            }
            require_text(
                path,
                "resource",
                &r.id,
                &[
                    &r.title_zh,
                    &r.title_en,
                    &r.description_zh,
                    &r.description_en,
                    &r.publisher_zh,
                    &r.publisher_en,
                    &r.license,
                ],
            )?;
            if r.keywords_zh.is_empty() || r.keywords_en.is_empty() {
                return Err(entry(
                    path,
                    "resource",
                    &r.id,
                    "needs Chinese and English keywords".into(),
                ));
            }
            let end = r.temporal_end.unwrap_or(2100);
            if !(1949..=2100).contains(&r.temporal_start) || r.temporal_start > end || end > 2100 {
                return Err(entry(
                    path,
                    "resource",
                    &r.id,
                    format!(
                        "temporal coverage {}–{end} is not a range of years within 1949–2100",
                        r.temporal_start
                    ),
                ));
            }
            if r.spot_check != (r.schema == SPOT_CHECK_SCHEMA) {
                return Err(entry(
                    path,
                    "resource",
                    &r.id,
                    format!(
                        "spot-check resources, and only they, use the `{SPOT_CHECK_SCHEMA}` schema"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_counts(&self, path: &Path) -> Result<()> {
        let (cats, subs, res) = EXPECTED_COUNTS;
        for (level, expected, found) in [
            ("categories", cats, self.categories.len()),
            ("subcategories", subs, self.subcategories.len()),
            ("resources", res, self.resources.len()),
        ] {
            if expected != found {
                return Err(CatalogError::Count {
                    path: path.to_path_buf(),
                    level,
                    expected,
                    found,
                });
            }
        }
        for c in &self.categories {
            if self.subcategories_of(&c.id).next().is_none() {
                return Err(entry(
                    path,
                    "category",
                    &c.id,
                    "has no subcategories".into(),
                ));
            }
        }
        for s in &self.subcategories {
            if self.resources_of(&s.id).next().is_none() {
                return Err(entry(path, "subcategory", &s.id, "has no resources".into()));
            }
        }
        Ok(())
    }

    /// Subcategories of a category, in file order.
    pub fn subcategories_of<'a>(
        &'a self,
        category: &'a str,
    ) -> impl Iterator<Item = &'a Subcategory> {
        self.subcategories
            .iter()
            .filter(move |s| s.category_id() == category)
    }

    /// Resources of a subcategory, in file order.
    pub fn resources_of<'a>(&'a self, subcategory: &'a str) -> impl Iterator<Item = &'a Resource> {
        self.resources
            .iter()
            .filter(move |r| r.subcategory_id() == subcategory)
    }

    /// Resources of a category, in file order.
    pub fn resources_in_category<'a>(
        &'a self,
        category: &'a str,
    ) -> impl Iterator<Item = &'a Resource> {
        self.resources
            .iter()
            .filter(move |r| r.category_id() == category)
    }

    /// The resource with this id (`A1-02`).
    pub fn resource(&self, id: &str) -> Result<&Resource> {
        self.resources
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| CatalogError::NotFound {
                kind: "resource",
                name: id.to_owned(),
            })
    }

    /// The resource published as this table.
    pub fn resource_by_table(&self, table: &str) -> Result<&Resource> {
        self.resources
            .iter()
            .find(|r| r.table == table)
            .ok_or_else(|| CatalogError::NotFound {
                kind: "table",
                name: table.to_owned(),
            })
    }

    /// A Table Schema by name.
    pub fn schema(&self, name: &str) -> Result<&TableSchema> {
        self.schemas
            .get(name)
            .ok_or_else(|| CatalogError::NotFound {
                kind: "schema",
                name: name.to_owned(),
            })
    }

    /// The Table Schema of a resource (always present: loading checks it).
    pub fn schema_of(&self, resource: &Resource) -> Result<&TableSchema> {
        self.schema(&resource.schema)
    }

    /// All schemas by name.
    pub fn schemas(&self) -> &BTreeMap<String, TableSchema> {
        &self.schemas
    }
}

fn entry(path: &Path, kind: &'static str, id: &str, problem: String) -> CatalogError {
    CatalogError::Entry {
        path: path.to_path_buf(),
        kind,
        id: id.to_owned(),
        problem,
    }
}

fn require_text(path: &Path, kind: &'static str, id: &str, texts: &[&String]) -> Result<()> {
    if texts.iter().any(|t| t.trim().is_empty()) {
        return Err(entry(
            path,
            kind,
            id,
            "titles, descriptions, publisher and licence must not be empty".into(),
        ));
    }
    Ok(())
}
