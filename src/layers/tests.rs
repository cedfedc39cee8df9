//! The layers on a scripted port, in paused (virtual) tokio time: what is retried, what opens the
//! breaker, what a cancelled trial leaves behind, and the stack's order.

use super::breaker::{BreakerLayer, Position};
use super::defaults::PortLayers;
use super::retry::RetryLayer;
use super::timeout::TimeoutLayer;
use super::{Direct, Layer, Refusal, Service};
use avb_core::{Classify, ErrorClass};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq, Eq)]
enum E {
    Down,
    Missing,
    Refused(Refusal),
}

impl Classify for E {
    fn class(&self) -> ErrorClass {
        match self {
            E::Down => ErrorClass::Retryable,
            E::Missing => ErrorClass::NotFound,
            E::Refused(r) => r.class(),
        }
    }
}

impl From<Refusal> for E {
    fn from(r: Refusal) -> Self {
        E::Refused(r)
    }
}

/// A port answering from a script (the last answer repeats) and counting the calls that reached it.
#[derive(Clone, Default)]
struct Port {
    calls: Arc<AtomicU32>,
}

impl Port {
    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    fn answer(&self, script: &[Result<u32, E>]) -> Result<u32, E> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) as usize;
        script[n.min(script.len() - 1)].clone()
    }
}

fn no_budget_limit() -> RetryLayer {
    RetryLayer {
        max_attempts: 3,
        min_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        ratio: 1.0,
        reserve: 100,
    }
}

#[tokio::test(start_paused = true)]
async fn timeout_answers_timed_out_and_drops_the_call() {
    let stack = TimeoutLayer::new(Duration::from_secs(1)).layer(Direct);
    let finished = Arc::new(AtomicU32::new(0));
    let f = finished.clone();
    let slow: Result<u32, E> = stack
        .call("get", || {
            let f = f.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(10)).await;
                f.fetch_add(1, Ordering::SeqCst);
                Ok(1)
            }
        })
        .await;
    assert_eq!(
        slow,
        Err(E::Refused(Refusal::TimedOut {
            operation: "get",
            after: Duration::from_secs(1)
        }))
    );
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(
        finished.load(Ordering::SeqCst),
        0,
        "the timed-out call was dropped"
    );
    let quick: Result<u32, E> = stack.call("get", || async { Ok(2) }).await;
    assert_eq!(quick, Ok(2));
}

#[tokio::test(start_paused = true)]
async fn retry_retries_retryable_errors_only_with_growing_backoff() {
    let stack = no_budget_limit().layer(Direct);
    let port = Port::default();
    let started = Instant::now();
    let answer = stack
        .call("get", || {
            let a = port.answer(&[Err(E::Down), Err(E::Down), Ok(7)]);
            async move { a }
        })
        .await;
    assert_eq!(answer, Ok(7));
    assert_eq!(port.calls(), 3);
    // Virtual time: the two backoffs (100 ms, then 200 ms, each plus up to a quarter of jitter).
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited <= Duration::from_millis(375), "{waited:?}");

    let port = Port::default();
    let missing = stack
        .call("get", || {
            let a = port.answer(&[Err(E::Missing), Ok(1)]);
            async move { a }
        })
        .await;
    assert_eq!(missing, Err(E::Missing), "a not-found is an answer");
    assert_eq!(port.calls(), 1);

    let port = Port::default();
    let down = stack
        .call("get", || {
            let a = port.answer(&[Err(E::Down)]);
            async move { a }
        })
        .await;
    assert_eq!(down, Err(E::Down), "the last failure as is");
    assert_eq!(port.calls(), 3, "max_attempts in all");
}

#[tokio::test(start_paused = true)]
async fn retry_budget_caps_retries_during_an_outage() {
    let stack = RetryLayer {
        ratio: 0.0,
        reserve: 2,
        ..no_budget_limit()
    }
    .layer(Direct);
    let port = Port::default();
    for _ in 0..5 {
        let answer = stack
            .call("get", || {
                let a = port.answer(&[Err(E::Down)]);
                async move { a }
            })
            .await;
        assert_eq!(answer, Err(E::Down));
    }
    // 5 first attempts + the reserve of 2 retries, not 5 × 3.
    assert_eq!(port.calls(), 7);
    assert_eq!(stack.budget_left(), 0);

    // With a ratio, calls earn retries back: 0.5 per call.
    let stack = RetryLayer {
        ratio: 0.5,
        reserve: 1,
        ..no_budget_limit()
    }
    .layer(Direct);
    let port = Port::default();
    for _ in 0..4 {
        let _ = stack
            .call("get", || {
                let a = port.answer(&[Err(E::Down)]);
                async move { a }
            })
            .await;
    }
    // Balance (in retries, capped at the reserve of 1) before each call's deposit of 0.5: 1, 0, 0.5, 0.
    // Call 1: 1 → retries once → 0; call 2: 0.5, none; call 3: 1, one retry; call 4: 0.5, none.
    assert_eq!(port.calls(), 4 + 2);
}

#[tokio::test(start_paused = true)]
async fn breaker_opens_after_fail_max_and_half_opens_after_reset() {
    let stack = BreakerLayer {
        fail_max: 3,
        reset_timeout: Duration::from_secs(30),
    }
    .layer(Direct);
    let port = Port::default();
    let fail = || {
        let a = port.answer(&[Err(E::Down)]);
        async move { a }
    };
    // Non-retryable answers do not count.
    for _ in 0..5 {
        let r: Result<u32, E> = stack.call("get", || async { Err(E::Missing) }).await;
        assert_eq!(r, Err(E::Missing));
    }
    assert_eq!(stack.position(), Position::Closed);
    for _ in 0..3 {
        assert_eq!(stack.call("get", fail).await, Err(E::Down));
    }
    assert_eq!(stack.position(), Position::Open);
    let refused = stack.call("get", fail).await;
    assert!(
        matches!(refused, Err(E::Refused(Refusal::CircuitOpen { retry_in, .. })) if retry_in == Duration::from_secs(30)),
        "{refused:?}"
    );
    assert_eq!(port.calls(), 3, "an open breaker does not reach the port");

    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(stack.position(), Position::HalfOpen);
    // The trial fails: open again for another reset timeout.
    assert_eq!(stack.call("get", fail).await, Err(E::Down));
    assert_eq!(port.calls(), 4);
    assert_eq!(stack.position(), Position::Open);
    tokio::time::advance(Duration::from_secs(30)).await;
    // The trial succeeds: closed.
    let ok: Result<u32, E> = stack.call("get", || async { Ok(1) }).await;
    assert_eq!(ok, Ok(1));
    assert_eq!(stack.position(), Position::Closed);
    // And the count starts again from zero.
    for _ in 0..2 {
        assert_eq!(stack.call("get", fail).await, Err(E::Down));
    }
    assert_eq!(stack.position(), Position::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_trial_lets_the_next_call_try() {
    let stack = BreakerLayer {
        fail_max: 1,
        reset_timeout: Duration::from_secs(1),
    }
    .layer(Direct);
    let down: Result<u32, E> = stack.call("get", || async { Err(E::Down) }).await;
    assert_eq!(down, Err(E::Down));
    tokio::time::advance(Duration::from_secs(1)).await;
    // A trial that never answers, dropped by the caller's own timeout.
    let hung = tokio::time::timeout(
        Duration::from_millis(10),
        stack.call::<u32, E, _, _>("get", std::future::pending),
    )
    .await;
    assert!(hung.is_err());
    // While a trial is under way others are refused; once it is dropped the next call is the trial.
    let next: Result<u32, E> = stack.call("get", || async { Ok(5) }).await;
    assert_eq!(
        next,
        Ok(5),
        "a dropped trial must not leave the breaker stuck half-open"
    );
    assert_eq!(stack.position(), Position::Closed);
}

#[tokio::test(start_paused = true)]
async fn stack_order_retry_around_breaker_around_timeout() {
    let stack = RetryLayer {
        max_attempts: 6,
        ..no_budget_limit()
    }
    .layer(
        BreakerLayer {
            fail_max: 3,
            reset_timeout: Duration::from_secs(30),
        }
        .layer(TimeoutLayer::new(Duration::from_secs(1)).layer(Direct)),
    );
    let port = Port::default();
    // A port that hangs: each attempt times out (a failure for the breaker); after 3 the breaker refuses
    // the remaining attempts without reaching the port.
    let answer: Result<u32, E> = stack
        .call("get", || {
            port.calls.fetch_add(1, Ordering::SeqCst);
            std::future::pending()
        })
        .await;
    assert!(
        matches!(answer, Err(E::Refused(Refusal::CircuitOpen { .. }))),
        "{answer:?}"
    );
    assert_eq!(port.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn half_open_lets_exactly_one_trial_through() {
    let stack = BreakerLayer {
        fail_max: 1,
        reset_timeout: Duration::from_secs(1),
    }
    .layer(Direct);
    let down: Result<u32, E> = stack.call("get", || async { Err(E::Down) }).await;
    assert_eq!(down, Err(E::Down));
    tokio::time::advance(Duration::from_secs(1)).await;
    let port = Port::default();
    // The trial: polled once, so it is admitted and under way, then left waiting.
    let mut trial = std::pin::pin!(stack.call::<u32, E, _, _>("get", || {
        port.calls.fetch_add(1, Ordering::SeqCst);
        std::future::pending()
    }));
    assert!(futures::poll!(trial.as_mut()).is_pending());
    assert_eq!(port.calls(), 1);
    for _ in 0..3 {
        let refused: Result<u32, E> = stack
            .call("get", || {
                port.calls.fetch_add(1, Ordering::SeqCst);
                async { Ok(1) }
            })
            .await;
        assert_eq!(
            refused,
            Err(E::Refused(Refusal::CircuitOpen {
                operation: "get",
                retry_in: Duration::ZERO
            }))
        );
    }
    assert_eq!(port.calls(), 1, "only the trial reached the port");
    assert_eq!(stack.position(), Position::HalfOpen);
}

#[tokio::test(start_paused = true)]
async fn timeout_counts_from_the_first_wait_and_lets_a_quick_answer_through() {
    let stack = TimeoutLayer::new(Duration::from_secs(1)).layer(Direct);
    // Answers at once: no timer involved, the answer is passed on.
    let quick: Result<u32, E> = stack.call("get", || async { Err(E::Missing) }).await;
    assert_eq!(quick, Err(E::Missing));
    // Waits, then answers within the timeout: passed on.
    let in_time: Result<u32, E> = stack
        .call("get", || async {
            tokio::time::sleep(Duration::from_millis(999)).await;
            Ok(3)
        })
        .await;
    assert_eq!(in_time, Ok(3));
    // Waits past it: refused, at the timeout.
    let started = Instant::now();
    let late: Result<u32, E> = stack
        .call("get", || async {
            tokio::time::sleep(Duration::from_millis(1001)).await;
            Ok(4)
        })
        .await;
    assert!(
        matches!(late, Err(E::Refused(Refusal::TimedOut { .. }))),
        "{late:?}"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(1));
}

/// The fused default stack ([`PortLayers::stack`]) behaves as the three layers nested.
#[tokio::test(start_paused = true)]
async fn default_stack_keeps_the_order_retry_breaker_timeout() {
    let layers = PortLayers {
        retry: Some(RetryLayer {
            max_attempts: 6,
            ..no_budget_limit()
        }),
        breaker: Some(BreakerLayer {
            fail_max: 3,
            reset_timeout: Duration::from_secs(30),
        }),
        timeout: Some(Duration::from_secs(1)),
    };
    let stack = layers.stack(Direct);
    assert!(stack.may_retry());
    let port = Port::default();
    let answer: Result<u32, E> = stack
        .call("get", || {
            port.calls.fetch_add(1, Ordering::SeqCst);
            std::future::pending()
        })
        .await;
    assert!(
        matches!(answer, Err(E::Refused(Refusal::CircuitOpen { .. }))),
        "{answer:?}"
    );
    assert_eq!(port.calls(), 3, "3 timed-out attempts opened the breaker");
    assert_eq!(stack.position(), Some(Position::Open));
    // Not-retryable answers pass at once, uncounted, and are not retried (the breaker, once half-open,
    // lets the trial through: a `Missing` is an answer, so it closes it).
    tokio::time::advance(Duration::from_secs(30)).await;
    let missing: Result<u32, E> = stack
        .call("get", || {
            port.calls.fetch_add(1, Ordering::SeqCst);
            async { Err(E::Missing) }
        })
        .await;
    assert_eq!(missing, Err(E::Missing));
    assert_eq!(port.calls(), 4);
    assert_eq!(stack.position(), Some(Position::Closed));
    // A retryable failure then a success: retried after the backoff, answered.
    let flaky = Port::default();
    let started = Instant::now();
    let ok: Result<u32, E> = stack
        .call("get", || {
            let a = flaky.answer(&[Err(E::Down), Ok(9)]);
            async move { a }
        })
        .await;
    assert_eq!(ok, Ok(9));
    assert_eq!(flaky.calls(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "waited the backoff"
    );
    // A dropped trial through the stack gives the trial back.
    let none = PortLayers {
        retry: None,
        ..layers
    }
    .stack(Direct);
    for _ in 0..3 {
        let down: Result<u32, E> = none.call("get", || async { Err(E::Down) }).await;
        assert_eq!(down, Err(E::Down));
    }
    assert!(!none.may_retry());
    tokio::time::advance(Duration::from_secs(30)).await;
    let hung = tokio::time::timeout(
        Duration::from_millis(10),
        none.call::<u32, E, _, _>("get", std::future::pending),
    )
    .await;
    assert!(hung.is_err());
    let next: Result<u32, E> = none.call("get", || async { Ok(5) }).await;
    assert_eq!(next, Ok(5));
    assert_eq!(none.position(), Some(Position::Closed));
}

/// Callers on several threads against a breaker that every call fails (so every admitted call is a
/// trial: the breaker never closes, and with `reset_timeout` zero it half-opens again at once): never
/// two of them inside the port at the same time — through the breaker layer and through the fused stack.
#[test]
fn concurrent_callers_never_run_two_trials_at_once() {
    let breaker = BreakerLayer {
        fail_max: 1,
        reset_timeout: Duration::ZERO,
    };
    let fused = PortLayers {
        breaker: Some(breaker),
        ..PortLayers::NONE
    };
    one_trial_at_a_time(breaker.layer(Direct));
    one_trial_at_a_time(fused.stack(Direct));
}

fn one_trial_at_a_time<S: Service + 'static>(stack: S) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    rt.block_on(async {
        let stack = Arc::new(stack);
        // Opened by a first failure (before any other caller starts: a call admitted while it was
        // closed is not a trial).
        let down: Result<u32, E> = stack.call("get", || async { Err(E::Down) }).await;
        assert_eq!(down, Err(E::Down));
        let inside = Arc::new(AtomicU32::new(0));
        let most = Arc::new(AtomicU32::new(0));
        let trials = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (stack, inside, most, trials) =
                (stack.clone(), inside.clone(), most.clone(), trials.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..2_000 {
                    let answer: Result<u32, E> = stack
                        .call("get", || {
                            let (inside, most, trials) =
                                (inside.clone(), most.clone(), trials.clone());
                            async move {
                                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                                most.fetch_max(now, Ordering::SeqCst);
                                trials.fetch_add(1, Ordering::SeqCst);
                                tokio::task::yield_now().await;
                                inside.fetch_sub(1, Ordering::SeqCst);
                                Err(E::Down)
                            }
                        })
                        .await;
                    assert!(answer.is_err());
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert!(trials.load(Ordering::SeqCst) > 0, "some trials ran");
        assert_eq!(most.load(Ordering::SeqCst), 1, "never two trials at once");
    });
}

/// A call through `call_now` and, when it does not answer, `call` with the handed failure — as the
/// instrumented ports run it. `script` answers each attempt at once.
async fn via_now<S: Service>(stack: &S, port: &Port, script: &[Result<u32, E>]) -> Result<u32, E> {
    let handed = match stack.call_now("get", || Some(port.answer(script))) {
        super::Now::Done(answer) => return answer,
        super::Now::Later(handed) => handed,
    };
    let mut handed = handed;
    stack
        .call("get", || {
            let a = match handed.take() {
                Some(failure) => Err(failure),
                None => port.answer(script),
            };
            async move { a }
        })
        .await
}

/// The same call through `call` (each attempt a ready future).
async fn via_call<S: Service>(stack: &S, port: &Port, script: &[Result<u32, E>]) -> Result<u32, E> {
    stack
        .call("get", || {
            let a = port.answer(script);
            async move { a }
        })
        .await
}

/// The fast path (`call_now`, taken by the instrumented ports for backends that answer at once) and
/// the futures' path give the same answers, make the same attempts, wait the same backoff, move the
/// breaker the same way and count the same metrics — over scripts that succeed, refuse, recover after
/// a retry, exhaust the retries and open the breaker, and while it is open and half-open.
#[tokio::test(start_paused = true)]
async fn call_now_and_call_agree_on_every_answer_and_account_for_it_alike() {
    use super::metered::MeteredLayer;
    let scripts: [&[Result<u32, E>]; 7] = [
        &[Ok(1)],
        &[Err(E::Missing)],
        &[Err(E::Down), Ok(2)],
        &[Err(E::Down), Err(E::Down), Ok(3)],
        &[Err(E::Down)], // every attempt fails: retries exhausted, the breaker opens
        &[Ok(4)],        // refused while open
        &[Ok(5)],        // after the reset timeout: the trial
    ];
    let run = |fast: bool| async move {
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let stack = MeteredLayer::new(metrics.clone(), "event_bus", "memory").layer(
            PortLayers {
                retry: Some(no_budget_limit()),
                breaker: Some(BreakerLayer {
                    fail_max: 3,
                    reset_timeout: Duration::from_secs(30),
                }),
                timeout: Some(Duration::from_secs(1)),
            }
            .stack(Direct),
        );
        let mut seen = Vec::new();
        for (i, script) in scripts.iter().enumerate() {
            if i == 6 {
                tokio::time::advance(Duration::from_secs(30)).await;
            }
            let port = Port::default();
            let started = Instant::now();
            let answer = if fast {
                via_now(&stack, &port, script).await
            } else {
                via_call(&stack, &port, script).await
            };
            // The backoff is jittered and the breaker's `retry_in` follows it: compared as "waited".
            let answer = match answer {
                Err(E::Refused(Refusal::CircuitOpen { operation, .. })) => {
                    Err(E::Refused(Refusal::CircuitOpen {
                        operation,
                        retry_in: Duration::ZERO,
                    }))
                }
                other => other,
            };
            seen.push((answer, port.calls(), !started.elapsed().is_zero()));
        }
        // Label sets are encoded in hash order: sorted to compare.
        let mut counts: Vec<String> = metrics
            .encode()
            .lines()
            .filter(|l| l.starts_with("avb_event_bus_operations_total"))
            .map(str::to_owned)
            .collect();
        counts.sort();
        (seen, counts)
    };
    let (fast, fast_counts) = run(true).await;
    let (slow, slow_counts) = run(false).await;
    assert_eq!(fast, slow);
    assert_eq!(fast_counts, slow_counts);
    // And what they agree on is what the layers promise.
    assert_eq!(fast[0].0, Ok(1));
    assert_eq!(fast[1], (Err(E::Missing), 1, false));
    assert_eq!(fast[2], (Ok(2), 2, true), "retried after the backoff");
    assert_eq!(fast[3], (Ok(3), 3, true));
    assert_eq!((fast[4].0.clone(), fast[4].1), (Err(E::Down), 3));
    assert!(matches!(
        fast[5].0,
        Err(E::Refused(Refusal::CircuitOpen { .. }))
    ));
    assert_eq!(fast[5].1, 0, "refused without reaching the port");
    assert_eq!((fast[6].0.clone(), fast[6].1), (Ok(5), 1));
    assert!(!fast_counts.is_empty());
}
