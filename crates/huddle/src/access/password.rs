//! Room passwords, kept only as argon2 hashes (PHC strings). Hashing is deliberately slow and
//! memory-hard, so [`PasswordWork`] runs it off the async threads, a few at a time.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::Semaphore;

/// Hashes computed at once: each holds 19 MiB (argon2's default memory cost) while it runs, and
/// the allocator keeps much of what it ever held, so this bounds the memory passwords can take.
const CONCURRENT_HASHES: usize = 2;

/// Argon2 work off the async threads, [`CONCURRENT_HASHES`] at a time; the rest wait their turn
/// (each waiting costs a task, not a hash's memory).
pub struct PasswordWork {
    permits: Semaphore,
}

impl Default for PasswordWork {
    fn default() -> Self {
        Self {
            permits: Semaphore::new(CONCURRENT_HASHES),
        }
    }
}

impl PasswordWork {
    /// The hash of `password`; `None` when the server is stopping.
    pub async fn hash(&self, password: String) -> Option<Result<String, PasswordError>> {
        self.run(move || hash_password(&password)).await
    }

    pub async fn matches(&self, password: String, hash: String) -> bool {
        self.run(move || password_matches(&password, &hash))
            .await
            .unwrap_or(false)
    }

    /// `None` when the work could not run (the runtime is shutting down).
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let _permit = self.permits.acquire().await.ok()?;
        tokio::task::spawn_blocking(work).await.ok()
    }
}

/// Longest password accepted: hashing cost must not be the attacker's to choose.
pub const MAX_PASSWORD_BYTES: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password must be 1 to {MAX_PASSWORD_BYTES} bytes")]
    BadLength,
}

/// The PHC string of `password` with a fresh salt.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.is_empty() || password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::BadLength);
    }
    let salt =
        SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("16 bytes make a valid salt");
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any short password")
        .to_string())
}

/// Whether `password` matches `hash`; a hash that does not parse matches nothing.
fn password_matches(password: &str, hash: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(password_matches("correct horse", &hash));
        assert!(!password_matches("wrong", &hash));
        assert!(!password_matches("correct horse", "not a hash"));
        assert_eq!(hash_password(""), Err(PasswordError::BadLength));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_a_few_hashes_run_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let work = Arc::new(PasswordWork::default());
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (work, running, most) = (work.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    work.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), CONCURRENT_HASHES);
    }
}
