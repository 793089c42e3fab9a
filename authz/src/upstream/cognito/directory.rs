//! The Cognito user pool as the user directory consulted at every refresh: the admin API says
//! whether the user still exists, is enabled and confirmed (`AdminGetUser`) and which groups it
//! has (`AdminListGroupsForUser`); the upstream session kept with the grant says whether the
//! user was signed out upstream since the grant was made ([`CognitoLogin::session_stands`]).

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::types::UserStatusType;
use shared::aws::Aws;
use shared::config::CognitoConfig;
use shared::store::GrantRecord;
use tokio::sync::OnceCell;

use super::CognitoLogin;
use crate::upstream::{UpstreamError, UserDirectory, UserStatus};

/// The Cognito admin API (and the upstream sessions) as the user directory.
pub struct CognitoDirectory {
    config: CognitoConfig,
    aws: Aws,
    client: OnceCell<aws_sdk_cognitoidentityprovider::Client>,
    sessions: Option<Arc<CognitoLogin>>,
}

impl CognitoDirectory {
    /// The admin API of the pool in `config`, reached through the process's AWS configuration
    /// (in the pool's region), resolved on the first check.
    pub fn new(config: CognitoConfig, aws: Aws) -> Self {
        Self {
            config,
            aws,
            client: OnceCell::new(),
            sessions: None,
        }
    }

    /// Over an existing SDK client (tests point one at moto).
    pub fn with_client(
        config: CognitoConfig,
        client: aws_sdk_cognitoidentityprovider::Client,
    ) -> Self {
        Self {
            config,
            aws: Aws::default(),
            client: OnceCell::new_with(Some(client)),
            sessions: None,
        }
    }

    /// Checks the upstream session kept with each grant through `login` (the same app client
    /// that made it). Without it, a grant that has a session cannot be refreshed.
    pub fn with_sessions(mut self, login: Arc<CognitoLogin>) -> Self {
        self.sessions = Some(login);
        self
    }

    async fn client(&self) -> &aws_sdk_cognitoidentityprovider::Client {
        self.client
            .get_or_init(|| async {
                let config =
                    aws_sdk_cognitoidentityprovider::config::Builder::from(self.aws.sdk().await)
                        .region(aws_sdk_cognitoidentityprovider::config::Region::new(
                            self.config.region.clone(),
                        ))
                        .build();
                aws_sdk_cognitoidentityprovider::Client::from_conf(config)
            })
            .await
    }

    /// Whether the upstream session kept with `grant` still stands. Grants made before
    /// sessions were kept (or by an upstream that gave no refresh token) have none: for them
    /// the admin API's answer is all there is.
    async fn session_stands(&self, grant: &GrantRecord) -> Result<bool, UpstreamError> {
        let Some(sealed) = grant.upstream_session.as_deref() else {
            return Ok(true);
        };
        match &self.sessions {
            Some(login) => login.session_stands(sealed, grant).await,
            None => Err(UpstreamError::Unavailable(
                "no upstream login to check the grant's session with".into(),
            )),
        }
    }
}

/// Whether a user in this state may keep refreshing: confirmed users, and users of a federated
/// identity provider (whose password Cognito does not hold). A password reset by an
/// administrator (`RESET_REQUIRED`), a temporary password (`FORCE_CHANGE_PASSWORD`), an
/// unconfirmed sign-up, a compromised or archived account, or any state unknown to this code is
/// not.
fn may_refresh(status: &UserStatusType) -> bool {
    matches!(
        status,
        UserStatusType::Confirmed | UserStatusType::ExternalProvider
    )
}

#[async_trait]
impl UserDirectory for CognitoDirectory {
    async fn status(&self, grant: &GrantRecord) -> Result<UserStatus, UpstreamError> {
        let client = self.client().await;
        // The three questions are independent: asked at once, they cost one round trip, not
        // three. The answers are read in the order they matter: a user who is gone is gone
        // whatever the other two said.
        let get_user = client
            .admin_get_user()
            .user_pool_id(&self.config.user_pool_id)
            .username(&grant.sub)
            .send();
        let (user, stands, groups) = tokio::join!(
            get_user,
            self.session_stands(grant),
            self.groups(client, &grant.sub)
        );
        let user = match user {
            Ok(user) => user,
            Err(error) => {
                let service = error.as_service_error();
                if service.is_some_and(|e| e.is_user_not_found_exception()) {
                    return Ok(UserStatus::Gone);
                }
                return Err(UpstreamError::Unavailable(format!(
                    "AdminGetUser failed: {}",
                    aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(&error)
                )));
            }
        };
        if !user.enabled() {
            return Ok(UserStatus::Gone);
        }
        let Some(user_status) = user.user_status() else {
            return Err(UpstreamError::Unavailable(
                "AdminGetUser answered no user status".into(),
            ));
        };
        if !may_refresh(user_status) {
            tracing::info!(status = user_status.as_str(), "upstream user not confirmed");
            return Ok(UserStatus::Gone);
        }
        if !stands? {
            tracing::info!("upstream session ended (signed out, revoked or expired)");
            return Ok(UserStatus::Gone);
        }
        Ok(UserStatus::Active { groups: groups? })
    }
}

impl CognitoDirectory {
    /// The groups of the user `username` (the `sub` names a user as its username does).
    async fn groups(
        &self,
        client: &aws_sdk_cognitoidentityprovider::Client,
        username: &str,
    ) -> Result<Vec<String>, UpstreamError> {
        let mut groups = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..10 {
            let page = client
                .admin_list_groups_for_user()
                .user_pool_id(&self.config.user_pool_id)
                .username(username)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| {
                    UpstreamError::Unavailable(format!(
                        "AdminListGroupsForUser failed: {}",
                        aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(&e)
                    ))
                })?;
            groups.extend(
                page.groups()
                    .iter()
                    .filter_map(|g| g.group_name().map(str::to_owned)),
            );
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => break,
            }
        }
        Ok(groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_confirmed_and_federated_users_may_refresh() {
        for (status, may) in [
            ("CONFIRMED", true),
            ("EXTERNAL_PROVIDER", true),
            ("RESET_REQUIRED", false),
            ("FORCE_CHANGE_PASSWORD", false),
            ("UNCONFIRMED", false),
            ("COMPROMISED", false),
            ("ARCHIVED", false),
            ("UNKNOWN", false),
            ("SOMETHING_NEW", false),
        ] {
            assert_eq!(may_refresh(&UserStatusType::from(status)), may, "{status}");
        }
    }
}
