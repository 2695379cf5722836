//! Seal, open and rewrap throughput for a typical 64-byte secret.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand_core::OsRng;
use vault::{Context, Kek, Keyring, open, rewrap, seal};

fn bench(c: &mut Criterion) {
    let context = Context {
        organisation: "herald",
        record: "account:1",
        field: "password",
    };
    let old = Kek::derive(&[1; 32], 1);
    let keys = Keyring::new(old.clone());
    let secret = [7u8; 64];
    let sealed = seal(keys.current(), &context, &secret, &mut OsRng);
    let rotated = Keyring::new(Kek::derive(&[1; 32], 2)).with_previous(old);

    let mut group = c.benchmark_group("vault");
    group.throughput(Throughput::Elements(1));
    group.bench_function("seal 64 B", |b| {
        b.iter(|| seal(keys.current(), &context, &secret, &mut OsRng))
    });
    group.bench_function("open 64 B", |b| b.iter(|| open(&keys, &context, &sealed)));
    group.bench_function("rewrap 64 B", |b| {
        b.iter(|| rewrap(&rotated, &context, &sealed, &mut OsRng))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
