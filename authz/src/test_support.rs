//! Router-test scaffolding: an app over in-memory SQLite with a manual clock and a signing key
//! generated once per test process.

use std::sync::{Arc, OnceLock};

use shared::clock::{Clock, ManualClock};
use shared::config::{Config, keys};
use shared::store::Stores;
use shared::store::sqlite::SqliteBackend;
use shared::token::{LocalSigner, Signer};

use crate::AppState;

pub const T0: i64 = 1_767_225_600;

pub struct TestApp {
    pub state: AppState,
    pub clock: Arc<ManualClock>,
}

/// One RSA key for every test in the process (generation is the slow part).
pub fn signer() -> Arc<dyn Signer> {
    static SIGNER: OnceLock<Arc<dyn Signer>> = OnceLock::new();
    SIGNER
        .get_or_init(|| {
            let dir = std::env::temp_dir()
                .join(format!("authz-test-key-{}", shared::secret::random_id()));
            std::fs::create_dir_all(&dir).unwrap();
            Arc::new(LocalSigner::load_or_create(&dir).unwrap())
        })
        .clone()
}

/// Configuration with test issuer/resource plus `extra` settings.
pub fn config(extra: &[(&str, &str)]) -> Config {
    let mut pairs = vec![
        (keys::ISSUER, "https://auth.example.com"),
        (keys::RESOURCE, "https://mcp.example.com/mcp"),
    ];
    pairs.extend_from_slice(extra);
    Config::from_lookup(|key| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap()
}

pub fn test_app_with(extra: &[(&str, &str)]) -> TestApp {
    let clock = Arc::new(ManualClock::at(T0));
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let stores = Stores::new(
        Arc::new(SqliteBackend::in_memory().unwrap()),
        dyn_clock.clone(),
    );
    let state = AppState::new(
        Arc::new(config(extra)),
        stores,
        dyn_clock,
        signer(),
        &shared::aws::Aws::default(),
    )
    .unwrap();
    TestApp { state, clock }
}

pub fn test_app() -> TestApp {
    test_app_with(&[])
}
