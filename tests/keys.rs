//! The deployment's secrets outside the store (issue 11, item 5): a copy of the store holds
//! neither the hash key (with it, the audit trail's hashes of national codes are reversed by
//! trying every code) nor the tracking-code key (with it, one code tells the next). Checked on
//! real sled stores opened as every command opens them (`app::open_parts`).

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use daftar::app::{open_parts, Parts};
use daftar::config::Config;

const META_KEYS: [&[u8]; 2] = [b"audit/hash-key", b"audit/code-key"];

fn config(dir: &Path) -> Config {
    let mut config = Config::default();
    config.store.db = dir.join("db");
    config.store.cache_mb = 16;
    config
}

/// `open_parts`, waiting for a previous handle's sled threads to let go of the lock.
fn open(config: &Config) -> anyhow::Result<Parts> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match open_parts(config) {
            Err(error) if Instant::now() < deadline && format!("{error:#}").contains("lock") => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("key file")
        .permissions()
        .mode()
        & 0o777
}

fn meta_holds_a_key(parts: &Parts) -> bool {
    let meta = parts.store.tree("audit_meta").expect("meta");
    META_KEYS
        .iter()
        .any(|key| meta.get(key).expect("read").is_some())
}

#[test]
fn a_new_store_gets_an_owner_only_key_file_beside_it_and_no_key_inside() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path());
    let parts = open(&config).expect("opens");
    let file = dir.path().join("db.key");
    assert_eq!(mode(&file), 0o600);
    assert!(!meta_holds_a_key(&parts));
    let text = std::fs::read_to_string(&file).expect("key file");
    drop(parts);
    let again = open(&config).expect("opens again");
    assert_eq!(std::fs::read_to_string(&file).expect("key file"), text);
    assert!(!meta_holds_a_key(&again));
}

#[test]
fn keys_a_store_held_are_moved_to_the_file_and_removed_from_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path());
    {
        let db = sled::open(&config.store.db).expect("sled");
        let meta = db.open_tree("audit_meta").expect("meta");
        meta.insert(META_KEYS[0], &[0xab; 32][..]).expect("insert");
        meta.insert(META_KEYS[1], &[0xcd; 32][..]).expect("insert");
        db.flush().expect("flush");
    }
    let parts = open(&config).expect("opens");
    assert!(!meta_holds_a_key(&parts));
    let text = std::fs::read_to_string(dir.path().join("db.key")).expect("key file");
    assert!(
        text.contains(&"ab".repeat(32)) && text.contains(&"cd".repeat(32)),
        "{text}"
    );
}

#[test]
fn a_configured_key_file_is_used_and_one_others_may_read_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("secrets").join("daftar.key");
    std::fs::create_dir(file.parent().expect("parent")).expect("dir");
    let toml = dir.path().join("daftar.toml");
    let text = format!("[audit]\nkey_file = {:?}\n", file.display().to_string());
    std::fs::write(&toml, text).expect("config written");
    let mut config = Config::load(Some(&toml)).expect("config");
    config.store.db = dir.path().join("db");
    config.store.cache_mb = 16;
    drop(open(&config).expect("opens"));
    assert_eq!(mode(&file), 0o600);
    assert!(!dir.path().join("db.key").exists());

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let error = format!("{:#}", open(&config).err().expect("refused"));
    assert!(
        error.contains("chmod 600") && error.contains("daftar.key"),
        "{error}"
    );
}
