//! Registry hot reload in a running process: a replaced file is reloaded by itself, an edit the
//! file watch cannot see is reloaded on SIGHUP, and an invalid file keeps the old registry.
//!
//! One test per binary: it raises SIGHUP in this process (the watcher's handler catches it).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pool_registry::RegistryHandle;
use validator::executor::TaskExecutor;
use validator::pool::RegistryWatcher;

fn registry(operators: usize) -> String {
    let mut text = format!(
        r#"[pool]
name = "watched pool"
withdrawal_credentials = "0x010000000000000000000000{addr}"
el_rewards_vault = "0x{vault}"
frame_epochs = 4

[pool.fees]
protocol_bps = 500
operator_bps = 500

[pool.shares]
initial_total_shares = "1000000000000000000000"
"#,
        addr = "aa".repeat(20),
        vault = "bb".repeat(20)
    );
    for id in 1..=operators {
        text.push_str(&format!(
            "\n[[operators]]\nid = {id}\nname = \"op{id}\"\nreward_address = \"0x{}\"\nkeys = [\"0x{}\"]\n",
            format!("{id:02x}").repeat(20),
            format!("{id:02x}").repeat(48)
        ));
    }
    text
}

async fn wait_for(handle: &RegistryHandle, operators: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if handle.current().operators().len() == operators {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn replace_link(link: &Path, target: &Path) {
    let tmp = link.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).unwrap();
    std::fs::rename(&tmp, link).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_changes_and_sighup_reload_the_registry() {
    // The registry path is a symlink in `watched/` to a file in `store/`: replacing the link is
    // seen by the watch, editing the target in place is not (only SIGHUP picks it up).
    let dir = tempfile::tempdir().unwrap();
    let (watched, store) = (dir.path().join("watched"), dir.path().join("store"));
    std::fs::create_dir_all(&watched).unwrap();
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("v1.toml"), registry(1)).unwrap();
    let link = watched.join("registry.toml");
    replace_link(&link, &store.join("v1.toml"));

    let handle = Arc::new(RegistryHandle::load(&link).unwrap());
    let (executor, _shutdown) = TaskExecutor::new();
    RegistryWatcher::new(handle.clone()).spawn(&executor);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // 1. The file is replaced (as deploy tools and editors do): reloaded by itself.
    std::fs::write(store.join("v2.toml"), registry(2)).unwrap();
    replace_link(&link, &store.join("v2.toml"));
    assert!(wait_for(&handle, 2).await, "a replaced file is reloaded");

    // 2. An invalid file keeps the registry running.
    std::fs::write(store.join("bad.toml"), "[pool]\nname = 3\n").unwrap();
    replace_link(&link, &store.join("bad.toml"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        handle.current().operators().len(),
        2,
        "the old registry stays live"
    );

    // 3. An edit the watch cannot see waits for SIGHUP.
    replace_link(&link, &store.join("v2.toml"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    std::fs::write(store.join("v2.toml"), registry(3)).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        handle.current().operators().len(),
        2,
        "not reloaded without a signal"
    );
    // SAFETY: `raise` has no memory-safety preconditions; the watcher handles SIGHUP.
    assert_eq!(unsafe { libc::raise(libc::SIGHUP) }, 0);
    assert!(wait_for(&handle, 3).await, "SIGHUP reloads");

    executor.shutdown(validator::executor::ShutdownReason::Requested { by: "test".into() });
    assert!(
        executor
            .wait_for_tasks(Duration::from_secs(5))
            .await
            .is_empty()
    );
}
