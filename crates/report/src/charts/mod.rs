//! Charts: one SVG per question, one file per chart, all drawn through
//! [`crate::draw`] from result records alone. A chart function returns
//! None when the run holds no data for its question: the chart is left
//! out, not drawn empty.

pub use crate::draw::{draw, Chart};
use mpmt_schema::Results;

/// The charts, in page order, one line each: the module (its file) and
/// the function that draws it from the results (None: no data for it).
macro_rules! charts {
    ($( $(#[$attr:meta])* $module:ident::$draw:ident ),+ $(,)?) => {
        $( $(#[$attr])* mod $module; )+

        /// Every chart function, in page order.
        static CHARTS: &[fn(&Results) -> Option<Chart>] = &[$( $module::$draw ),+];
    };
}

charts! {
    switch_cost::switch_cost,
    switch_vs_working_set::switch_vs_working_set,
    switch_attribution::switch_attribution,
    rtt_vs_size::rtt_vs_size,
    cpu_pairs::cpu_pairs,
    bandwidth::bandwidth,
    dp_time::dp_time,
    dp_speedup::dp_speedup,
    messaging::messaging,
    counter::counter,
    false_sharing::false_sharing,
    creation::creation,
    vm_ops::vm_ops,
    memory::memory,
    cow::cow,
    crash::crash,
}

/// Every chart the results have data for, in page order, each with the
/// footer naming the run and the machine.
pub fn all(res: &Results) -> Vec<Chart> {
    let footer = crate::draw::footer(res);
    CHARTS
        .iter()
        .filter_map(|draw| draw(res))
        .map(|mut c| {
            c.footer = footer.clone();
            c
        })
        .collect()
}
