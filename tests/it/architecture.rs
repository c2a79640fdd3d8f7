//! The layering `docs/ARCHITECTURE.md` promises, checked on the sources: HTTP
//! stays inside `src/api`, `main.rs` stays a dispatcher, and the modules of
//! `src/api` import each other without a circle.

use crate::common::manifest_dir;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments (a doc comment may name anything).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read");
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => l.get(..i).unwrap_or(""),
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).map(str::to_string).collect()
}

/// The identifier a path segment starts with.
fn first_word(rest: &str) -> String {
    rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

#[test]
fn no_module_outside_the_api_names_problem_params_or_axum() {
    let src = manifest_dir().join("src");
    let api = src.join("api");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut offenders = Vec::new();
    for f in files.iter().filter(|f| !f.starts_with(&api)) {
        let w = words(&code(f));
        for banned in ["Problem", "Params", "axum"] {
            if w.contains(banned) {
                offenders.push(format!("{} names {banned}", f.strip_prefix(&src).unwrap_or(f).display()));
            }
        }
    }
    assert!(offenders.is_empty(), "HTTP leaks out of src/api: {offenders:#?}");
    assert!(files.len() > 40, "the walk found the sources");
}

#[test]
fn main_rs_is_a_dispatcher_that_calls_no_api_function() {
    let main = code(&manifest_dir().join("src/main.rs"));
    assert!(main.lines().count() <= 150, "main.rs has {} lines", main.lines().count());
    assert!(!main.contains("api::"), "main.rs reaches into the api");
}

#[test]
fn the_api_modules_import_each_other_without_a_circle() {
    let dir = manifest_dir().join("src/api");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    let name = |p: &Path| p.file_stem().and_then(|s| s.to_str()).unwrap_or("").to_string();
    let modules: BTreeSet<String> = files.iter().map(|f| name(f)).filter(|m| m != "mod").collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let m = name(f);
        if m == "mod" {
            continue;
        }
        let text = code(f);
        let uses: BTreeSet<String> = ["super::", "crate::api::"]
            .iter()
            .flat_map(|prefix| text.split(prefix).skip(1).map(first_word))
            .filter(|target| modules.contains(target) && *target != m)
            .collect();
        graph.insert(m, uses);
    }
    // A depth-first walk from each module; reaching it again is a circle.
    fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str, seen: &mut BTreeSet<String>) -> bool {
        graph
            .get(from)
            .into_iter()
            .flatten()
            .any(|n| n == to || (seen.insert(n.clone()) && reaches(graph, n, to, seen)))
    }
    let circles: Vec<&String> = graph.keys().filter(|m| reaches(&graph, m, m, &mut BTreeSet::new())).collect();
    assert!(circles.is_empty(), "modules of src/api in an import circle: {circles:?} ({graph:#?})");
    assert!(graph.get("places").is_some_and(|u| u.contains("problem")), "the walk reads the imports: {graph:#?}");
}
