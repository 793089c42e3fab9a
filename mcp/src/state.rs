//! What every handler can reach.

use std::sync::Arc;

use shared::config::Config;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
}
