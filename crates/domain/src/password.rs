//! Password hashing (argon2id, PHC strings) and the password policy.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::DomainError;

/// Shortest accepted password.
pub const MIN_LENGTH: usize = 8;

/// Checks the policy Django's default validators enforce: at least eight characters,
/// not only digits.
pub fn validate(password: &str) -> Result<(), DomainError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(DomainError::Invalid(format!("the password must be at least {MIN_LENGTH} characters long")));
    }
    if password.chars().all(|c| c.is_ascii_digit()) {
        return Err(DomainError::Invalid("the password must not be entirely numeric".into()));
    }
    Ok(())
}

/// Hashes a password with argon2id and a random salt.
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        // Only fails for out-of-range parameters, and the defaults are in range.
        .unwrap_or_else(|e| unreachable!("argon2 with default parameters failed: {e}"))
}

/// Whether `password` matches the stored hash. Unknown or malformed hashes never match.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash("correct horse");
        let b = hash("correct horse");
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "salted");
        assert!(verify("correct horse", &a));
        assert!(!verify("wrong horse", &a));
        assert!(!verify("correct horse", "not-a-hash"));
    }

    #[test]
    fn policy() {
        assert!(validate("short").is_err());
        assert!(validate("12345678901").is_err());
        assert!(validate("long enough").is_ok());
    }
}
