//! The rules that depend on where the configuration runs: some settings are for a developer
//! machine only, and some defaults cannot serve several instances at once.

use super::{Config, ConfigError, StoreConfig, keys};

/// Where a configuration is put to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// A Lambda function: possibly many instances, never a developer's test CA.
    Lambda(Function),
    /// `serverless-mcp serve`: one process on one machine.
    Serve,
}

/// Which of the two Lambda functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// The authorization server: its browser pages need the cookie key.
    Authz,
    /// The MCP server: no browser pages, no cookies.
    Mcp,
}

impl Config {
    /// Refuses settings that the runtime cannot honour, naming the setting.
    pub fn validate_for(&self, runtime: Runtime) -> Result<(), ConfigError> {
        if runtime == Runtime::Serve {
            return Ok(());
        }
        // The test CA (and loopback fetches) is for `serverless-mcp serve` on a developer machine.
        if self.cimd_test_ca.is_some() {
            return Err(ConfigError::new(
                keys::CIMD_TEST_CA,
                "for local testing with `serverless-mcp serve` only; not honoured here, unset it",
            ));
        }
        // (SMCP_CIMD_TEST_RESOLVE is only read beside the test CA, so it is refused with it.)
        // Several instances answer one browser's consent and login steps: they must share the
        // cookie key, which a per-instance default cannot give.
        if runtime == Runtime::Lambda(Function::Authz)
            && matches!(self.store, StoreConfig::Dynamo { .. })
            && self.cookie_key.is_none()
        {
            return Err(ConfigError::new(
                keys::COOKIE_KEY,
                "required with SMCP_STORE=dynamodb (all instances must share it)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(extra: &[(&str, &str)]) -> Config {
        let mut map: HashMap<String, String> = [
            (keys::ISSUER, "https://auth.example.com"),
            (keys::RESOURCE, "https://mcp.example.com/mcp"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        map.retain(|_, v| !v.is_empty());
        Config::from_lookup(|k| map.get(k).cloned()).unwrap()
    }

    #[test]
    fn lambda_refuses_what_only_serve_can_honour() {
        let key = "A".repeat(43);
        let dynamo = [(keys::STORE, "dynamodb"), (keys::TABLE, "smcp")];
        for (description, extra, refused) in [
            ("the defaults", vec![], None),
            (
                "a test CA",
                vec![(keys::CIMD_TEST_CA, "/tmp/cimd-ca.pem")],
                Some(keys::CIMD_TEST_CA),
            ),
            (
                "DynamoDB without a cookie key",
                dynamo.to_vec(),
                Some(keys::COOKIE_KEY),
            ),
            (
                "DynamoDB with a cookie key",
                [dynamo.as_slice(), &[(keys::COOKIE_KEY, key.as_str())]].concat(),
                None,
            ),
        ] {
            let config = load(&extra);
            assert_eq!(config.validate_for(Runtime::Serve), Ok(()), "{description}");
            assert_eq!(
                config
                    .validate_for(Runtime::Lambda(Function::Authz))
                    .map_err(|e| e.setting),
                refused.map_or(Ok(()), Err),
                "{description}"
            );
            // The MCP function has no browser pages: only the test CA concerns it.
            assert_eq!(
                config
                    .validate_for(Runtime::Lambda(Function::Mcp))
                    .map_err(|e| e.setting),
                refused
                    .filter(|setting| *setting != keys::COOKIE_KEY)
                    .map_or(Ok(()), Err),
                "{description}"
            );
        }
    }
}
