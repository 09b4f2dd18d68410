//! Producers from the (name, code) groups of the build: one entity per code or normalised
//! name.

use std::collections::HashMap;

use super::build::Interner;
use super::*;
use crate::error::Result;
use crate::text::entity_name;

impl Entities {
    /// Producers from the (name, code) groups: one per 统一社会信用代码; rows without a code
    /// join the only code their normalised name is seen with, or make a producer of their
    /// normalised name. Sorting, not maps of owned keys: 1.6M producers at 5M rows.
    pub(super) fn build(
        index: &SearchIndex,
        groups: HashMap<(u32, u32), Group>,
        usccs: &Packed,
    ) -> Result<Self> {
        let base = index.base[field_slot(SearchField::Enterprise)];
        let names = (index.base[field_slot(SearchField::Enterprise) + 1] - base) as usize;
        let mut groups: Vec<((u32, u32), Group)> = groups.into_iter().collect();
        groups.sort_unstable_by_key(|(k, _)| *k);
        // Each name's normalised form, interned.
        let mut normals = Interner::default();
        let mut normal_of = vec![NONE; names];
        for ((name, _), _) in &groups {
            let slot = &mut normal_of[*name as usize];
            if *slot == NONE {
                *slot = normals.id(&entity_name(index.value(base + name)))?;
            }
        }
        // The codes each normalised name is seen with.
        let mut seen: Vec<(u32, u32)> = groups
            .iter()
            .filter(|((_, code), _)| *code != NONE)
            .map(|((name, code), _)| (normal_of[*name as usize], *code))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        let only_code = |normal: u32| {
            let lo = seen.partition_point(|p| p.0 < normal);
            let hi = seen.partition_point(|p| p.0 <= normal);
            (hi - lo == 1).then(|| seen[lo].1)
        };
        // Each group's producer: (by name?, code or normalised name id), its name, bare.
        struct Part {
            by_name: bool,
            id: u32,
            name: u32,
            bare: bool,
            group: Group,
        }
        let mut parts: Vec<Part> = groups
            .into_iter()
            .map(|((name, code), group)| {
                let (by_name, id, bare) = if code != NONE {
                    (false, code, false)
                } else {
                    let normal = normal_of[name as usize];
                    match only_code(normal) {
                        Some(code) => (false, code, true),
                        None => (true, normal, true),
                    }
                };
                Part {
                    by_name,
                    id,
                    name,
                    bare,
                    group,
                }
            })
            .collect();
        drop(normal_of);
        let key = |p: &Part| {
            if p.by_name {
                normals.values.bytes(p.id as usize)
            } else {
                usccs.bytes(p.id as usize)
            }
        };
        // By producer key, then name: each producer's parts are contiguous.
        parts.sort_unstable_by(|a, b| {
            key(a)
                .cmp(key(b))
                .then(a.by_name.cmp(&b.by_name))
                .then(a.id.cmp(&b.id))
                .then(a.name.cmp(&b.name))
        });
        let mut out = Self {
            of_name: vec![NONE; names],
            bare: vec![NONE; names],
            ..Self::default()
        };
        let mut run = 0;
        while run < parts.len() {
            let first = &parts[run];
            let end = run
                + parts[run..]
                    .iter()
                    .take_while(|p| p.by_name == first.by_name && p.id == first.id)
                    .count();
            let i = out.list.len() as u32;
            let start = out.names.len();
            let mut group = Group::default();
            for p in &parts[run..end] {
                group.n += p.group.n;
                group.fails += p.group.fails;
                group.span.join(p.group.span);
                let entry = base + p.name;
                match out.names[start..].last_mut() {
                    Some((last, count, was_bare)) if *last == entry => {
                        *count += p.group.n;
                        *was_bare |= p.bare;
                    }
                    _ => out.names.push((entry, p.group.n, p.bare)),
                }
            }
            out.names[start..].sort_by(|x, y| {
                y.1.cmp(&x.1)
                    .then_with(|| index.value_bytes(x.0).cmp(index.value_bytes(y.0)))
            });
            for &(entry, _, bare) in &out.names[start..] {
                let local = (entry - base) as usize;
                if out.of_name[local] == NONE {
                    out.of_name[local] = i;
                } else if out.of_name[local] != i {
                    out.more.entry(local as u32).or_default().push(i);
                }
                if bare {
                    out.bare[local] = i;
                }
            }
            out.keys
                .push(std::str::from_utf8(key(first)).unwrap_or(""))?;
            out.list.push(Entity {
                code: if first.by_name { NONE } else { first.id },
                names: start as u32,
                batches: group.n,
                fails: group.fails,
                span: group.span,
            });
            run = end;
        }
        let mut by_name: Vec<u32> = (0..names as u32).collect();
        by_name.sort_unstable_by(|&a, &b| {
            index.value_bytes(base + a).cmp(index.value_bytes(base + b))
        });
        out.by_name = by_name;
        Ok(out)
    }

    /// The names of producer `i` (entry, batches, published without a code).
    pub(super) fn names_of(&self, i: usize) -> &[(u32, u32, bool)] {
        let start = self.list[i].names as usize;
        let end = self
            .list
            .get(i + 1)
            .map_or(self.names.len(), |e| e.names as usize);
        &self.names[start..end]
    }
}
