//! What every handler can reach: configuration, the stores and the clock.

use std::sync::Arc;

use shared::clock::Clock;
use shared::config::Config;
use shared::store::Stores;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub stores: Stores,
    pub clock: Arc<dyn Clock>,
}
