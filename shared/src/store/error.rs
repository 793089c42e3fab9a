//! The backend-neutral storage error: only infrastructure failures travel as `Err`.

/// A failure of the storage infrastructure, never "not found" or "condition not met".
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or refused the request (network, throttling, locked file).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored item could not be decoded: the table holds something this version does not write.
    #[error("stored item {key} is malformed: {reason}")]
    Corrupt { key: String, reason: String },
}

impl StoreError {
    pub(crate) fn corrupt(key: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            key: key.into(),
            reason: reason.to_string(),
        }
    }
}
