//! The rows a search selects, counted, faceted and paged: from the index in memory, or by SQL.
//!
//! A search has terms (each a list of matched values, [`Hit`]s): a row is selected when some
//! value of every term holds it (美的 电饭锅: the brand and the product), and ranked by the
//! tier of its first term's best value, then newest. A search of filters alone (广东 不合格)
//! has no term and selects every row its filters keep.

use super::*;

pub(super) type Found = (usize, Vec<Map<String, Value>>, BTreeMap<String, Facet>);

/// Values per facet of a search.
const FACET_SIZE: usize = 10;

/// The positions one term selects, each with its best tier, in position order.
fn term_positions(
    index: &SearchIndex,
    term: &[Hit],
    tier_of: &dyn Fn(&Hit) -> u8,
) -> Vec<(u32, u8)> {
    let n = index.rows() as usize;
    let total: usize = term.iter().map(|h| index.postings(h.entry).len()).sum();
    if total > n / 8 {
        let mut best = vec![u8::MAX; n];
        for h in term {
            let t = tier_of(h);
            for &p in index.postings(h.entry) {
                let slot = &mut best[p as usize];
                *slot = (*slot).min(t);
            }
        }
        best.iter()
            .enumerate()
            .filter(|(_, t)| **t != u8::MAX)
            .map(|(p, t)| (p as u32, *t))
            .collect()
    } else {
        let mut pairs = Vec::with_capacity(total);
        for h in term {
            let t = tier_of(h);
            pairs.extend(index.postings(h.entry).iter().map(|&p| (p, t)));
        }
        // The best tier of a position first, then one per position.
        pairs.sort_unstable();
        pairs.dedup_by_key(|p| p.0);
        pairs
    }
}

/// The positions of `a` that `b` holds too (both in position order), with `a`'s tiers.
fn intersect(a: Vec<(u32, u8)>, b: &[(u32, u8)]) -> Vec<(u32, u8)> {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let mut j = 0;
    for (p, t) in a {
        while j < b.len() && b[j].0 < p {
            j += 1;
        }
        if j < b.len() && b[j].0 == p {
            out.push((p, t));
        }
    }
    out
}

/// Count, page and facets of a search from the index.
pub(super) fn in_memory(
    index: &SearchIndex,
    terms: &[Vec<Hit>],
    filters: &[(usize, &str)],
    fields: &[String],
    limit: usize,
    offset: usize,
) -> Result<Found> {
    let tiers = tier_order(terms.iter().flatten().map(Hit::tier));
    let none = tiers.len().min(usize::from(u8::MAX - 1)) as u8;
    let tier_of = |h: &Hit| {
        tiers
            .iter()
            .position(|t| *t == h.tier())
            .map_or(none, |t| t.min(usize::from(none)) as u8)
    };
    let mut matched: Option<Vec<(u32, u8)>> = None;
    for term in terms {
        let these = term_positions(index, term, &tier_of);
        matched = Some(match matched {
            None => these,
            Some(before) => intersect(before, &these),
        });
    }
    let mut matched = matched.unwrap_or_else(|| (0..index.rows()).map(|p| (p, none)).collect());
    let mut wanted = Vec::with_capacity(filters.len());
    for (slot, text) in filters {
        match index.facets[*slot].code_of(text) {
            Some(code) => wanted.push((*slot, code)),
            None => matched.clear(),
        }
    }
    if !wanted.is_empty() {
        matched.retain(|(p, _)| {
            wanted
                .iter()
                .all(|(slot, code)| index.facets[*slot].at(*p as usize) == *code)
        });
    }
    let count = matched.len();
    let mut facets = BTreeMap::new();
    for (slot, name) in SEARCH_FACETS.iter().enumerate().take(FACETS) {
        let column = &index.facets[slot];
        let mut counts = vec![0u64; column.values.len() + 1];
        for (p, _) in &matched {
            let c = column.at(*p as usize);
            counts[(c as usize).min(column.values.len())] += 1;
        }
        facets.insert(
            (*name).to_owned(),
            facet_json(name, &column.values, &counts, FACET_SIZE),
        );
    }
    // Best tier first, then newest, then the files' order.
    let order = |a: &(u32, u8), b: &(u32, u8)| {
        a.1.cmp(&b.1)
            .then(index.announced(b.0).cmp(&index.announced(a.0)))
            .then(a.0.cmp(&b.0))
    };
    let end = (offset + limit).min(matched.len());
    if end < matched.len() && end > 0 {
        matched.select_nth_unstable_by(end, order);
        matched.truncate(end);
    }
    matched.sort_by(order);
    let page: Vec<(u32, u8)> = matched.get(offset..end).unwrap_or_default().to_vec();
    let positions: Vec<u32> = page.iter().map(|p| p.0).collect();
    let columns: Vec<&str> = fields.iter().map(String::as_str).collect();
    let mut rows = match index.rows.fetch(&positions, &columns)? {
        Some(batch) => batch_to_json(&batch)?,
        None => Vec::new(),
    };
    for (row, (_, t)) in rows.iter_mut().zip(&page) {
        if let Some((kind, field, _)) = tiers.get(*t as usize) {
            row.insert(
                "_matched".into(),
                json!({"field": field.name(), "match": kind.name()}),
            );
        }
    }
    Ok((count, rows, facets))
}

/// The page, count and facets of a search by SQL: each term's values become `IN` lists (the
/// best [`MAX_VALUES`] of each), all terms required; the first term ranks the rows.
pub(super) async fn by_sql(
    view: &SnapshotView,
    catalog: &zhijian_catalog::Catalog,
    terms: &[Vec<Hit>],
    req: &RowsRequest,
    fields: &[String],
    limit: usize,
    offset: usize,
) -> Result<Found> {
    let mut scoped = req.clone();
    let mut rank = "0".to_owned();
    let mut tiers = Vec::new();
    for (i, term) in terms.iter().enumerate() {
        let used = &term[..term.len().min(MAX_VALUES)];
        let (condition, term_rank, term_tiers) = conditions(used);
        scoped.conditions.push(condition);
        if i == 0 {
            rank = term_rank;
            tiers = term_tiers;
        }
    }
    let select = fields
        .iter()
        .map(|f| crate::filter::ident(f))
        .collect::<Vec<_>>()
        .join(", ");
    let where_clause = if scoped.conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", scoped.conditions.join(" AND "))
    };
    // Within a tier and a date, the files' order, as the index orders them: the files in
    // resource order, each in its default order.
    let files_order = zhijian_catalog::sort_order(zhijian_catalog::SPOT_CHECK_SCHEMA, &[])
        .iter()
        .map(|f| format!("{} ASC NULLS FIRST", crate::filter::ident(f)))
        .collect::<Vec<_>>()
        .join(", ");
    let page_sql = format!(
        "SELECT {select}, {rank} AS _rank FROM spot_checks{where_clause} \
         ORDER BY _rank, announced_on DESC NULLS LAST, resource_id, {files_order} \
         LIMIT {limit} OFFSET {offset}"
    );
    let count_sql = format!("SELECT count(*) AS n FROM spot_checks{where_clause}");
    let page = async { json_rows(view.session().sql(&page_sql).await?).await };
    let count = async { json_rows(view.session().sql(&count_sql).await?).await };
    let facets = futures::future::join_all(SEARCH_FACETS.iter().map(|f| {
        let scoped = &scoped;
        async move {
            let spec = crate::api::FacetSpec {
                field: (*f).to_owned(),
                interval: None,
            };
            crate::api::facet_by_sql(view, catalog, "spot_checks", scoped, &spec, FACET_SIZE)
                .await
                .map(|v| ((*f).to_owned(), v))
        }
    }));
    let (page, count, facets) = futures::join!(page, count, facets);
    let mut rows = page?;
    for row in &mut rows {
        let tier = row
            .remove("_rank")
            .and_then(|v| v.as_u64())
            .and_then(|t| tiers.get(t as usize).copied());
        if let Some((kind, field, _)) = tier {
            row.insert(
                "_matched".into(),
                json!({"field": field.name(), "match": kind.name()}),
            );
        }
    }
    let count = count?
        .first()
        .and_then(|r| r.get("n"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let mut facet_map = BTreeMap::new();
    for f in facets {
        let (name, v) = f?;
        facet_map.insert(name, v);
    }
    Ok((count as usize, rows, facet_map))
}
