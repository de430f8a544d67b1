//! AWS Lambda mode (feature `lambda`): inside a Lambda function `infergate serve` opens no TCP
//! listener; it takes the function's invocations from the Lambda runtime API and answers API
//! Gateway (HTTP and REST APIs), function URL and ALB events with the same router as over HTTP.

use anyhow::{Context, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The variable Lambda sets, in every function's environment, to the runtime API's `host:port`.
pub const RUNTIME_API_VAR: &str = "AWS_LAMBDA_RUNTIME_API";

/// The variable naming a prepared data directory (models added, keys created) that is copied into
/// the empty data directory when `serve` starts inside Lambda.
pub const SEED_VAR: &str = "INFERGATE_LAMBDA_SEED_DIR";

/// Whether this process runs inside AWS Lambda (the runtime API's address is set).
pub fn in_lambda() -> bool {
    std::env::var_os(RUNTIME_API_VAR).is_some_and(|v| !v.is_empty())
}

/// The command line to parse: Lambda starts the function's `bootstrap` with no arguments, which
/// means `infergate serve` there; anywhere else the arguments are left as they are.
pub fn args() -> Vec<OsString> {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    if args.len() <= 1 && in_lambda() {
        if args.is_empty() {
            args.push("infergate".into());
        }
        args.push("serve".into());
    }
    args
}

/// Inside Lambda, copies the directory named by `INFERGATE_LAMBDA_SEED_DIR` (read-only in the
/// deployment package) into `data_dir` when that is missing or empty; a data directory with
/// something in it (a restart in the same execution environment) is kept as it is.
pub fn seed_data_dir(data_dir: &Path) -> Result<()> {
    let Some(seed) = std::env::var_os(SEED_VAR).filter(|v| !v.is_empty()).map(PathBuf::from) else {
        return Ok(());
    };
    if !in_lambda() {
        return Ok(());
    }
    let empty = match std::fs::read_dir(data_dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(e).with_context(|| format!("cannot read data directory {}", data_dir.display())),
    };
    if !empty {
        eprintln!("lambda: data directory {} already in use; {SEED_VAR} not copied again", data_dir.display());
        return Ok(());
    }
    if !seed.is_dir() {
        anyhow::bail!("{SEED_VAR}={} is not a directory", seed.display());
    }
    // Copied next to its place and renamed, so a copy cut short never looks like a seeded directory.
    let mut partial = data_dir.as_os_str().to_owned();
    partial.push(format!(".seeding-{}", std::process::id()));
    let partial = PathBuf::from(partial);
    let copied = copy_tree(&seed, &partial)
        .with_context(|| format!("cannot copy {SEED_VAR}={} to {}", seed.display(), partial.display()));
    let placed = copied.and_then(|()| {
        if data_dir.exists() {
            std::fs::remove_dir(data_dir).with_context(|| format!("cannot replace {}", data_dir.display()))?;
        }
        std::fs::rename(&partial, data_dir).with_context(|| format!("cannot move the copy to {}", data_dir.display()))
    });
    if placed.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    placed?;
    eprintln!("lambda: copied the data directory {} into {}", seed.display(), data_dir.display());
    Ok(())
}

/// Copies the files and directories under `from` into a new directory `to`, writable by us
/// whatever the source's permissions (the package is read-only).
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if std::fs::metadata(&src)?.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).with_context(|| format!("cannot copy {}", src.display()))?;
            make_writable(&dst)?;
        }
    }
    make_writable(to)
}

#[cfg(unix)]
fn make_writable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode | 0o600))?;
    Ok(())
}

#[cfg(not(unix))]
fn make_writable(path: &Path) -> Result<()> {
    let mut permissions = std::fs::metadata(path)?.permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(path, permissions)?;
    Ok(())
}

/// Answers the invocations the Lambda runtime API hands out with `router` until the runtime
/// stops this process; `unprinted_admin_key` is the id of a first admin key created at this
/// start, which is not printed here (stdout goes to CloudWatch Logs).
#[cfg(feature = "lambda")]
pub async fn run(router: axum::Router, unprinted_admin_key: Option<&str>) -> Result<()> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    // lambda_runtime panics without these; say which one is missing instead.
    let missing: Vec<&str> =
        ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
            .into_iter()
            .filter(|name| env(name).is_none())
            .collect();
    if !missing.is_empty() {
        anyhow::bail!("{RUNTIME_API_VAR} is set but {} is not: not a Lambda environment", missing.join(", "));
    }
    let memory = env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").unwrap_or_default();
    if memory.parse::<i32>().is_err() {
        anyhow::bail!("AWS_LAMBDA_FUNCTION_MEMORY_SIZE must be a whole number of MB, got {memory:?}");
    }
    if let Some(id) = unprinted_admin_key {
        tracing::warn!(
            "created the first admin key {id} but did not print its token (inside Lambda stdout goes to CloudWatch \
             Logs); create keys with `infergate keys create` against the same data directory or database"
        );
    }
    eprintln!(
        "running as AWS Lambda function {} version {} ({memory} MB): requests come from the runtime API at {}, no \
         TCP listener",
        env("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default(),
        env("AWS_LAMBDA_FUNCTION_VERSION").unwrap_or_default(),
        env(RUNTIME_API_VAR).unwrap_or_default(),
    );
    lambda_http::run(router).await.map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
}

/// Without the `lambda` feature there is no Lambda mode: says how to build it.
#[cfg(not(feature = "lambda"))]
pub async fn run(_router: axum::Router, _unprinted_admin_key: Option<&str>) -> Result<()> {
    anyhow::bail!(
        "{RUNTIME_API_VAR} is set (running inside AWS Lambda) but this binary was built without the `lambda` feature; \
         build it with `--features lambda`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_tree_copies_nested_files_and_makes_them_writable() {
        let dir = tempfile::tempdir().unwrap();
        let seed = dir.path().join("seed");
        std::fs::create_dir_all(seed.join("models")).unwrap();
        std::fs::write(seed.join("infergate.db"), b"db").unwrap();
        std::fs::write(seed.join("models/a.onnx"), b"model").unwrap();
        let mut readonly = std::fs::metadata(seed.join("infergate.db")).unwrap().permissions();
        readonly.set_readonly(true);
        std::fs::set_permissions(seed.join("infergate.db"), readonly).unwrap();
        let to = dir.path().join("data");
        copy_tree(&seed, &to).unwrap();
        assert_eq!(std::fs::read(to.join("infergate.db")).unwrap(), b"db");
        assert_eq!(std::fs::read(to.join("models/a.onnx")).unwrap(), b"model");
        assert!(!std::fs::metadata(to.join("infergate.db")).unwrap().permissions().readonly());
    }
}
