//! Reading older results: each step rewrites the JSON of one version into
//! the next, so a version-1 file written before the kinds were typed still
//! opens in `mpmt report` and `mpmt compare`.

use serde_json::Value;

/// Version 1 → 2: the creation workload was called `spawn` and kept its
/// method in `backend`; `channel` held `shm`, `heap` or `none` where no
/// channel carried the data.
pub fn v1_to_v2(v: &mut Value) -> Result<(), String> {
    let records = v
        .get_mut("records")
        .and_then(|r| r.as_array_mut())
        .ok_or("has no records list")?;
    for r in records.iter_mut() {
        let Some(obj) = r.as_object_mut() else {
            return Err("has a record that is not an object".into());
        };
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
    }
    v["schema_version"] = 2.into();
    Ok(())
}
