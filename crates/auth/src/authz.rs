//! Authorization: which roles allow which [`Action`], with every decision counted as
//! `auth_decisions_total{action,result}` (`result` = `allow` | `deny`).
//!
//! Counting goes through the [`metrics`] facade (a service installs its recorder, e.g. a Prometheus
//! exporter, and the counter appears there) and, for tests and `/health`-style introspection, into the
//! [`Authorizer`]'s own counters ([`Authorizer::decisions`]).
//!
//! | role | read | write | run | manage-projects | manage-members | administer |
//! |---|---|---|---|---|---|---|
//! | `viewer` | ✓ | | | | | |
//! | `project-member` | ✓ | ✓ | | | | |
//! | `analyst` | ✓ | ✓ | ✓ | | | |
//! | `workspace-admin` | ✓ | ✓ | ✓ | ✓ | ✓ | |
//! | `admin` | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ |
//! | `owner` | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ |

use crate::{Error, Principal, Result};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// The counter's name.
pub const METRIC: &str = "auth_decisions_total";

/// Something a principal may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// Read data and metadata.
    Read,
    /// Create or change data.
    Write,
    /// Run analyses, pipelines, LLM calls.
    Run,
    /// Create, change and delete projects.
    ManageProjects,
    /// Add and remove members, change their roles.
    ManageMembers,
    /// Workspace-wide administration (settings, deletion).
    Administer,
}

const ACTIONS: [Action; 6] = [
    Action::Read,
    Action::Write,
    Action::Run,
    Action::ManageProjects,
    Action::ManageMembers,
    Action::Administer,
];

impl Action {
    /// The `action` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Run => "run",
            Action::ManageProjects => "manage-projects",
            Action::ManageMembers => "manage-members",
            Action::Administer => "administer",
        }
    }

    /// The roles that allow this action.
    pub fn allowed_roles(self) -> &'static [&'static str] {
        match self {
            Action::Read => &[
                "viewer",
                "project-member",
                "analyst",
                "workspace-admin",
                "admin",
                "owner",
            ],
            Action::Write => &[
                "project-member",
                "analyst",
                "workspace-admin",
                "admin",
                "owner",
            ],
            Action::Run => &["analyst", "workspace-admin", "admin", "owner"],
            Action::ManageProjects | Action::ManageMembers => {
                &["workspace-admin", "admin", "owner"]
            }
            Action::Administer => &["admin", "owner"],
        }
    }

    fn index(self) -> usize {
        ACTIONS.iter().position(|a| *a == self).unwrap_or(0)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Role checks with counted decisions.
#[derive(Debug, Default)]
pub struct Authorizer {
    counts: [[AtomicU64; 2]; ACTIONS.len()],
}

impl Authorizer {
    /// A fresh authorizer with zeroed counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `principal` may do `action`; counts the decision.
    pub fn allows(&self, principal: &Principal, action: Action) -> bool {
        let allowed = action
            .allowed_roles()
            .iter()
            .any(|role| principal.has_role(role));
        let result = if allowed { "allow" } else { "deny" };
        metrics::counter!(METRIC, "action" => action.as_str(), "result" => result).increment(1);
        self.counts[action.index()][usize::from(allowed)].fetch_add(1, Ordering::Relaxed);
        allowed
    }

    /// [`Authorizer::allows`] as a `Result`: [`Error::PermissionDenied`] naming the roles that would do.
    pub fn check(&self, principal: &Principal, action: Action) -> Result<()> {
        if self.allows(principal, action) {
            Ok(())
        } else {
            Err(Error::PermissionDenied {
                action: action.as_str().into(),
                required: action.allowed_roles().join(", "),
            })
        }
    }

    /// Decisions counted so far for `action` with this result.
    pub fn decisions(&self, action: Action, allowed: bool) -> u64 {
        self.counts[action.index()][usize::from(allowed)].load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use avb_core::WorkspaceId;

    fn principal(roles: &[&str]) -> Principal {
        Principal {
            subject: "s".into(),
            workspace_id: WorkspaceId::new("ws").unwrap(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            scopes: Default::default(),
            expires_at: None,
        }
    }

    #[test]
    fn role_matrix() {
        let authz = Authorizer::new();
        let cases: &[(&str, &[Action], &[Action])] = &[
            ("viewer", &[Action::Read], &[Action::Write, Action::Run]),
            (
                "project-member",
                &[Action::Read, Action::Write],
                &[Action::Run],
            ),
            ("analyst", &[Action::Run], &[Action::ManageProjects]),
            (
                "workspace-admin",
                &[Action::ManageMembers],
                &[Action::Administer],
            ),
            ("admin", &[Action::Administer], &[]),
            ("owner", &[Action::Administer, Action::Read], &[]),
        ];
        for (role, allowed, denied) in cases {
            let p = principal(&[role]);
            for a in *allowed {
                assert!(authz.allows(&p, *a), "{role} should {a}");
            }
            for a in *denied {
                assert!(!authz.allows(&p, *a), "{role} should not {a}");
            }
        }
        assert!(!authz.allows(&principal(&[]), Action::Read));
    }

    /// Records counter increments as "name{label=value,...}" → total.
    #[derive(Default)]
    struct Recorded(std::sync::Mutex<std::collections::BTreeMap<String, u64>>);

    struct Handle(std::sync::Arc<Recorded>, String);

    impl metrics::CounterFn for Handle {
        fn increment(&self, value: u64) {
            *self.0.0.lock().unwrap().entry(self.1.clone()).or_default() += value;
        }
        fn absolute(&self, value: u64) {
            self.0.0.lock().unwrap().insert(self.1.clone(), value);
        }
    }

    struct TestRecorder(std::sync::Arc<Recorded>);

    impl metrics::Recorder for TestRecorder {
        fn describe_counter(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_gauge(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_histogram(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn register_counter(
            &self,
            key: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Counter {
            let labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            metrics::Counter::from_arc(std::sync::Arc::new(Handle(self.0.clone(), name)))
        }
        fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
            metrics::Gauge::noop()
        }
        fn register_histogram(
            &self,
            _: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Histogram {
            metrics::Histogram::noop()
        }
    }

    #[test]
    fn decisions_reach_the_metrics_facade_as_auth_decisions_total() {
        let recorded = std::sync::Arc::new(Recorded::default());
        let recorder = TestRecorder(recorded.clone());
        let authz = Authorizer::new();
        metrics::with_local_recorder(&recorder, || {
            authz.allows(&principal(&["viewer"]), Action::Read);
            authz.allows(&principal(&["viewer"]), Action::Read);
            authz.allows(&principal(&["viewer"]), Action::Write);
        });
        let recorded = recorded.0.lock().unwrap();
        assert_eq!(
            recorded.get("auth_decisions_total{action=read,result=allow}"),
            Some(&2),
            "{recorded:?}"
        );
        assert_eq!(
            recorded.get("auth_decisions_total{action=write,result=deny}"),
            Some(&1),
            "{recorded:?}"
        );
        assert_eq!(recorded.len(), 2, "{recorded:?}");
    }

    #[test]
    fn every_decision_is_counted_and_denial_names_the_roles() {
        let authz = Authorizer::new();
        let viewer = principal(&["viewer"]);
        authz.check(&viewer, Action::Read).unwrap();
        let err = authz.check(&viewer, Action::Administer).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("admin, owner"), "{err}");
        assert_eq!(authz.decisions(Action::Read, true), 1);
        assert_eq!(authz.decisions(Action::Administer, false), 1);
        assert_eq!(authz.decisions(Action::Administer, true), 0);
    }
}
