//! Accounts.

use faultline_store::{NewUser, Store, User};

use crate::{password, DomainError};

/// Checks that an email address has the shape `local@domain.tld`.
pub fn validate_email(email: &str) -> Result<(), DomainError> {
    let email = email.trim();
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    };
    if valid {
        Ok(())
    } else {
        Err(DomainError::Invalid(format!("{email:?} is not a valid email address")))
    }
}

/// Creates a superuser (staff, verified email), as `faultline createsuperuser` does.
pub async fn create_superuser(store: &Store, email: &str, password: &str) -> Result<User, DomainError> {
    validate_email(email)?;
    password::validate(password)?;
    if store.user_by_email(email).await?.is_some() {
        return Err(DomainError::Conflict(format!("a user with the email {} already exists", email.trim())));
    }
    let new = NewUser {
        email: email.trim().to_string(),
        name: String::new(),
        password_hash: Some(password::hash(password)),
        is_superuser: true,
        email_verified: true,
    };
    store.create_user(&new).await.map_err(|e| match e {
        // Lost a race with another creator of the same address.
        e if e.is_conflict() => DomainError::Conflict(format!("a user with the email {} already exists", email.trim())),
        e => e.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_store::testing::TestDb;

    #[test]
    fn emails() {
        assert!(validate_email("a@example.com").is_ok());
        assert!(validate_email("a@localhost").is_err());
        assert!(validate_email("no-at.example.com").is_err());
        assert!(validate_email("a b@example.com").is_err());
    }

    #[tokio::test]
    async fn superuser_once() {
        let db = TestDb::sqlite().await;
        let user = create_superuser(&db.store, "root@example.com", "s3cret-pass").await.unwrap();
        assert!(user.is_superuser && user.is_staff && user.email_verified);
        assert!(password::verify("s3cret-pass", user.password_hash.as_deref().unwrap()));
        let err = create_superuser(&db.store, "ROOT@example.com", "s3cret-pass").await.unwrap_err();
        assert!(matches!(err, DomainError::Conflict(_)), "{err}");
        assert!(create_superuser(&db.store, "x@example.com", "short").await.is_err());
    }
}

/// Random secrets: session cookies, CSRF tokens, API tokens, email link tokens.
pub mod secrets {
    use rand::RngCore;

    /// `bytes` random bytes as lowercase hex.
    pub fn hex(bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        rand::thread_rng().fill_bytes(&mut buf);
        buf.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Registers a user. The first user of the server may always register and becomes a
/// superuser; after that, registration needs `ENABLE_USER_REGISTRATION`.
pub async fn register(
    store: &Store,
    registration_open: bool,
    email: &str,
    password: &str,
    name: &str,
) -> Result<User, DomainError> {
    let first = store.user_count().await? == 0;
    if !first && !registration_open {
        return Err(DomainError::Forbidden("Registration is closed on this server.".into()));
    }
    validate_email(email)?;
    password::validate(password)?;
    if store.user_by_email(email).await?.is_some() {
        return Err(DomainError::Conflict("A user is already registered with this email address.".into()));
    }
    let new = NewUser {
        email: email.trim().to_string(),
        name: name.trim().chars().take(150).collect(),
        password_hash: Some(password::hash(password)),
        is_superuser: first,
        email_verified: false,
    };
    store.create_user(&new).await.map_err(|e| match e {
        e if e.is_conflict() => DomainError::Conflict("A user is already registered with this email address.".into()),
        e => e.into(),
    })
}

/// Checks credentials. Unknown email, wrong password and inactive user all answer the
/// same, so the response does not reveal which accounts exist.
pub async fn authenticate(store: &Store, email: &str, password: &str) -> Result<User, DomainError> {
    let invalid = || DomainError::Invalid("The email address and/or password you specified are not correct.".into());
    let Some(user) = store.user_by_email(email).await? else {
        // Spend the same time as a real check.
        let _ = password::verify(password, DUMMY_HASH);
        return Err(invalid());
    };
    match &user.password_hash {
        Some(hash) if user.is_active && password::verify(password, hash) => Ok(user),
        _ => Err(invalid()),
    }
}

/// An argon2 hash of a random string, for constant-time misses.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3pYHv2u6jD1y0zQ8a3QHk2h5cW5D0TJ0oV7j2bM0c5I";

/// A new web session: `(cookie token, CSRF token)`. The store keeps only the token's
/// hash.
pub async fn start_session(
    store: &Store,
    user: &User,
    ip: Option<&str>,
    user_agent: Option<&str>,
    lifetime_days: i64,
) -> Result<(String, String), DomainError> {
    let token = secrets::hex(32);
    let csrf = secrets::hex(16);
    let expires = faultline_store::Timestamp::now().plus_secs(lifetime_days * 86_400);
    store.create_session(&faultline_store::hash_secret(&token), user.id, &csrf, expires, ip, user_agent).await?;
    store.touch_last_login(user.id).await?;
    Ok((token, csrf))
}

/// Creates a one-time email token of `kind` valid for `hours`; returns the secret to
/// put in the link.
pub async fn email_token(store: &Store, user: &User, kind: &str, hours: i64) -> Result<String, DomainError> {
    let token = secrets::hex(24);
    let expires = faultline_store::Timestamp::now().plus_secs(hours * 3600);
    store.create_email_token(&faultline_store::hash_secret(&token), user.id, kind, &user.email, expires).await?;
    Ok(token)
}

/// Sets a new password from a reset link; every session of the user ends.
pub async fn reset_password(store: &Store, token: &str, new_password: &str) -> Result<User, DomainError> {
    password::validate(new_password)?;
    let used = store
        .use_email_token(&faultline_store::hash_secret(token), "reset")
        .await?
        .ok_or_else(|| DomainError::Invalid("The password reset link is invalid or has expired.".into()))?;
    store.set_password_hash(used.user_id, &password::hash(new_password)).await?;
    store.delete_user_sessions(used.user_id, None).await?;
    Ok(store.user(used.user_id).await?)
}

/// Confirms an email address from a verification link.
pub async fn verify_email(store: &Store, token: &str) -> Result<User, DomainError> {
    let used = store
        .use_email_token(&faultline_store::hash_secret(token), "verify")
        .await?
        .ok_or_else(|| DomainError::Invalid("The confirmation link is invalid or has expired.".into()))?;
    store.set_email_verified(used.user_id).await?;
    Ok(store.user(used.user_id).await?)
}

/// Changes a password after checking the current one; other sessions end.
pub async fn change_password(
    store: &Store,
    user: &User,
    current: &str,
    new_password: &str,
    keep_session: Option<&str>,
) -> Result<(), DomainError> {
    let ok = user.password_hash.as_deref().is_some_and(|h| password::verify(current, h));
    if !ok {
        return Err(DomainError::Invalid("The current password is not correct.".into()));
    }
    password::validate(new_password)?;
    store.set_password_hash(user.id, &password::hash(new_password)).await?;
    store.delete_user_sessions(user.id, keep_session).await?;
    Ok(())
}
