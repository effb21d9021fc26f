//! Charts: one SVG per question, one file per chart, all drawn through
//! [`crate::draw`] from result records alone. A chart function returns
//! None when the run holds no data for its question: the chart is left
//! out, not drawn empty.

mod bandwidth;
mod counter;
pub mod cpu_pairs;
mod creation;
mod dp_speedup;
mod dp_time;
mod false_sharing;
mod messaging;
mod rtt_vs_size;
mod switch_attribution;
mod switch_cost;
mod switch_vs_working_set;

pub use crate::draw::{draw, Chart};
use mpmt_schema::Results;

/// Every chart the results have data for, in page order, each with the
/// footer naming the run and the machine.
pub fn all(res: &Results) -> Vec<Chart> {
    let footer = crate::draw::footer(res);
    [
        switch_cost::switch_cost(res),
        switch_vs_working_set::switch_vs_working_set(res),
        switch_attribution::switch_attribution(res),
        rtt_vs_size::rtt_vs_size(res),
        cpu_pairs::cpu_pairs(res),
        bandwidth::bandwidth(res),
        dp_time::dp_time(res),
        dp_speedup::dp_speedup(res),
        messaging::messaging(res),
        counter::counter(res),
        false_sharing::false_sharing(res),
        creation::creation(res),
    ]
    .into_iter()
    .flatten()
    .map(|mut c| {
        c.footer = footer.clone();
        c
    })
    .collect()
}
