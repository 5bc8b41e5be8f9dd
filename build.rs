//! Compiles the demo shop (`knowledge/`), the prompt templates (`prompts/`) and the default rules
//! (`rules/`) into the binary, so an installed `kefu` runs from any folder: see `src/bundled.rs`.
//! Generates `$OUT_DIR/bundled.rs`, a table of `(folder, relative path, include_bytes!(..))`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const FOLDERS: [&str; 3] = ["knowledge", "prompts", "rules"];

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut table = String::from("pub static FILES: &[(&str, &str, &[u8])] = &[\n");
    for folder in FOLDERS {
        let dir = root.join(folder);
        // A folder path makes cargo rerun this script when any file below it is added or removed.
        println!("cargo:rerun-if-changed={folder}");
        let mut files = Vec::new();
        walk(&dir, &mut files);
        files.sort();
        for file in files {
            let rel = file.strip_prefix(&dir).expect("walked below dir");
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            writeln!(
                table,
                "    ({folder:?}, {:?}, include_bytes!({:?})),",
                rel.join("/"),
                file.display().to_string()
            )
            .expect("write to string");
        }
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("bundled.rs");
    std::fs::write(out, table).expect("write bundled.rs");
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        // Editor and OS droppings are not part of the bundle.
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else if path.is_file() {
            out.push(path);
        }
    }
}
