//! `mpmt run <workload> --help` lists, for every flag that takes named
//! values, exactly the values `mpmt list` prints for that flag of that
//! workload (and `mpmt suite --help` those of `--profile`): both as a
//! user reads them, from the binary.

mod common;

use common::mpmt;
use std::collections::{BTreeMap, BTreeSet};

fn stdout(args: &[&str]) -> String {
    let out = mpmt().args(args).output().unwrap();
    assert!(out.status.success(), "mpmt {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// `mpmt list`: the workloads, and each list section's values keyed by
/// (workload or "suite", flag).
/// Values per (workload, flag).
type Sections = BTreeMap<(String, String), BTreeSet<String>>;

fn listed() -> (Vec<String>, Sections) {
    let text = stdout(&["list"]);
    let mut workloads = Vec::new();
    let mut sections = BTreeMap::new();
    let mut current: Option<(Vec<String>, String)> = None;
    let mut in_workloads = false;
    for line in text.lines() {
        if line.starts_with("workloads (") {
            in_workloads = true;
            continue;
        }
        if !line.starts_with(' ') {
            in_workloads = false;
            current = None;
            // `heading (--flag of a, b, c):`
            if let Some(inner) = line.strip_suffix("):").and_then(|l| l.rsplit_once(" (")) {
                if let Some((flag, of)) = inner.1.split_once(" of ") {
                    if flag.starts_with("--") {
                        let ws = of.split(", ").map(str::to_string).collect();
                        current = Some((ws, flag.to_string()));
                    }
                }
            }
            continue;
        }
        let name = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        if in_workloads {
            workloads.push(name);
        } else if let Some((ws, flag)) = &current {
            for w in ws {
                sections
                    .entry((w.clone(), flag.clone()))
                    .or_insert_with(BTreeSet::new)
                    .insert(name.clone());
            }
        }
    }
    (workloads, sections)
}

/// `--help`: each flag's "Possible values", keyed by flag.
fn helped(args: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let text = stdout(args);
    let mut out = BTreeMap::new();
    let mut flag: Option<String> = None;
    let mut in_values = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("--") || t.starts_with('-') && t.chars().nth(1) != Some(' ') {
            // `--channel <CHANNEL>` or `-v, --verbose`
            flag = t
                .split([' ', ','])
                .find(|w| w.starts_with("--"))
                .map(str::to_string);
            in_values = false;
        } else if t == "Possible values:" {
            in_values = true;
        } else if in_values {
            match t.strip_prefix("- ") {
                Some(v) => {
                    let name = v.split(':').next().unwrap_or_default().trim().to_string();
                    out.entry(flag.clone().expect("a flag before its values"))
                        .or_insert_with(BTreeSet::new)
                        .insert(name);
                }
                None if t.is_empty() => {}
                None => in_values = false,
            }
        }
    }
    out
}

#[test]
fn every_list_flag_in_help_lists_what_mpmt_list_prints() {
    let (workloads, sections) = listed();
    assert_eq!(workloads.len(), mpmt_core::WorkloadKind::ALL.len());
    let mut checked = 0;
    for w in &workloads {
        let help = helped(&["run", w, "--help"]);
        let listed: BTreeMap<&String, &BTreeSet<String>> = sections
            .iter()
            .filter(|((lw, _), _)| lw == w)
            .map(|((_, f), v)| (f, v))
            .collect();
        let helped: BTreeMap<&String, &BTreeSet<String>> = help.iter().collect();
        assert_eq!(helped, listed, "mpmt run {w} --help vs mpmt list");
        checked += helped.len();
    }
    let suite = helped(&["suite", "--help"]);
    let profiles = &sections[&("suite".to_string(), "--profile".to_string())];
    assert_eq!(suite.get("--profile"), Some(profiles));
    // Every workload has at least one list flag, and none goes unlisted.
    assert!(checked >= workloads.len(), "only {checked} flags checked");
}

#[test]
fn every_channel_and_mode_is_in_the_help() {
    // The lists once drifted: latency's help lacked mq, create's two
    // methods. Each kind's registry is the list now.
    let latency = helped(&["run", "latency", "--help"]);
    for c in mpmt_core::ChannelKind::ALL {
        assert!(latency["--channel"].contains(c.name()), "{c}");
    }
    let create = helped(&["run", "create", "--help"]);
    for m in mpmt_core::schema::CreateMethod::ALL {
        assert!(create["--method"].contains(m.name()), "{m}");
    }
}
