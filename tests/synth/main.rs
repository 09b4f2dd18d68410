//! The synthetic corpus: deterministic, complete, in the encodings it claims, statistically
//! like the real publications, and with a truth that a correct ingester can meet.

/// The corpus all tests of this binary share (generated once per run).
mod shared;

/// All 108 resources, every container and encoding, every header set H1–H12.
mod coverage;
/// Same seed and scale, same bytes; another seed, other bytes.
mod determinism;
/// GBK, GB18030, UTF-8 and UTF-8-with-BOM files really are in those encodings.
mod encodings;
/// XLS and XLSX open in calamine (the ingester's reader) with rows where the truth says.
mod readers;
/// The 98 registers, lists and statistics hold values a researcher would believe: no
/// column label with a counter, unique keys, institutions where institutions belong, HS codes
/// of the product's chapter, dates in order and parts that add up.
mod registers;
/// Pass rates per year, province shares, fail-only scope after 2018, special rows.
mod statistics;
/// Truth rows are publishable under their Table Schema, and every row is accounted for.
mod truth;
