//! The kit's own tests: each rule of the kit can fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A harness with a set of capabilities and counters the cases touch.
#[derive(Default)]
struct H {
    caps: Vec<&'static str>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    want: usize,
    ran_after_check: AtomicUsize,
}

impl Capable for H {
    fn has(&self, capability: &'static str) -> bool {
        self.caps.contains(&capability)
    }
}

fn runner() -> Runner {
    Runner::new().silent()
}

async fn passes(_: &H, c: &mut Checks) -> CaseResult {
    c.check("truth", true, "holds");
    Ok(())
}

async fn two_checks_one_fails(h: &H, c: &mut Checks) -> CaseResult {
    c.check("first", 1 + 1 == 3, "arithmetic");
    h.ran_after_check.fetch_add(1, Ordering::SeqCst);
    c.check_eq("second", 2, 3, "the count");
    Ok(())
}

async fn one_check_fails(h: &H, c: &mut Checks) -> CaseResult {
    c.check("first", false, "server says no");
    h.ran_after_check.fetch_add(1, Ordering::SeqCst);
    c.check("second", true, "fine");
    Ok(())
}

async fn hangs(_: &H, c: &mut Checks) -> CaseResult {
    c.check("before", true, "fine");
    std::future::pending::<()>().await;
    Ok(())
}

async fn panics(_: &H, _: &mut Checks) -> CaseResult {
    panic!("boom inside the case")
}

async fn skips_at_run_time(_: &H, c: &mut Checks) -> CaseResult {
    Err(c.skip("a harness that can plant symlinks"))
}

async fn requires_then_more(h: &H, c: &mut Checks) -> CaseResult {
    c.require("gate", false, "cannot go on")?;
    h.ran_after_check.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

/// Decrements the in-flight count when the case ends, also when the kit drops it at its timeout.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn counts_in_flight(h: &H, c: &mut Checks) -> CaseResult {
    let now = h.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let _guard = InFlight(&h.in_flight);
    h.max_in_flight.fetch_max(now, Ordering::SeqCst);
    // Finishes only once `want` cases were in flight together.
    while h.max_in_flight.load(Ordering::SeqCst) < h.want {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    c.check("ran", true, "ran");
    Ok(())
}

#[tokio::test]
async fn a_failing_check_is_a_failure_and_the_case_goes_on() {
    let h = H::default();
    let cases = [Case::new("two", |h, c| {
        Box::pin(two_checks_one_fails(h, c))
    })];
    let report = runner().run(&h, &cases).await;
    let case = report.case("two").unwrap();
    assert_eq!(case.outcome, Outcome::Failed);
    let labels: Vec<_> = case.failures.iter().map(|f| f.label).collect();
    assert_eq!(labels, ["first", "second"]);
    assert_eq!(h.ran_after_check.load(Ordering::SeqCst), 1);
    assert!(case.failures[1].message.contains("got 2, expected 3"));
    let diff = report.diff(&Expect::all()).unwrap_err();
    assert!(
        diff.iter().any(|l| l.starts_with("missing:    PASSED two")),
        "{diff:?}"
    );
    assert!(
        diff.iter()
            .any(|l| l.starts_with("unexpected: FAILED two: [first]")),
        "{diff:?}"
    );
}

#[tokio::test]
async fn require_stops_the_case() {
    let h = H::default();
    let cases = [Case::new("gated", |h, c| {
        Box::pin(requires_then_more(h, c))
    })];
    let report = runner().run(&h, &cases).await;
    let case = report.case("gated").unwrap();
    assert_eq!(case.outcome, Outcome::Failed);
    assert!(case.failures[0].stopped);
    assert_eq!(h.ran_after_check.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_gap_waives_only_its_check_and_the_case_goes_on() {
    let h = H::default();
    let cases = [Case::new("two", |h, c| {
        Box::pin(two_checks_one_fails(h, c))
    })];
    let gap = Gap::deterministic("two", "first", "server 1.0", "known bug");
    let report = runner().gap(gap).run(&h, &cases).await;
    let case = report.case("two").unwrap();
    assert_eq!(
        case.outcome,
        Outcome::Failed,
        "the second check still fails"
    );
    assert_eq!(case.gaps_held.len(), 1);
    assert_eq!(case.gaps_held[0].1.label, "first");
    assert_eq!(case.failures.len(), 1);
    assert_eq!(case.failures[0].label, "second");
    assert_eq!(h.ran_after_check.load(Ordering::SeqCst), 1);

    // Only the one failing check: the gap holds, the case passes, and the expectation must name the gap.
    let cases = [Case::new("one", |h, c| Box::pin(one_check_fails(h, c)))];
    let gap = Gap::deterministic("one", "first", "server 1.0", "known bug");
    let report = runner().gap(gap).run(&h, &cases).await;
    assert_eq!(report.case("one").unwrap().outcome, Outcome::Passed);
    report.assert_exact(&Expect::all().gap("one", "first"));
    let diff = report.diff(&Expect::all()).unwrap_err();
    assert!(
        diff[0].starts_with("unexpected: GAP one: [first]"),
        "{diff:?}"
    );
}

#[tokio::test]
async fn a_gap_predicate_waives_only_the_matching_message() {
    let h = H::default();
    let cases = [Case::new("one", |h, c| Box::pin(one_check_fails(h, c)))];
    let gap = Gap::deterministic("one", "first", "server", "a different failure")
        .when(|m| m.contains("timeout"));
    let report = runner().gap(gap).run(&h, &cases).await;
    let case = report.case("one").unwrap();
    assert_eq!(case.outcome, Outcome::Failed);
    assert!(case.gaps_held.is_empty());
    let gap = gap.when(|m| m.contains("says no"));
    let report = runner().gap(gap).run(&h, &cases).await;
    assert_eq!(report.case("one").unwrap().outcome, Outcome::Passed);
}

#[tokio::test]
async fn a_stale_deterministic_gap_fails_exactness_an_intermittent_one_does_not() {
    let h = H::default();
    let cases = [Case::new("ok", |h, c| Box::pin(passes(h, c)))];
    let stale = Gap::deterministic("ok", "truth", "server 1.0", "fixed upstream?");
    let report = runner().gap(stale).run(&h, &cases).await;
    let case = report.case("ok").unwrap();
    assert_eq!(case.outcome, Outcome::Passed);
    assert_eq!(case.stale_gaps().count(), 1);
    assert!(
        report.to_string().contains("STALE GAP ok: [truth]"),
        "{report}"
    );
    let diff = report.diff(&Expect::all()).unwrap_err();
    assert!(
        diff.iter().any(|l| l.contains("remove the declaration")),
        "{diff:?}"
    );
    let diff = report.diff(&Expect::all().gap("ok", "truth")).unwrap_err();
    assert!(
        diff.iter()
            .any(|l| l.starts_with("missing:    GAP ok [truth]")),
        "{diff:?}"
    );

    let race = Gap::intermittent("ok", "truth", "server 1.0", "a race");
    let report = runner().gap(race).run(&h, &cases).await;
    assert!(
        report.to_string().contains("GAP NOT SEEN ok: [truth]"),
        "{report}"
    );
    report.assert_exact(&Expect::all());
}

#[tokio::test]
async fn a_gap_naming_an_unknown_case_fails_exactness() {
    let h = H::default();
    let cases = [Case::new("ok", |h, c| Box::pin(passes(h, c)))];
    let report = runner()
        .gap(Gap::deterministic("okk", "truth", "server", "typo"))
        .run(&h, &cases)
        .await;
    assert_eq!(report.unknown_gaps.len(), 1);
    assert!(report.diff(&Expect::all()).is_err());
}

#[tokio::test(start_paused = true)]
async fn a_hanging_case_times_out_with_its_name() {
    let h = H::default();
    let cases = [
        Case::new("hangs", |h, c| Box::pin(hangs(h, c))).timeout(Duration::from_secs(7)),
        Case::new("ok", |h, c| Box::pin(passes(h, c))),
    ];
    let report = runner().run(&h, &cases).await;
    let case = report.case("hangs").unwrap();
    assert_eq!(case.outcome, Outcome::Failed);
    assert_eq!(case.failures.len(), 1);
    assert_eq!(case.failures[0].label, TIMEOUT);
    assert_eq!(case.failures[0].message, "hangs did not finish within 7s");
    assert_eq!(report.passed(), ["ok"]);
}

#[tokio::test]
async fn a_panicking_case_is_a_failure_not_a_stopped_run() {
    let h = H::default();
    let cases = [
        Case::new("panics", |h, c| Box::pin(panics(h, c))),
        Case::new("ok", |h, c| Box::pin(passes(h, c))),
    ];
    let report = runner().run(&h, &cases).await;
    let case = report.case("panics").unwrap();
    assert_eq!(case.failures[0].label, PANIC);
    assert_eq!(case.failures[0].message, "boom inside the case");
    assert_eq!(report.passed(), ["ok"]);
}

#[tokio::test]
async fn a_skip_names_the_capability_and_is_exact() {
    let h = H {
        caps: vec!["has_this"],
        ..H::default()
    };
    let cases = [
        Case::new("needs_both", |h, c| Box::pin(passes(h, c)))
            .requires(&["has_this", "lacks_that"]),
        Case::new("needs_one", |h, c| Box::pin(passes(h, c))).requires(&["has_this"]),
        Case::new("run_time", |h, c| Box::pin(skips_at_run_time(h, c))),
    ];
    let report = runner().run(&h, &cases).await;
    assert_eq!(
        report.case("needs_both").unwrap().outcome,
        Outcome::Skipped(Skip::Lacks("lacks_that"))
    );
    assert!(
        report
            .to_string()
            .contains("SKIPPED needs_both: lacks lacks_that"),
        "{report}"
    );
    assert_eq!(report.passed(), ["needs_one"]);
    report.assert_exact(
        &Expect::all()
            .skipped("needs_both", "lacks_that")
            .skipped("run_time", "a harness that can plant symlinks"),
    );
    // The wrong capability, or a skip not expected, is a difference.
    assert!(
        report
            .diff(
                &Expect::all()
                    .skipped("needs_both", "has_this")
                    .skipped("run_time", "a harness that can plant symlinks")
            )
            .is_err()
    );
    assert!(
        report
            .diff(&Expect::all().skipped("needs_both", "lacks_that"))
            .is_err()
    );
    assert!(
        report
            .diff(
                &Expect::all()
                    .skipped("needs_both", "lacks_that")
                    .skipped("run_time", "a harness that can plant symlinks")
                    .skipped("needs_one", "x")
            )
            .is_err()
    );
}

#[tokio::test]
async fn the_concurrency_bound_holds_and_is_used() {
    let h = H {
        want: 3,
        ..H::default()
    };
    let cases: Vec<Case<H>> = ["a", "b", "c", "d", "e", "f"]
        .into_iter()
        .map(|n| {
            Case::new(n, |h, c| Box::pin(counts_in_flight(h, c))).timeout(Duration::from_secs(60))
        })
        .collect();
    let report = runner().concurrency(3).run(&h, &cases).await;
    // Every case passed: each waited until 3 were in flight together; never more than 3.
    report.assert_exact(&Expect::all());
    assert_eq!(h.max_in_flight.load(Ordering::SeqCst), 3);
    assert_eq!(
        report.passed(),
        ["a", "b", "c", "d", "e", "f"],
        "reported in table order"
    );
}

#[tokio::test(start_paused = true)]
async fn with_concurrency_one_two_cases_never_run_together() {
    // The converse: the bound is real, a second case never runs beside the first (so both time out).
    let h = H {
        want: 2,
        ..H::default()
    };
    let cases: Vec<Case<H>> = ["a", "b"]
        .into_iter()
        .map(|n| {
            Case::new(n, |h, c| Box::pin(counts_in_flight(h, c))).timeout(Duration::from_secs(5))
        })
        .collect();
    let report = runner().concurrency(1).run(&h, &cases).await;
    assert_eq!(report.failed(), ["a", "b"]);
    assert_eq!(h.max_in_flight.load(Ordering::SeqCst), 1);
}

#[test]
fn an_expectation_naming_an_unknown_case_is_a_difference() {
    let report = Report::default();
    let diff = report
        .diff(&Expect::all().skipped("nope", "x"))
        .unwrap_err();
    assert!(diff[0].contains("unknown case nope"), "{diff:?}");
}
