//! A mixed workload through the storage ports, counting the write units each partition key
//! takes, so that a layout with a hot partition fails a test rather than a deployment.
//!
//! Each simulated operation makes the store calls the corresponding flow makes (authz
//! `flows/`, mcp `auth.rs` and `cost/metered.rs`); docs/storage.md lists them per operation.
//!
//! The simulated operations are in `clients.rs` (registration, resolution, use, audit) and
//! `grants.rs` (authorization to code exchange, refresh, revocation, MCP calls).

mod clients;
mod grants;

use std::sync::Arc;

use super::counting_backend::CountingBackend;
use super::sqlite::SqliteBackend;
use super::*;
use crate::clock::{Clock, ManualClock};

/// A small deterministic generator (xorshift64*), so a failure reproduces.
pub(super) struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }

    fn id(&mut self) -> String {
        format!("{:016x}{:016x}", self.below(u64::MAX), self.below(u64::MAX))
    }
}

pub(super) struct Sim {
    stores: Stores,
    clock: Arc<ManualClock>,
    rng: Rng,
}

/// The most any one partition key may take of all write units in the workload.
///
/// A partition absorbs about 1,000 write units a second. If the busiest key takes a fraction
/// `f` of all writes, that key saturates when the table as a whole writes `1,000 / f` units a
/// second. At 5 % that is 20,000 WCU/s: half of DynamoDB's default per-table on-demand quota
/// (40,000 WCU/s), so the quota, not one partition, is what a deployment reaches first. The
/// unsharded layout put a whole day's audit trail and a CIMD client's listings on single keys
/// (each well over 5 % here).
const MAX_SHARE: f64 = 0.05;

/// Thousands of flows by many users sharing a few clients: three Client ID Metadata Document
/// clients (70/20/10 % of users, as when every Claude user shares Claude's document) and some
/// users' own dynamically registered clients; each flow authorizes, calls MCP tools, refreshes,
/// and some revoke.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_partition_key_takes_more_than_its_share_of_writes() {
    let counting = Arc::new(CountingBackend::new(Arc::new(
        SqliteBackend::in_memory().unwrap(),
    )));
    let clock = Arc::new(ManualClock::at(super::contract::T0 + 3_600));
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let mut sim = Sim {
        stores: Stores::new(counting.clone(), dyn_clock),
        clock,
        rng: Rng(0x9E37_79B9_7F4A_7C15),
    };
    let documents = [
        "https://claude.ai/oauth/mcp-oauth-client-metadata",
        "https://chatgpt.com/oauth/client.json",
        "https://vscode.dev/oauth/client-metadata.json",
    ];
    let users = 400_u64;
    let flows = 2_000;
    for flow in 0..flows {
        let user = format!("user-{}", sim.rng.below(users));
        let client_id = match sim.rng.below(100) {
            0..=59 => documents[0].to_owned(),
            60..=79 => documents[1].to_owned(),
            80..=89 => documents[2].to_owned(),
            _ => sim.register().await,
        };
        let grant_id = sim.authorize(&user, &client_id).await;
        let jti = format!("jti-{flow}");
        for _ in 0..5 {
            sim.mcp_call(&user, &grant_id, &client_id, &jti).await;
        }
        for _ in 0..2 {
            sim.clock.advance(1);
            sim.refresh(&grant_id).await;
        }
        if sim.rng.below(10) == 0 {
            sim.revoke(&grant_id, &jti).await;
        }
        sim.clock.advance(1);
    }

    let busiest = counting.busiest();
    let total: u64 = busiest.iter().map(|(_, units)| units).sum();
    let report: Vec<String> = busiest
        .iter()
        .take(8)
        .map(|(key, units)| {
            format!(
                "{key}: {units} ({:.2} %)",
                100.0 * *units as f64 / total as f64
            )
        })
        .collect();
    println!(
        "{flows} flows, {total} write units on {} partition keys; busiest:\n  {}",
        busiest.len(),
        report.join("\n  ")
    );
    let (key, units) = &busiest[0];
    let share = *units as f64 / total as f64;
    assert!(
        share <= MAX_SHARE,
        "partition key {key} takes {:.2} % of all write units (bound {:.0} %); busiest:\n  {}",
        100.0 * share,
        100.0 * MAX_SHARE,
        report.join("\n  ")
    );
}
