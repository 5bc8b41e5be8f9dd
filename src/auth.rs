// TEMPORARY stand-in until the store branch lands; replaced at merge.
use crate::config::UserConfig;
use crate::drafts::{Actor, Role};
pub struct Users;
#[derive(Debug, thiserror::Error)]
#[error("unauthorized")]
pub struct AuthError;
impl Users {
    pub fn from_config(_u: &[UserConfig]) -> Self {
        Users
    }
    pub fn is_local_only(&self) -> bool {
        true
    }
    pub fn authenticate(&self, _h: Option<&str>) -> Result<Actor, AuthError> {
        Ok(Actor {
            name: "local".into(),
            role: Role::Admin,
        })
    }
}
