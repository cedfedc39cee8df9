//! Workspaces (tenants) do not see each other.

use super::{At, Subject, ensure, expect_not_found};
use crate::PutOptions;
use avb_conformance::{CaseResult, Checks};
use bytes::Bytes;

/// Two workspaces writing the same key never see each other's object or listing.
pub async fn workspace_isolation(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let a_id = c.ok("workspace_ids", avb_core::WorkspaceId::new("team-a"))?;
    let b_id = c.ok("workspace_ids", avb_core::WorkspaceId::new("team-b"))?;
    let a = crate::for_workspace(store.clone(), &a_id);
    let b = crate::for_workspace(store.clone(), &b_id);
    a.put("report", Bytes::from_static(b"A"), PutOptions::default())
        .await
        .at(c, "put")?;
    b.put("report", Bytes::from_static(b"B"), PutOptions::default())
        .await
        .at(c, "put_b")?;
    ensure!(
        c,
        "a_reads_own",
        a.get_bytes("report").await.at(c, "get")? == "A",
        "workspace a reads b's data"
    );
    ensure!(
        c,
        "b_reads_own",
        b.get_bytes("report").await.at(c, "get_b")? == "B",
        "workspace b reads a's data"
    );
    a.put("only-a", Bytes::from_static(b"x"), PutOptions::default())
        .await
        .at(c, "put_only")?;
    let b_keys: Vec<String> = b
        .list_all("")
        .await
        .at(c, "list_b")?
        .into_iter()
        .map(|o| o.key)
        .collect();
    ensure!(
        c,
        "b_lists_own",
        b_keys == ["report"],
        "workspace b lists {b_keys:?}"
    );
    expect_not_found(
        c,
        "b_heads_s_key",
        b.head("only-a").await,
        "b heads a's key",
    )?;
    let raw: Vec<String> = store
        .list_all("")
        .await
        .at(c, "list_raw")?
        .into_iter()
        .map(|o| o.key)
        .collect();
    ensure!(
        c,
        "prefix_layout",
        raw.contains(&"ws/team-a/report".to_string()),
        "prefix layout {raw:?}"
    );
    Ok(())
}
