//! Seal, open and re-wrap of one typical 64-byte secret (a token or a TOTP seed with room to
//! spare). The rekey estimate for many secrets is the re-wrap time times their number, plus the
//! storage round trips, which are not measured here.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand_core::OsRng;
use vault::{Context, Kek, Keyring, open, rewrap, seal};

fn seal_open_rewrap(c: &mut Criterion) {
    let context = Context {
        organisation: "acme",
        record: "account:1",
        field: "access_token",
    };
    let master = [7; 32];
    let old = Keyring::new(Kek::derive(&master, 1));
    let rotated = Keyring::new(Kek::derive(&master, 2)).with_previous(Kek::derive(&master, 1));
    let secret = [42u8; 64];
    let sealed = seal(old.current(), &context, &secret, &mut OsRng);

    let mut group = c.benchmark_group("vault");
    group.throughput(Throughput::Elements(1));
    group.bench_function("seal 64 B", |b| {
        b.iter(|| seal(old.current(), &context, black_box(&secret), &mut OsRng))
    });
    group.bench_function("open 64 B", |b| {
        b.iter(|| open(&old, &context, black_box(&sealed)))
    });
    group.bench_function("rewrap 64 B v1 to v2", |b| {
        b.iter(|| rewrap(&rotated, &context, black_box(&sealed), &mut OsRng))
    });
    group.finish();
}

criterion_group!(benches, seal_open_rewrap);
criterion_main!(benches);
