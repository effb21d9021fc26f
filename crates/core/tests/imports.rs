//! How the source imports itself, checked. First, mpmt-core's layers (the
//! diagram in `crates/core/src/lib.rs`): no file imports from a layer
//! above its own. Then no import circle anywhere in `crates/`: within each
//! crate, the files
//! form a graph (file A → file B when A names an item of B's module, by
//! `use`, by a qualified path, or through a child module it declares),
//! and that graph has no cycle. A circle is two ideas that cannot be read,
//! changed or tested apart; the fix is to move what both need below both.
//!
//! Not edges: `mod x;` declarations, `#[cfg(test)]` modules (tests reach
//! into what they test), macros (found by their export, not a path), and a
//! submodule naming a module it belongs to (`super::Case`: a parent and
//! its private children are one idea, the parent's registry naming them).
//! Siblings and cousins naming each other both ways are a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path within one crate: `["sys", "watchdog"]`.
type ModPath = Vec<String>;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("reading a source directory") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module a file defines, relative to its crate's `src`.
fn module_of(rel: &Path) -> ModPath {
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    parts
}

/// The file's text with `#[cfg(test)]` items, comments and string
/// literals removed (a `crate::x` in a doc comment is not an import).
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            // Skip the next item: up to its balanced closing brace, or
            // its `;` when it has no body.
            let mut depth = 0i32;
            let mut opened = false;
            for l in lines.by_ref() {
                depth += l.matches('{').count() as i32;
                opened |= l.contains('{');
                depth -= l.matches('}').count() as i32;
                if (opened && depth <= 0) || (!opened && l.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        if t.starts_with("//") {
            continue;
        }
        let line = line.split(" //").next().unwrap_or("");
        // Drop string literals.
        let mut in_str = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// Every path the code names, as segment lists: each `use` tree expanded
/// (`use a::{b, c::d}` → `a::b`, `a::c::d`) and each inline `a::b::c`.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() {
        if ident(chars[i]) && (i == 0 || !ident(chars[i - 1]) && chars[i - 1] != ':') {
            // A path starting here: segments joined by `::`.
            let mut segs = Vec::new();
            let mut j = i;
            loop {
                let s = j;
                while j < chars.len() && ident(chars[j]) {
                    j += 1;
                }
                segs.push(chars[s..j].iter().collect::<String>());
                if j + 2 < chars.len() && chars[j] == ':' && chars[j + 1] == ':' {
                    j += 2;
                    if chars[j] == '{' {
                        // A use tree: expand its branches against this prefix.
                        let mut depth = 0;
                        let start = j;
                        while j < chars.len() {
                            match chars[j] {
                                '{' => depth += 1,
                                '}' => {
                                    depth -= 1;
                                    if depth == 0 {
                                        break;
                                    }
                                }
                                _ => {}
                            }
                            j += 1;
                        }
                        let inner: String = chars[start + 1..j.min(chars.len())].iter().collect();
                        for branch in split_top(&inner) {
                            let b = branch.trim();
                            if !b.is_empty() && b != "self" && b.chars().all(ident) {
                                let mut full = segs.clone();
                                full.push(b.to_string());
                                out.push(full);
                            }
                            for mut p in paths(&branch) {
                                if p.first().is_some_and(|f| f == "self") {
                                    p.remove(0);
                                }
                                let mut full = segs.clone();
                                full.extend(p);
                                out.push(full);
                            }
                            if branch.trim() == "self" {
                                out.push(segs.clone());
                            }
                        }
                        segs.clear();
                        break;
                    }
                    if !ident(chars[j]) {
                        break;
                    }
                } else {
                    break;
                }
            }
            // A macro (`crate::say!`) is found by its export, not its path.
            let is_macro = chars.get(j) == Some(&'!');
            if segs.len() >= 2 && !is_macro {
                out.push(segs);
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// `a, b::{c, d}, e` split at top-level commas.
fn split_top(s: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(String::new());
                continue;
            }
            _ => {}
        }
        out.last_mut().expect("one").push(c);
    }
    out
}

/// The known module a path names (its longest prefix that is one),
/// resolved from `here`: `crate::`, `super::`, `self::`, or a child of
/// `here`. None for other crates, std, and items of `here` itself.
fn resolve(path: &[String], here: &ModPath, known: &BTreeSet<ModPath>) -> Option<ModPath> {
    let (mut base, rest): (ModPath, &[String]) = match path[0].as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" => (here.clone(), &path[1..]),
        "super" => {
            let mut b = here.clone();
            let mut r = path;
            while r.first().is_some_and(|s| s == "super") {
                b.pop();
                r = &r[1..];
            }
            (b, r)
        }
        first => {
            let mut child = here.clone();
            child.push(first.to_string());
            if !known.contains(&child) {
                return None;
            }
            (here.clone(), path)
        }
    };
    let mut best = known.contains(&base).then(|| base.clone());
    for seg in rest {
        base.push(seg.clone());
        if known.contains(&base) {
            best = Some(base.clone());
        } else {
            break;
        }
    }
    best.filter(|m| m != here)
}

/// Every group of modules that reach each other (each a circle or
/// several), each with one cycle through it for the message.
fn circles(g: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<ModPath>> {
    let reach = |from: &ModPath| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for m in g.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    todo.push(m.clone());
                }
            }
        }
        seen
    };
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in g.keys() {
        if done.contains(n) {
            continue;
        }
        let r = reach(n);
        if !r.contains(n) {
            continue;
        }
        let group: BTreeMap<ModPath, BTreeSet<ModPath>> = g
            .iter()
            .filter(|(m, _)| r.contains(*m) && reach(m).contains(n))
            .map(|(m, e)| (m.clone(), e.clone()))
            .collect();
        done.extend(group.keys().cloned());
        let members: BTreeSet<ModPath> = group.keys().cloned().collect();
        let inner: BTreeMap<ModPath, BTreeSet<ModPath>> = group
            .into_iter()
            .map(|(m, e)| (m, e.intersection(&members).cloned().collect()))
            .collect();
        if let Some(c) = cycle(&inner) {
            if std::env::var_os("CIRCLES_VERBOSE").is_some() {
                for (m, e) in &inner {
                    eprintln!("{m:?} -> {e:?}");
                }
                eprintln!();
            }
            out.push(c);
        }
    }
    out
}

/// One cycle of the graph, if it has any.
fn cycle(graph: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Option<Vec<ModPath>> {
    fn visit(
        n: &ModPath,
        g: &BTreeMap<ModPath, BTreeSet<ModPath>>,
        state: &mut BTreeMap<ModPath, u8>,
        stack: &mut Vec<ModPath>,
    ) -> Option<Vec<ModPath>> {
        state.insert(n.clone(), 1);
        stack.push(n.clone());
        for m in g.get(n).into_iter().flatten() {
            match state.get(m).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|x| x == m).expect("on the stack");
                    let mut c = stack[at..].to_vec();
                    c.push(m.clone());
                    return Some(c);
                }
                0 => {
                    if let Some(c) = visit(m, g, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(c) = visit(n, graph, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

/// The modules `code` (of module `here`) depends on.
fn edges(code: &str, here: &ModPath, known: &BTreeSet<ModPath>) -> BTreeSet<ModPath> {
    paths(code)
        .iter()
        .filter_map(|p| resolve(p, here, known))
        // A submodule is part of its parent: naming the module it belongs
        // to (`super::Case`) is not a dependency between two ideas.
        // Siblings and cousins are.
        .filter(|m| !here.starts_with(m))
        .collect()
}

fn graph_of(src: &Path) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let mut all = Vec::new();
    files(src, &mut all);
    let mods: Vec<(ModPath, String)> = all
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(src).expect("under src");
            let text = std::fs::read_to_string(f).expect("reading a source file");
            (module_of(rel), code_of(&text))
        })
        .collect();
    let known: BTreeSet<ModPath> = mods.iter().map(|(m, _)| m.clone()).collect();
    let mut graph = BTreeMap::new();
    for (here, code) in &mods {
        graph.insert(here.clone(), edges(code, here, &known));
    }
    graph
}

/// Layers bottom-up; `error` sits between `sys` and everything else.
const LAYERS: [&str; 7] = [
    "sys",
    "error",
    "measure",
    "shm",
    "channel",
    "backend",
    "workloads",
];

fn rank(name: &str) -> Option<usize> {
    // The channel registry macro is exported at the crate root.
    let name = if name == "with_channel" {
        "channel"
    } else {
        name
    };
    LAYERS.iter().position(|l| *l == name)
}

#[test]
fn imports_only_point_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut bad = Vec::new();
    for f in &all {
        let rel = f.strip_prefix(&src).expect("under src");
        let top = rel.components().next().expect("a component");
        let top = top.as_os_str().to_string_lossy();
        let Some(own) = rank(top.trim_end_matches(".rs")) else {
            continue; // lib.rs
        };
        let text = std::fs::read_to_string(f).expect("reading a source file");
        for (i, line) in text.lines().enumerate() {
            for part in line.split("crate::").skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if let Some(r) = rank(&name) {
                    if r > own {
                        bad.push(format!("{}:{}: {}", rel.display(), i + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(bad.is_empty(), "imports pointing up:\n{}", bad.join("\n"));
    assert!(all.len() > 20, "found only {} files", all.len());
}

#[test]
fn no_crate_has_an_import_circle() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crates/")
        .to_path_buf();
    let mut found = Vec::new();
    let mut checked = 0;
    for e in std::fs::read_dir(&crates).expect("reading crates/") {
        let src = e.expect("dir entry").path().join("src");
        if !src.is_dir() {
            continue;
        }
        checked += 1;
        let g = graph_of(&src);
        for c in circles(&g) {
            let show: Vec<String> = c
                .iter()
                .map(|m| {
                    if m.is_empty() {
                        "(crate root)".to_string()
                    } else {
                        m.join("::")
                    }
                })
                .collect();
            found.push(format!("{}: {}", src.display(), show.join(" → ")));
        }
    }
    assert!(checked >= 5, "checked only {checked} crates");
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

#[test]
fn the_detector_sees_a_circle_through_a_use_tree() {
    let known: BTreeSet<ModPath> = [vec![], vec!["a".to_string()], vec!["b".to_string()]]
        .into_iter()
        .collect();
    let a = vec!["a".to_string()];
    let code =
        code_of("use crate::{b::{self, X}, c};\n// use crate::a;\nlet s = \"crate::a::f\";\n");
    let e = edges(&code, &a, &known);
    assert_eq!(e, [vec!["b".to_string()]].into_iter().collect());
    let mut g = BTreeMap::new();
    g.insert(a.clone(), e);
    g.insert(vec!["b".to_string()], [a.clone()].into_iter().collect());
    assert!(cycle(&g).is_some());
    g.insert(vec!["b".to_string()], BTreeSet::new());
    assert!(cycle(&g).is_none());
}
