//! Creates the single table (docs/storage.md) for development and tests: `PK`/`SK`, the `GSI1`
//! listing index, on-demand billing and TTL on `expires_at`. Production tables come from the
//! deployment templates; this exists so a local run and the test suite need no manual setup.

use std::time::Duration;

use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use tokio::time::{Instant, sleep};

use super::convert::{EXPIRES_AT, GSI1PK, GSI1SK, PK, SK};
use super::{DynamoBackend, GSI1, sdk_failure};
use crate::store::StoreError;

/// How long a new table (and its index) may take to become usable.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);
const FIRST_POLL: Duration = Duration::from_millis(100);
const MAX_POLL: Duration = Duration::from_secs(2);

impl DynamoBackend {
    /// Creates the table with its `GSI1` index and TTL, waiting until both are usable. An existing
    /// table is left as it is (its TTL is still enabled if it was not).
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let gsi1 = GlobalSecondaryIndex::builder()
            .index_name(GSI1)
            .key_schema(key(GSI1PK, KeyType::Hash)?)
            .key_schema(key(GSI1SK, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(build_failure)?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(string_attribute(PK)?)
            .attribute_definitions(string_attribute(SK)?)
            .attribute_definitions(string_attribute(GSI1PK)?)
            .attribute_definitions(string_attribute(GSI1SK)?)
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?)
            .global_secondary_indexes(gsi1)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(CreateTableError::is_resource_in_use_exception) => {}
            Err(e) => return Err(sdk_failure("CreateTable", &e)),
        }
        self.wait_until_active().await?;
        self.enable_ttl().await
    }

    /// Polls until the table and every index report ACTIVE.
    async fn wait_until_active(&self) -> Result<(), StoreError> {
        let deadline = Instant::now() + ACTIVE_TIMEOUT;
        let mut pause = FIRST_POLL;
        loop {
            let described = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| sdk_failure("DescribeTable", &e))?;
            let active = described.table.is_some_and(|table| {
                table.table_status == Some(TableStatus::Active)
                    && table
                        .global_secondary_indexes
                        .unwrap_or_default()
                        .iter()
                        .all(|index| index.index_status == Some(IndexStatus::Active))
            });
            if active {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(StoreError::Unavailable(format!(
                    "DynamoDB table did not become ACTIVE within {} s",
                    ACTIVE_TIMEOUT.as_secs()
                )));
            }
            sleep(pause).await;
            pause = (pause * 2).min(MAX_POLL);
        }
    }

    /// Turns on TTL for `expires_at` unless it already is (enabling it twice is an error).
    async fn enable_ttl(&self) -> Result<(), StoreError> {
        if self.ttl_enabled().await? {
            return Ok(());
        }
        let specification = TimeToLiveSpecification::builder()
            .attribute_name(EXPIRES_AT)
            .enabled(true)
            .build()
            .map_err(build_failure)?;
        let updated = self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(specification)
            .send()
            .await;
        match updated {
            Ok(_) => Ok(()),
            // Another creator may have enabled it in between.
            Err(_) if self.ttl_enabled().await? => Ok(()),
            Err(e) => Err(sdk_failure("UpdateTimeToLive", &e)),
        }
    }

    async fn ttl_enabled(&self) -> Result<bool, StoreError> {
        let described = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| sdk_failure("DescribeTimeToLive", &e))?;
        Ok(described.time_to_live_description.is_some_and(|ttl| {
            matches!(
                ttl.time_to_live_status,
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            ) && ttl.attribute_name.as_deref() == Some(EXPIRES_AT)
        }))
    }
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(build_failure)
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(build_failure)
}

fn build_failure(_: BuildError) -> StoreError {
    StoreError::Unavailable("could not build a DynamoDB table setup request".into())
}
