//! Every file of the fuzz corpus (`fuzz/corpus/<target>/`: the seeds and what the fuzzers kept,
//! the inputs of the bugs they found among them) through the same functions the fuzz targets
//! call, on stable, on every `cargo test`: a bug a fuzzer once found stays found without
//! cargo-fuzz or a nightly toolchain.

use std::path::{Path, PathBuf};

use daftar::fuzzing::{self, Dialects};

/// The dialects the `dialect` target declares beside the built-in ones.
const DECLARED: [&str; 3] = [
    include_str!("fixtures/declared/arkesel-like.toml"),
    include_str!("fixtures/declared/textline.toml"),
    include_str!("fixtures/declared/pathway.toml"),
];

/// A fuzz target's function.
type Target = fn(&[u8]);

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no input", dir.display());
    files
}

/// Runs `target` on every file of its corpus; names each file that panicked.
fn replay(target: &str, run: impl Fn(&[u8])) {
    let failed: Vec<String> = corpus(target)
        .into_iter()
        .filter(|path| {
            let data = std::fs::read(path).expect("readable");
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&data))).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{target}: these inputs panic: {failed:#?}"
    );
}

#[test]
fn the_dialect_corpus_replays() {
    let dialects = Dialects::new(&DECLARED);
    replay("dialect", |data| dialects.request(data));
}

#[test]
fn the_corpus_of_every_other_target_replays() {
    let targets: [(&str, Target); 4] = [
        ("feed_line", fuzzing::feed_line),
        ("menu", fuzzing::menu),
        ("config", fuzzing::config),
        ("identifiers", fuzzing::identifiers),
    ];
    for (target, run) in targets {
        replay(target, run);
    }
}
