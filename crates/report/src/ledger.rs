//! The ledger the page and the terminal open with: every measured claim's
//! one number in the column of the side that pays more here (processes,
//! threads, or the same), ordered by how much more, and a few sentences
//! for someone choosing between threads and processes on this machine,
//! each built from the claims' own numbers.

use crate::claims::{Claim, Says, Verdict, CLAIMS};

/// A column of the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Processes,
    Threads,
    Same,
}

impl Column {
    pub const ALL: [Column; 3] = [Column::Processes, Column::Threads, Column::Same];

    pub fn heading(self) -> &'static str {
        match self {
            Column::Processes => "where processes cost more here",
            Column::Threads => "where threads cost more here",
            Column::Same => "the same here",
        }
    }
}

/// Below this factor a claim that one side pays, refuted, is "the same";
/// past its inverse the other side pays.
const OTHER_WAY: f64 = 1.25;

/// One claim's place in the ledger.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub key: &'static str,
    pub claim: &'a Claim,
    pub column: Column,
    /// The dearer side over the cheaper, at least 1 (None: no ratio).
    pub factor: Option<f64>,
}

/// The claims' places, each column ordered by its factor (largest
/// first), and the claims not measured. `claims` are [`crate::claims::all`]'s,
/// in [`CLAIMS`] order.
pub fn entries(claims: &[Claim]) -> (Vec<Entry<'_>>, Vec<&Claim>) {
    let mut out = Vec::new();
    let mut unmeasured = Vec::new();
    for (def, c) in CLAIMS.iter().zip(claims) {
        if c.verdict == Verdict::NotMeasured {
            unmeasured.push(c);
            continue;
        }
        let f = c.factor.filter(|f| f.is_finite() && *f > 0.0);
        let holds = matches!(c.verdict, Verdict::Supported | Verdict::Mixed);
        // Partly true, with the one number within 10 % of even: the same.
        let even = c.verdict == Verdict::Mixed && f.is_some_and(|x| (1.0 / 1.1..=1.1).contains(&x));
        let (column, factor) = match (def.says, holds) {
            _ if even => (Column::Same, f),
            (Says::ProcessesPay, true) => (Column::Processes, f),
            (Says::ThreadsPay, true) => (Column::Threads, f),
            // Refuted: the same, unless the number says the other side
            // pays clearly.
            (Says::ProcessesPay, false) => match f {
                Some(x) if x < 1.0 / OTHER_WAY => (Column::Threads, Some(1.0 / x)),
                _ => (Column::Same, f),
            },
            (Says::ThreadsPay, false) => match f {
                Some(x) if x < 1.0 / OTHER_WAY => (Column::Processes, Some(1.0 / x)),
                _ => (Column::Same, f),
            },
            (Says::Alike, _) => (Column::Same, f),
        };
        out.push(Entry {
            key: def.key,
            claim: c,
            column,
            factor,
        });
    }
    out.sort_by(|a, b| {
        let k = |e: &Entry| e.factor.unwrap_or(0.0);
        k(b).total_cmp(&k(a))
    });
    (out, unmeasured)
}

/// The entries of one column, in order.
pub fn column<'a>(all: &'a [Entry<'a>], col: Column) -> Vec<&'a Entry<'a>> {
    all.iter().filter(|e| e.column == col).collect()
}

/// "3.4×", or "" without a ratio.
pub fn factor_text(e: &Entry) -> String {
    match e.factor {
        Some(f) if f >= 10.0 => format!("{f:.0}×"),
        Some(f) => format!("{f:.2}×"),
        None => String::new(),
    }
}

/// What someone choosing between threads and processes here can act on:
/// a sentence per kind of job, each only where the claims it reads were
/// measured, each naming its numbers.
pub fn advice(all: &[Entry]) -> Vec<String> {
    let get = |key: &str| all.iter().find(|e| e.key == key);
    let ratio = |e: &Entry| e.claim.factor.unwrap_or(f64::NAN);
    let mut out = Vec::new();
    if let (Some(m), Some(c)) = (get("memory"), get("creation")) {
        let mut s = format!(
            "A server with a worker per client: each process worker costs more memory than a thread here ({}; {:.2}× in all), and {:.1}× its time to create ({}).",
            m.claim.headline,
            ratio(m),
            ratio(c),
            c.claim.headline
        );
        if let Some(w) = get("cow").filter(|w| w.claim.factor.is_some()) {
            s += &format!(
                " Forked workers share their parent's pages until they write: each page written then costs {:.0}× the same write in a thread ({}).",
                ratio(w),
                w.claim.headline
            );
        }
        out.push(s);
    }
    if let Some(b) = get("blast-radius").filter(|b| b.claim.factor.is_some()) {
        out.push(match b.column {
            Column::Threads => format!(
                "A server where one request can crash its worker: a thread's crash here cost {:.1}× the verified work a process's did, its siblings' with its own ({}).",
                ratio(b),
                b.claim.headline
            ),
            _ => format!(
                "A server where one request can crash its worker: a thread's crash cost no more work than a process's here ({}).",
                b.claim.headline
            ),
        });
    }
    if let (Some(g), Some(s)) = (get("messaging"), get("switch-cost")) {
        let how = match g.column {
            Column::Same => format!(
                "threads and processes move messages alike here ({:.2}×: {})",
                ratio(g),
                g.claim.headline
            ),
            Column::Processes => format!(
                "processes take {:.2}× as long as threads ({})",
                ratio(g),
                g.claim.headline
            ),
            Column::Threads => format!(
                "threads take {:.2}× as long as processes ({})",
                1.0 / ratio(g),
                g.claim.headline
            ),
        };
        out.push(format!(
            "A pipeline of stages passing messages: {how}; one switch between two stages on one CPU costs a process {:.2}× a thread ({}).",
            ratio(s),
            s.claim.headline
        ));
    }
    if let Some(d) = get("sharing").filter(|d| d.claim.factor.is_some()) {
        let then = match ratio(d) >= 2.0 {
            true => "so give processes the data in a shared mapping rather than in messages",
            false => "so sending the data costs little here",
        };
        out.push(format!(
            "A data-parallel job: processes that get their slice over a channel take {:.1}× the time threads take in place ({}), {then}.",
            ratio(d),
            d.claim.headline
        ));
    }
    if let Some(a) = get("address-space").filter(|a| a.claim.factor.is_some()) {
        out.push(match a.column {
            Column::Threads => format!(
                "Threads cost more where work maps, unmaps or protects memory while a sibling runs on another CPU: up to {:.1}× a process per operation here ({}).",
                ratio(a),
                a.claim.headline
            ),
            _ => format!(
                "Sharing one address space cost threads no more than processes for memory operations here ({}).",
                a.claim.headline
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(verdict: Verdict, factor: Option<f64>) -> Claim {
        Claim {
            statement: "s",
            verdict,
            headline: "h".into(),
            evidence: "e".into(),
            factor,
        }
    }

    #[test]
    fn each_claim_lands_where_its_numbers_put_it() {
        use Verdict::*;
        // In CLAIMS order: switch, sharing, counter, creation, cache,
        // false-sharing, messaging, address-space, memory, cow, blast-radius.
        let claims = vec![
            claim(Mixed, Some(1.12)),
            claim(Supported, Some(27.0)),
            claim(Supported, None),
            claim(Supported, Some(3.7)),
            claim(Refuted, Some(1.01)),
            claim(Supported, None),
            claim(Refuted, Some(0.5)),
            claim(Mixed, Some(4.9)),
            claim(NotMeasured, None),
            claim(Supported, Some(120.0)),
            claim(Mixed, Some(3.5)),
        ];
        assert_eq!(claims.len(), CLAIMS.len());
        let (all, unmeasured) = entries(&claims);
        assert_eq!(unmeasured.len(), 1);
        let keys = |c| column(&all, c).iter().map(|e| e.key).collect::<Vec<_>>();
        assert_eq!(
            keys(Column::Processes),
            ["cow", "sharing", "creation", "switch-cost"]
        );
        // Messaging refuted with processes at half the threads' time:
        // threads pay, 2×.
        assert_eq!(
            keys(Column::Threads),
            ["address-space", "blast-radius", "messaging"]
        );
        assert_eq!(column(&all, Column::Threads)[2].factor, Some(2.0));
        assert_eq!(
            keys(Column::Same),
            ["cache-loss", "lost-updates", "false-sharing"]
        );
    }
}
