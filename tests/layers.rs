//! The layers import one way: a module may use its own layer and those below it, never
//! one above (`cargo test --test layers` prints what breaks the rule).
//!
//! 5  startup, cli, main (putting it together)
//! 4  api, pages (front doors; the pages may use the API's extractors and state)
//! 3  directory and the use cases beside it: ndjson import/export, oruk (the feed
//!    format, reading and pulling other feeds), reference_data loading
//! 2  storage, search, links, mail (keeping and finding records, talking to the world)
//! 1  understand (reading callers' words)
//! 0  domain, geo, telemetry, demo (types, rules and data with no I/O of their own)

use std::collections::BTreeMap;
use std::path::Path;

fn layer_of(module: &str) -> Option<u8> {
    Some(match module {
        "startup" | "cli" | "main" | "lib" | "bin" => 5,
        "api" | "pages" => 4,
        "directory" | "ndjson" | "oruk" | "reference_data" => 3,
        "storage" | "search" | "links" | "mail" => 2,
        "understand" => 1,
        "domain" | "geo" | "telemetry" | "demo" => 0,
        _ => return None,
    })
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a file names as `crate::name`, outside comments.
fn imports(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut broken: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut unknown = Vec::new();
    for path in &files {
        let relative = path.strip_prefix(&src).expect("under src");
        let first = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .expect("a name");
        let module = first.trim_end_matches(".rs");
        let Some(own) = layer_of(module) else {
            unknown.push(relative.display().to_string());
            continue;
        };
        let text = std::fs::read_to_string(path).expect("reading a source file");
        for name in imports(&text) {
            if name == module {
                continue;
            }
            match layer_of(&name) {
                Some(theirs) if theirs > own => broken
                    .entry(relative.display().to_string())
                    .or_default()
                    .push(format!("{name} (layer {theirs}) from layer {own}")),
                Some(_) => {}
                None => unknown.push(format!("{} names crate::{name}", relative.display())),
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules without a layer (add them to layer_of): {unknown:?}"
    );
    assert!(
        broken.is_empty(),
        "imports from a layer above:\n{}",
        broken
            .iter()
            .map(|(f, v)| format!("  {f}: {}", v.join(", ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(files.len() > 50, "found only {} source files", files.len());
}
