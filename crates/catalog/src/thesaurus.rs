//! The product thesaurus (`schemas/products.toml`): for each official product name of the
//! spot-check plans, the words people use for it: everyday names and abbreviations, regional
//! words, Taiwan and Hong Kong words, English names. The search maps a word to the products it
//! means; researchers get the same table from `/api/v1/products`.
//!
//! Loading checks what makes the table trustworthy: names unique and each entry with at least
//! one everyday and one English word; a word listed once per product; a word in two products
//! only when `shared` lists it (the search then shows both), and every shared word really in
//! two; no word that is another product's official name. Words compare by [`word_key`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{CatalogError, Result};

/// The thesaurus file, relative to the schemas directory.
pub const THESAURUS_FILE: &str = "products.toml";

/// One official product and what people call it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductEntry {
    /// The official name (产品种类), as published.
    pub name: String,
    /// The plan's 大类.
    pub category: String,
    /// The plan's 小类, empty where the plan has none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subcategory: String,
    /// Everyday names and abbreviations.
    #[serde(default)]
    pub everyday: Vec<String>,
    /// Words of one region.
    #[serde(default)]
    pub regional: Vec<String>,
    /// Taiwan and Hong Kong words (other words, not other characters).
    #[serde(default)]
    pub traditional: Vec<String>,
    /// English names.
    #[serde(default)]
    pub english: Vec<String>,
}

/// Which list of an entry a word comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WordKind {
    /// The official name itself.
    Official,
    /// `everyday`.
    Everyday,
    /// `regional`.
    Regional,
    /// `traditional`.
    Traditional,
    /// `english`.
    English,
}

impl WordKind {
    /// Its name in answers.
    pub fn name(self) -> &'static str {
        match self {
            Self::Official => "official",
            Self::Everyday => "everyday",
            Self::Regional => "regional",
            Self::Traditional => "traditional",
            Self::English => "english",
        }
    }
}

impl ProductEntry {
    /// Every word of the entry with its kind, the official name first.
    pub fn words(&self) -> impl Iterator<Item = (WordKind, &str)> {
        std::iter::once((WordKind::Official, self.name.as_str()))
            .chain(
                self.everyday
                    .iter()
                    .map(|w| (WordKind::Everyday, w.as_str())),
            )
            .chain(
                self.regional
                    .iter()
                    .map(|w| (WordKind::Regional, w.as_str())),
            )
            .chain(
                self.traditional
                    .iter()
                    .map(|w| (WordKind::Traditional, w.as_str())),
            )
            .chain(self.english.iter().map(|w| (WordKind::English, w.as_str())))
    }
}

/// The thesaurus.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thesaurus {
    /// Words that belong to several products on purpose (the search shows them all).
    #[serde(default)]
    pub shared: Vec<String>,
    /// The products, in the file's order.
    #[serde(rename = "product")]
    pub products: Vec<ProductEntry>,
}

/// How thesaurus words compare: NFKC, lower case, no whitespace.
pub fn word_key(word: &str) -> String {
    crate::header_key(word).to_lowercase()
}

impl Thesaurus {
    /// Parses and checks the thesaurus; `path` names the file in errors.
    pub fn from_toml(path: &Path, text: &str) -> Result<Self> {
        let thesaurus: Self = toml::from_str(text).map_err(|e| CatalogError::Toml {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        thesaurus.check(path)?;
        Ok(thesaurus)
    }

    /// The entry of an official name.
    pub fn product(&self, name: &str) -> Option<&ProductEntry> {
        self.products.iter().find(|p| p.name == name)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let problem = |id: &str, problem: String| CatalogError::Entry {
            path: path.to_path_buf(),
            kind: "product",
            id: id.to_owned(),
            problem,
        };
        let mut names = BTreeMap::new();
        for p in &self.products {
            if p.name.trim().is_empty() || p.category.trim().is_empty() {
                return Err(problem(&p.name, "needs a name and a category".into()));
            }
            if names.insert(word_key(&p.name), p.name.as_str()).is_some() {
                return Err(problem(&p.name, "is listed twice".into()));
            }
            if p.everyday.is_empty() || p.english.is_empty() {
                return Err(problem(
                    &p.name,
                    "needs at least one everyday word and one English name".into(),
                ));
            }
        }
        let shared: BTreeSet<String> = self.shared.iter().map(|w| word_key(w)).collect();
        let mut owners: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for p in &self.products {
            let mut own = BTreeSet::new();
            for (kind, word) in p.words() {
                let key = word_key(word);
                if key.is_empty() {
                    return Err(problem(
                        &p.name,
                        format!("has an empty {} word", kind.name()),
                    ));
                }
                if !own.insert(key.clone()) {
                    return Err(problem(&p.name, format!("lists `{word}` twice")));
                }
                if kind != WordKind::Official {
                    if let Some(other) = names.get(&key) {
                        return Err(problem(
                            &p.name,
                            format!("lists `{word}`, the official name of {other}"),
                        ));
                    }
                    owners.entry(key).or_default().push(&p.name);
                }
            }
        }
        for (word, products) in &owners {
            if products.len() > 1 && !shared.contains(word) {
                return Err(problem(
                    products[0],
                    format!(
                        "shares `{word}` with {}: list it in `shared` if the search should show them all, or keep it in one",
                        products[1..].join(", ")
                    ),
                ));
            }
        }
        for word in &shared {
            if owners.get(word).is_none_or(|p| p.len() < 2) {
                return Err(CatalogError::Entry {
                    path: path.to_path_buf(),
                    kind: "shared word",
                    id: word.clone(),
                    problem: "is listed in `shared` but belongs to fewer than two products".into(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Thesaurus> {
        Thesaurus::from_toml(Path::new("products.toml"), text)
    }

    const TWO: &str = r#"
[[product]]
name = "电热水壶"
category = "电子电器"
everyday = ["电水壶", "热水器"]
english = ["kettle"]

[[product]]
name = "储水式电热水器"
category = "电子电器"
everyday = ["热水器"]
english = ["water heater"]
"#;

    #[test]
    fn a_word_of_two_products_must_be_shared() {
        let err = load(TWO).expect_err("热水器 in two products").to_string();
        assert!(err.contains("热水器") && err.contains("shared"), "{err}");
        let ok = load(&format!("shared = [\"热水器\"]\n{TWO}")).expect("shared");
        assert_eq!(ok.products.len(), 2);
        let lonely = format!("shared = [\"热水器\", \"电水壶\"]\n{TWO}");
        let err = load(&lonely)
            .expect_err("电水壶 is one product's")
            .to_string();
        assert!(err.contains("电水壶"), "{err}");
    }

    #[test]
    fn a_word_may_not_be_another_products_name() {
        let text = TWO.replace("\"电水壶\", \"热水器\"", "\"储水式电热水器\"");
        let err = load(&text)
            .expect_err("official name of another")
            .to_string();
        assert!(err.contains("official name of 储水式电热水器"), "{err}");
    }

    #[test]
    fn the_shipped_thesaurus_loads() {
        let text = include_str!("../../../schemas/products.toml");
        let t = load(text).expect("schemas/products.toml");
        assert!(t.products.len() >= 100, "{}", t.products.len());
    }
}
