//! API tokens: 64 hexadecimal characters (GlitchTip's format), shown once, stored as
//! a hash.

use faultline_store::{ApiToken, Store, User};

use crate::access::Scopes;
use crate::accounts::secrets;
use crate::DomainError;

/// Creates a token for `user` with `scopes`; returns it and its secret (shown once).
pub async fn create(
    store: &Store,
    user: &User,
    label: &str,
    scopes: Scopes,
) -> Result<(ApiToken, String), DomainError> {
    if scopes == Scopes::NONE {
        return Err(DomainError::Invalid("a token needs at least one scope".into()));
    }
    let secret = secrets::hex(32);
    let label: String = label.trim().chars().take(255).collect();
    let token =
        store.create_api_token(user.id, &label, scopes.to_token_bits(), &faultline_store::hash_secret(&secret)).await?;
    Ok((token, secret))
}
