//! The demo shop, the prompt templates and the default rules, compiled into the binary.
//!
//! The defaults of `knowledge.dir`, `prompts.dir` and `rules.dir` are the folders of the project
//! checkout. An installed `kefu` started anywhere else would find none of them, so when a
//! configured folder is still its default and does not exist, the bundled copy is written once
//! to `<data_dir>/bundled/<folder>` and used from there. It is written to disk rather than read
//! from memory because the folders stay files a person edits and kefu watches; an existing copy
//! is never overwritten, so edits survive an upgrade.

use std::path::{Path, PathBuf};

use crate::config::Config;

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

#[derive(Debug, thiserror::Error)]
#[error("could not write the bundled {folder} to {path}: {source}; set {folder}.dir to a folder that holds them, or make {path} writable")]
pub struct BundleError {
    folder: &'static str,
    path: PathBuf,
    source: std::io::Error,
}

/// Every folder kefu bundles.
pub const FOLDERS: &[&str] = &["knowledge", "prompts", "rules"];

/// Points each of `needed` (names in [`FOLDERS`]) that is a missing default at its bundled copy,
/// writing the copy first if needed. Returns one line per folder it replaced, for the operator.
/// Only the folders a command reads: `kefu check` run anywhere should not leave a demo shop
/// behind.
pub fn use_where_missing(config: &mut Config, needed: &[&str]) -> Result<Vec<String>, BundleError> {
    let root = config.storage.data_dir.join("bundled");
    let mut notices = Vec::new();
    for (folder, dir) in [
        ("knowledge", &mut config.knowledge.dir),
        ("prompts", &mut config.prompts.dir),
        ("rules", &mut config.rules.dir),
    ] {
        if !needed.contains(&folder) || dir.as_path() != Path::new(folder) || dir.exists() {
            continue;
        }
        let target = root.join(folder);
        if !target.exists() {
            write(folder, &target).map_err(|source| BundleError {
                folder,
                path: target.clone(),
                source,
            })?;
        }
        notices.push(format!(
            "no `{folder}` folder here: using the copy bundled with kefu in {} (edit it there, or set {folder}.dir)",
            target.display()
        ));
        *dir = target;
    }
    Ok(notices)
}

/// Writes the bundled files of `folder` into a sibling temp folder and renames it into place,
/// so a crash mid-way never leaves a half copy that later runs would take for a whole one.
fn write(folder: &str, target: &Path) -> std::io::Result<()> {
    let parent = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(".{folder}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    for (_, rel, bytes) in FILES.iter().filter(|(f, _, _)| *f == folder) {
        let path = tmp.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, bytes)?;
    }
    match std::fs::rename(&tmp, target) {
        Ok(()) => Ok(()),
        // Another process won the race: its copy is the same bundle.
        Err(_) if target.is_dir() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_holds_each_folder() {
        for &folder in FOLDERS {
            assert!(
                FILES.iter().any(|(f, _, _)| *f == folder),
                "{folder} is not bundled"
            );
        }
        assert!(FILES
            .iter()
            .any(|(f, p, _)| *f == "prompts" && p.ends_with(".hbs")));
    }

    #[test]
    fn configured_or_present_folders_are_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.storage.data_dir = tmp.path().join("data");
        config.knowledge.dir = tmp.path().join("my-shop");
        let before = config.knowledge.dir.clone();
        let notices = use_where_missing(&mut config, FOLDERS).unwrap();
        assert_eq!(config.knowledge.dir, before);
        // The test runs in the package root, where prompts/ and rules/ exist.
        assert_eq!(config.prompts.dir, PathBuf::from("prompts"));
        assert!(notices.is_empty(), "{notices:?}");
    }
}
