//! How long loading and validating the whole catalog (108 resources, 99 schemas) takes: the
//! server and every command pay it once at start-up.

use criterion::{Criterion, criterion_group, criterion_main};
use zhijian_catalog::Catalog;

fn load(c: &mut Criterion) {
    c.bench_function("catalog/builtin_load_and_validate", |b| {
        b.iter(|| Catalog::builtin().map(|cat| cat.resources.len()))
    });
    let catalog = Catalog::builtin().expect("the built-in catalog is valid");
    c.bench_function("catalog/arrow_schemas_all", |b| {
        b.iter(|| {
            catalog
                .schemas()
                .values()
                .map(|s| s.to_arrow().fields().len())
                .sum::<usize>()
        })
    });
}

criterion_group!(benches, load);
criterion_main!(benches);
