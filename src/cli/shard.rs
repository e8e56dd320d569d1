//! `--shard I/N|auto|auto/N`: which part of a sharded sweep this process runs. The library
//! resolves it ([`crate::runner::shard::resolve`]) from the flag and a lookup of
//! variables; here the lookup is the process environment, and errors name the flag.

use anyhow::Result;

use crate::runner::shard::Shard;

/// Resolves `--shard FLAG`, reading the scheduler variables `auto` may need from the
/// environment, and says on stderr where a part taken from them came from.
///
/// # Errors
///
/// The library's refusal, as `--shard FLAG: reason`.
pub(super) fn resolve(flag: &str) -> Result<Shard> {
    let resolved = crate::runner::shard::resolve(flag, |name| std::env::var(name).ok())
        .map_err(|e| anyhow::anyhow!("--shard {}: {}", e.spec, e.reason))?;
    if let Some(origin) = &resolved.origin {
        eprintln!("shard {} ({origin})", resolved.shard);
    }
    Ok(resolved.shard)
}
