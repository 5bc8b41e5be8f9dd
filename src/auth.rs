//! Access control: bearer tokens from `[[users]]` (only their SHA-256 is configured), the
//! built-in local actor when no users are configured, and the role checks the HTTP layer asks.
//!
//! Tokens are never logged or kept: a presented token is hashed at once and compared in
//! constant time against every configured hash.

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::UserConfig;
use crate::drafts::{Actor, Draft, Role};

/// Roles that may read, export and verify the audit trail.
pub const AUDIT_READERS: &[Role] = &[Role::Compliance, Role::Admin];
/// Roles that may reload rules, knowledge and prompts.
pub const RELOADERS: &[Role] = &[Role::Admin];
/// Roles that may run the retention purge by hand.
pub const PURGERS: &[Role] = &[Role::Admin];
/// Roles that may approve a `block` with a reason; `review` and the store both check this list.
/// Admin is included because the local-only mode's single user is an admin.
pub const BLOCK_OVERRIDERS: &[Role] = &[Role::Compliance, Role::Admin];

/// Prefix of minted tokens, so a leaked one is recognizable in a secret scanner.
pub const TOKEN_PREFIX: &str = "kefu_";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("missing Authorization header; send `Authorization: Bearer <token>`")]
    Missing,
    #[error("malformed Authorization header; expected `Bearer <token>`")]
    Malformed,
    #[error("unknown token; ask an admin for a token (`kefu token new`)")]
    UnknownToken,
    #[error("{actor} ({role}) may not do this; it needs one of: {needed}")]
    Forbidden {
        actor: String,
        role: &'static str,
        needed: String,
    },
    #[error("[[users]] entry `{name}`: {message}")]
    Config { name: String, message: String },
}

struct User {
    name: String,
    role: Role,
    hash: [u8; 32],
}

/// The configured users; empty means local-only mode.
pub struct Users {
    users: Vec<User>,
}

impl std::fmt::Debug for Users {
    // names and roles only: even hashes stay out of logs
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.users
                    .iter()
                    .map(|u| format!("{}:{}", u.name, u.role.as_str())),
            )
            .finish()
    }
}

impl Users {
    /// Checks every entry: non-empty unique names, 64-hex-digit unique hashes.
    pub fn new(config: &[UserConfig]) -> Result<Users, AuthError> {
        let mut users: Vec<User> = Vec::with_capacity(config.len());
        for u in config {
            let err = |message: &str| AuthError::Config {
                name: u.name.clone(),
                message: message.to_string(),
            };
            if u.name.trim().is_empty() {
                return Err(err("name is empty"));
            }
            let bytes = hex::decode(u.token_sha256.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    err("token_sha256 must be 64 hex digits (the SHA-256 of the token; `kefu token new` prints it)")
                })?;
            if users.iter().any(|x| x.name == u.name) {
                return Err(err("the name is used twice"));
            }
            if users.iter().any(|x| x.hash == bytes) {
                return Err(err("the token is shared with another user"));
            }
            users.push(User {
                name: u.name.clone(),
                role: u.role,
                hash: bytes,
            });
        }
        Ok(Users { users })
    }

    /// No users configured: no tokens, every request acts as [`local_actor`] (serve on
    /// loopback only).
    pub fn is_local_only(&self) -> bool {
        self.users.is_empty()
    }

    /// The actor behind an `Authorization` header value. In local-only mode the header is
    /// ignored and the local actor returned.
    pub fn authenticate(&self, authorization_header: Option<&str>) -> Result<Actor, AuthError> {
        if self.is_local_only() {
            return Ok(local_actor());
        }
        let header = authorization_header.ok_or(AuthError::Missing)?.trim();
        let (scheme, token) = header.split_once(' ').ok_or(AuthError::Malformed)?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Err(AuthError::Malformed);
        }
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        // Compare against every user, without early exit, so timing says nothing about
        // which or how many hashes share a prefix.
        let mut found: Option<&User> = None;
        for u in &self.users {
            if constant_time_eq(&u.hash, &presented) {
                found = Some(u);
            }
        }
        found
            .map(|u| Actor {
                name: u.name.clone(),
                role: u.role,
            })
            .ok_or(AuthError::UnknownToken)
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The built-in actor of local-only mode.
pub fn local_actor() -> Actor {
    Actor {
        name: "local".into(),
        role: Role::Admin,
    }
}

/// Hex SHA-256 of a token: what goes into `token_sha256`.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// A fresh token (256 random bits from the OS) and the `[[users]]` entry that accepts it.
#[derive(Clone)]
pub struct MintedToken {
    /// Show once to the user; it is not stored anywhere.
    pub token: String,
    pub user: UserConfig,
}

impl std::fmt::Debug for MintedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedToken")
            .field("token", &"<redacted>")
            .field("user", &self.user.name)
            .finish()
    }
}

impl MintedToken {
    /// The TOML to append to `kefu.toml`.
    pub fn config_snippet(&self) -> String {
        format!(
            "[[users]]\nname = {}\nrole = \"{}\"\ntoken_sha256 = \"{}\"\n",
            toml::Value::String(self.user.name.clone()),
            self.user.role.as_str(),
            self.user.token_sha256
        )
    }
}

/// Mints a token for `kefu token new --user NAME --role ROLE`.
pub fn mint_token(name: &str, role: Role) -> Result<MintedToken, AuthError> {
    if name.trim().is_empty() {
        return Err(AuthError::Config {
            name: name.to_string(),
            message: "name is empty".into(),
        });
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let user = UserConfig {
        name: name.trim().to_string(),
        role,
        token_sha256: hash_token(&token),
    };
    Ok(MintedToken { token, user })
}

/// `Ok` when the actor has one of `roles`.
pub fn require(actor: &Actor, roles: &[Role]) -> Result<(), AuthError> {
    if roles.contains(&actor.role) {
        return Ok(());
    }
    Err(AuthError::Forbidden {
        actor: actor.name.clone(),
        role: actor.role.as_str(),
        needed: roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Agents see their own drafts only (answer 404 for the others, not 403: an id is no
/// oracle); reviewers, compliance and admins see all.
pub fn can_read_draft(actor: &Actor, draft: &Draft) -> bool {
    actor.role != Role::Agent || draft.agent == actor.name
}

/// Agents approve or reject their own drafts; reviewers, compliance and admins any draft.
/// (The store adds the rules for overrides and second approvals.)
pub fn can_decide(actor: &Actor, draft: &Draft) -> bool {
    can_read_draft(actor, draft)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(name: &str, role: Role, token: &str) -> UserConfig {
        UserConfig {
            name: name.into(),
            role,
            token_sha256: hash_token(token),
        }
    }

    fn users() -> Users {
        Users::new(&[
            cfg("xiaomei", Role::Agent, "tok-agent"),
            cfg("wang", Role::Compliance, "tok-compliance"),
        ])
        .unwrap()
    }

    #[test]
    fn bearer_token_maps_to_its_user() {
        let u = users();
        assert!(!u.is_local_only());
        let a = u.authenticate(Some("Bearer tok-agent")).unwrap();
        assert_eq!((a.name.as_str(), a.role), ("xiaomei", Role::Agent));
        let c = u.authenticate(Some("bearer   tok-compliance ")).unwrap();
        assert_eq!(c.role, Role::Compliance);
    }

    #[test]
    fn bad_headers_are_told_apart() {
        let u = users();
        assert_eq!(u.authenticate(None), Err(AuthError::Missing));
        assert_eq!(u.authenticate(Some("tok-agent")), Err(AuthError::Malformed));
        assert_eq!(
            u.authenticate(Some("Basic tok-agent")),
            Err(AuthError::Malformed)
        );
        assert_eq!(u.authenticate(Some("Bearer ")), Err(AuthError::Malformed));
        assert_eq!(
            u.authenticate(Some("Bearer tok-agentx")),
            Err(AuthError::UnknownToken)
        );
        assert_eq!(
            u.authenticate(Some("Bearer tok-agen")),
            Err(AuthError::UnknownToken)
        );
    }

    #[test]
    fn no_users_means_local_admin() {
        let u = Users::new(&[]).unwrap();
        assert!(u.is_local_only());
        assert_eq!(u.authenticate(None).unwrap(), local_actor());
        assert_eq!(local_actor().role, Role::Admin);
    }

    #[test]
    fn config_errors_name_the_user() {
        let mut bad = cfg("li", Role::Agent, "t");
        bad.token_sha256 = "abc".into();
        let err = Users::new(&[bad]).unwrap_err();
        assert!(err.to_string().contains("li"), "{err}");
        let dup = [cfg("a", Role::Agent, "t1"), cfg("a", Role::Agent, "t2")];
        assert!(Users::new(&dup).is_err());
        let shared = [cfg("a", Role::Agent, "t"), cfg("b", Role::Agent, "t")];
        assert!(Users::new(&shared).is_err());
    }

    #[test]
    fn minted_token_authenticates_and_is_not_debug_printed() {
        let m = mint_token("zhao", Role::Reviewer).unwrap();
        assert!(m.token.starts_with(TOKEN_PREFIX));
        assert_eq!(m.token.len(), TOKEN_PREFIX.len() + 64);
        assert_ne!(m.token, mint_token("zhao", Role::Reviewer).unwrap().token);
        let snippet = m.config_snippet();
        let parsed: toml::Table = toml::from_str(&snippet).unwrap();
        let user: UserConfig = parsed["users"][0].clone().try_into().unwrap();
        let u = Users::new(&[user]).unwrap();
        let a = u
            .authenticate(Some(&format!("Bearer {}", m.token)))
            .unwrap();
        assert_eq!((a.name.as_str(), a.role), ("zhao", Role::Reviewer));
        assert!(!format!("{m:?}").contains(&m.token));
        assert!(!format!("{u:?}").contains(&m.user.token_sha256));
    }

    #[test]
    fn roles_gate_actions() {
        let agent = Actor {
            name: "a".into(),
            role: Role::Agent,
        };
        let officer = Actor {
            name: "c".into(),
            role: Role::Compliance,
        };
        assert!(require(&officer, AUDIT_READERS).is_ok());
        let err = require(&agent, AUDIT_READERS).unwrap_err();
        assert!(err.to_string().contains("compliance, admin"), "{err}");
        assert!(require(&officer, RELOADERS).is_err());
    }
}
