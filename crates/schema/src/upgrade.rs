//! Reading older results: each step rewrites the JSON of one version into
//! the next, so a version-1 file written before the kinds were typed still
//! opens in `mpmt report` and `mpmt compare`.

use serde_json::Value;

/// Calls `f` on every record object of `v`.
fn each_record(
    v: &mut Value,
    mut f: impl FnMut(&mut serde_json::Map<String, Value>),
) -> Result<(), String> {
    let records = v
        .get_mut("records")
        .and_then(|r| r.as_array_mut())
        .ok_or("has no records list")?;
    for r in records.iter_mut() {
        f(r.as_object_mut()
            .ok_or("has a record that is not an object")?);
    }
    Ok(())
}

/// Version 1 → 2: the creation workload was called `spawn` and kept its
/// method in `backend`; `channel` held `shm`, `heap` or `none` where no
/// channel carried the data.
pub fn v1_to_v2(v: &mut Value) -> Result<(), String> {
    each_record(v, |obj| {
        let workload = obj
            .get("workload")
            .and_then(|w| w.as_str())
            .unwrap_or_default()
            .to_string();
        let channel = obj
            .get("channel")
            .and_then(|c| c.as_str())
            .unwrap_or_default()
            .to_string();
        match workload.as_str() {
            "spawn" => {
                let method = obj
                    .get("backend")
                    .and_then(|b| b.as_str())
                    .unwrap_or_default()
                    .to_string();
                let backend = match method.as_str() {
                    "thread" => "thread",
                    "fork" => "fork",
                    _ => "spawn",
                };
                obj.insert("workload".into(), "create".into());
                obj.insert("backend".into(), backend.into());
                obj.insert("variant".into(), method.into());
                obj.insert("channel".into(), Value::Null);
            }
            "counter" => {
                obj.insert("channel".into(), Value::Null);
            }
            "data-parallel" if matches!(channel.as_str(), "shm" | "heap" | "none") => {
                obj.insert("channel".into(), Value::Null);
            }
            _ => {}
        }
    })?;
    v["schema_version"] = 2.into();
    Ok(())
}

/// Version 2 → 3: `run.interrupted` (a note, present only when a signal
/// stopped the run) became `run.outcome`. A version-2 run without the note
/// is taken as complete: version 2 wrote no results for a failed case's
/// run that it did not also keep as finished records.
pub fn v2_to_v3(v: &mut Value) -> Result<(), String> {
    let records = v
        .get("records")
        .and_then(|r| r.as_array())
        .map(|r| r.len())
        .ok_or("has no records list")?;
    let run = v
        .get_mut("run")
        .and_then(|r| r.as_object_mut())
        .ok_or("has no run object")?;
    let note = run.remove("interrupted");
    let mut outcome = serde_json::json!({
        "status": "complete",
        "cases_planned": records,
        "cases_measured": records,
    });
    if let Some(Value::String(note)) = note {
        outcome["status"] = "interrupted".into();
        // "stopped by SIGINT after 3 record(s)"
        if let Some(sig) = note.split_whitespace().find(|w| w.starts_with("SIG")) {
            outcome["signal"] = sig.into();
        }
    }
    run.insert("outcome".into(), outcome);
    v["schema_version"] = 3.into();
    Ok(())
}

/// Version 3 → 4: a case was one round. Its median becomes the one round
/// median.
pub fn v3_to_v4(v: &mut Value) -> Result<(), String> {
    each_record(v, |obj| {
        let median = obj
            .get("stats")
            .and_then(|s| s.get("median"))
            .cloned()
            .unwrap_or(Value::Null);
        obj.insert("rounds".into(), 1.into());
        obj.insert("round_medians".into(), Value::Array(vec![median]));
    })?;
    v["schema_version"] = 4.into();
    Ok(())
}

/// Version 4 → 5: a warning was a string whose prefix told its kind
/// (`noisy: …`, `extra switches: …`, `only 0.50 switches …`); it becomes
/// `{kind, text}`. A prefix this version does not know is kind `other`,
/// its text whole.
pub fn v4_to_v5(v: &mut Value) -> Result<(), String> {
    each_record(v, |obj| {
        let Some(Value::Array(ws)) = obj.get_mut("warnings") else {
            return;
        };
        for w in ws.iter_mut() {
            let Value::String(s) = w else { continue };
            let (kind, text) = warning_of(s);
            *w = serde_json::json!({"kind": kind, "text": text});
        }
    })?;
    v["schema_version"] = 5.into();
    Ok(())
}

/// Version 5 → 6: a bandwidth value was the median of single writes,
/// which a channel that buffers answers before its reader has the bytes;
/// version 6 times whole streams up to the reader's acknowledgement. The
/// figures are kept and each old bandwidth record says what they were.
pub fn v5_to_v6(v: &mut Value) -> Result<(), String> {
    each_record(v, |obj| {
        if obj.get("metric").and_then(|m| m.as_str()) != Some("bandwidth") {
            return;
        }
        let w = serde_json::json!({
            "kind": "per-write",
            "text": "measured by schema 5 or older as the median of single writes: over a channel that buffers, a write can return before the reader has its bytes, so the figure reads high",
        });
        match obj.get_mut("warnings") {
            Some(Value::Array(ws)) => ws.push(w),
            _ => {
                obj.insert("warnings".into(), Value::Array(vec![w]));
            }
        }
    })?;
    v["schema_version"] = 6.into();
    Ok(())
}

/// The kind and text of a version-4 warning string.
fn warning_of(s: &str) -> (&'static str, String) {
    if s.starts_with("only ") && s.contains(" switches per ") {
        return ("missing-switches", s.to_string());
    }
    for (prefix, kind) in [
        ("contended: ", "contended"),
        ("noisy: ", "noisy"),
        ("extra switches: ", "extra-switches"),
        ("short: ", "short"),
    ] {
        if let Some(text) = s.strip_prefix(prefix) {
            return (kind, text.to_string());
        }
    }
    ("other", s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_warning_strings_become_typed() {
        let mut v = serde_json::json!({
            "schema_version": 4,
            "records": [{"warnings": [
                "noisy: round medians vary by 31 %",
                "only 0.50 switches per hop where the hand-off needs at least 1: the members did not alternate",
                "extra switches: 5.50 per hop, more than the 2",
                "something new",
            ]}, {}],
        });
        v4_to_v5(&mut v).unwrap();
        assert_eq!(v["schema_version"], 5);
        let w = &v["records"][0]["warnings"];
        assert_eq!(
            w[0],
            serde_json::json!({"kind": "noisy", "text": "round medians vary by 31 %"})
        );
        assert_eq!(w[1]["kind"], "missing-switches");
        assert_eq!(w[2]["kind"], "extra-switches");
        assert_eq!(w[2]["text"], "5.50 per hop, more than the 2");
        assert_eq!(
            w[3],
            serde_json::json!({"kind": "other", "text": "something new"})
        );
    }

    #[test]
    fn v5_bandwidth_says_it_was_timed_per_write() {
        let mut v = serde_json::json!({
            "schema_version": 5,
            "records": [
                {"metric": "bandwidth", "warnings": [{"kind": "noisy", "text": "x"}]},
                {"metric": "bandwidth"},
                {"metric": "rtt", "warnings": []},
            ],
        });
        v5_to_v6(&mut v).unwrap();
        assert_eq!(v["schema_version"], 6);
        let kinds = |i: usize| -> Vec<String> {
            v["records"][i]["warnings"]
                .as_array()
                .map(|ws| {
                    ws.iter()
                        .map(|w| w["kind"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(kinds(0), ["noisy", "per-write"]);
        assert_eq!(kinds(1), ["per-write"]);
        assert!(kinds(2).is_empty());
    }

    #[test]
    fn v2_interrupted_note_becomes_an_outcome() {
        let mut v = serde_json::json!({
            "schema_version": 2,
            "run": {"id": "x", "interrupted": "stopped by SIGTERM after 2 record(s)"},
            "records": [{}, {}],
        });
        v2_to_v3(&mut v).unwrap();
        assert_eq!(v["schema_version"], 3);
        assert!(v["run"].get("interrupted").is_none());
        assert_eq!(v["run"]["outcome"]["status"], "interrupted");
        assert_eq!(v["run"]["outcome"]["signal"], "SIGTERM");
        assert_eq!(v["run"]["outcome"]["cases_measured"], 2);
        let mut done = serde_json::json!({"schema_version": 2, "run": {}, "records": []});
        v2_to_v3(&mut done).unwrap();
        assert_eq!(done["run"]["outcome"]["status"], "complete");
    }

    #[test]
    fn v3_record_is_one_round() {
        let mut v = serde_json::json!({
            "schema_version": 3,
            "records": [{"stats": {"median": 5.0}}],
        });
        v3_to_v4(&mut v).unwrap();
        assert_eq!(v["schema_version"], 4);
        assert_eq!(v["records"][0]["rounds"], 1);
        assert_eq!(v["records"][0]["round_medians"][0], 5.0);
    }
}
