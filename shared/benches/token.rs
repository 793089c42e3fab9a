//! Access-token costs: minting with the local RSA-2048 key (`mint_local`) and verifying one
//! pre-minted token against pre-parsed keys (`verify`), and the same through the cache of verified
//! tokens the MCP server keeps (`verify_cached`: a hit after the first verification).

// Setup failures abort the benchmark run; there is nothing to recover.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use shared::token::{
    AccessTokenVerifier, LocalSigner, TokenIssuer, VerificationKeys, VerifiedTokens,
};

const ISS: &str = "https://as.example.com";
const AUD: &str = "https://mcp.example.com/mcp";
const NOW: i64 = 1_800_000_000;

fn token(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!(
        "shared-token-bench-{}",
        shared::secret::random_id()
    ));
    let signer = Arc::new(LocalSigner::load_or_create(&dir).expect("signing key"));
    let _ = std::fs::remove_dir_all(&dir);
    let issuer = TokenIssuer::new(signer, ISS, AUD, 3600);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let groups = vec!["finance".to_owned(), "platform".to_owned()];

    c.bench_function("mint_local", |b| {
        b.iter(|| {
            runtime
                .block_on(issuer.mint(
                    black_box("user-1"),
                    "client-1",
                    "costs:read costs:resources",
                    &groups,
                    NOW,
                ))
                .expect("mint")
        })
    });

    let (token, _) = runtime
        .block_on(issuer.mint("user-1", "client-1", "costs:read", &groups, NOW))
        .expect("mint");
    let keys = VerificationKeys::from_jwks(&issuer.jwks());
    let verifier = AccessTokenVerifier::new(ISS, AUD);
    c.bench_function("verify", |b| {
        b.iter(|| {
            verifier
                .verify(black_box(token.expose()), &keys, NOW)
                .expect("verify")
        })
    });

    let cache = VerifiedTokens::default();
    c.bench_function("verify_cached", |b| {
        b.iter(|| {
            cache
                .verify(&verifier, black_box(token.expose()), &keys, 1, NOW)
                .expect("verify")
        })
    });
}

criterion_group!(benches, token);
criterion_main!(benches);
