//! The interleaved-rounds report shared by the EventBus benches (memory/Redis and Kafka).

use std::time::Duration;

/// Prints the median and p10–p90 of the per-round throughput ratios avb / raw (`rounds`: raw, avb times
/// for `per_round` messages each), and the median rates.
pub fn ratio_report(name: &str, per_round: usize, rounds: &[(Duration, Duration)], skipped: usize) {
    if rounds.is_empty() {
        println!("{name}: no round completed ({skipped} skipped)");
        return;
    }
    let per_s = |d: &Duration| per_round as f64 / d.as_secs_f64();
    let mut ratios: Vec<f64> = rounds
        .iter()
        .map(|(raw, avb)| raw.as_secs_f64() / avb.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
    let mut raw: Vec<f64> = rounds.iter().map(|(r, _)| per_s(r)).collect();
    let mut avb: Vec<f64> = rounds.iter().map(|(_, a)| per_s(a)).collect();
    raw.sort_by(f64::total_cmp);
    avb.sort_by(f64::total_cmp);
    println!(
        "{name}: interleaved throughput ratio avb/raw = {:.2} (median of {} rounds of {per_round} messages; p10 {:.2}, p90 {:.2}; {skipped} skipped); median raw {:.1} K msg/s, avb {:.1} K msg/s",
        at(0.5),
        ratios.len(),
        at(0.1),
        at(0.9),
        raw[raw.len() / 2] / 1000.0,
        avb[avb.len() / 2] / 1000.0,
    );
}
