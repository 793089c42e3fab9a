//! Chart rendering cost per kind (issue 18's budget: under 30 ms and 150 KB per chart): each
//! sample chart ([`charts::samples`]) drawn and PNG-encoded, the whole `charts::render` call.
//! Also writes each chart's encoded size to `target/criterion/charts-sizes.json`, which
//! bench/run.sh's stage 7 reports beside the times.

// Setup failures abort the benchmark run; there is nothing to recover.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

fn render(c: &mut Criterion) {
    let mut sizes = Vec::new();
    for (name, chart) in charts::samples::all() {
        let png = charts::render(&chart).expect("the sample renders");
        sizes.push(format!("\"{name}\": {}", png.bytes.len()));
        c.bench_function(&format!("chart_{name}"), |b| {
            b.iter(|| charts::render(black_box(&chart)))
        });
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion");
    std::fs::create_dir_all(&dir).expect("target/criterion");
    std::fs::write(
        dir.join("charts-sizes.json"),
        format!("{{{}}}\n", sizes.join(", ")),
    )
    .expect("charts-sizes.json");
}

criterion_group!(benches, render);
criterion_main!(benches);
