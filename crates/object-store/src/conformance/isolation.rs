//! Workspaces (tenants) do not see each other.

use super::{CaseResult, Context, Outcome, ensure, expect_not_found};
use crate::{ObjectStore, PutOptions};
use bytes::Bytes;
use std::sync::Arc;

/// Two workspaces writing the same key never see each other's object or listing.
pub async fn workspace_isolation(store: Arc<dyn ObjectStore>) -> CaseResult {
    let (a_id, b_id) = match (
        avb_core::WorkspaceId::new("team-a"),
        avb_core::WorkspaceId::new("team-b"),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        _ => return Err("workspace ids".into()),
    };
    let a = crate::for_workspace(store.clone(), &a_id);
    let b = crate::for_workspace(store.clone(), &b_id);
    a.put("report", Bytes::from_static(b"A"), PutOptions::default())
        .await
        .ctx("put a")?;
    b.put("report", Bytes::from_static(b"B"), PutOptions::default())
        .await
        .ctx("put b")?;
    ensure!(
        a.get_bytes("report").await.ctx("get a")? == "A",
        "workspace a reads b's data"
    );
    ensure!(
        b.get_bytes("report").await.ctx("get b")? == "B",
        "workspace b reads a's data"
    );
    a.put("only-a", Bytes::from_static(b"x"), PutOptions::default())
        .await
        .ctx("put only-a")?;
    let b_keys: Vec<String> = b
        .list_all("")
        .await
        .ctx("list b")?
        .into_iter()
        .map(|o| o.key)
        .collect();
    ensure!(b_keys == ["report"], "workspace b lists {b_keys:?}");
    expect_not_found(b.head("only-a").await, "b heads a's key")?;
    let raw: Vec<String> = store
        .list_all("")
        .await
        .ctx("list raw")?
        .into_iter()
        .map(|o| o.key)
        .collect();
    ensure!(
        raw.contains(&"ws/team-a/report".to_string()),
        "prefix layout {raw:?}"
    );
    Ok(Outcome::Passed)
}
