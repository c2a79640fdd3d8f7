//! Coverage benchmarks (see BENCHMARKS.md). Filled in by the coverage bench work.
fn main() {}
