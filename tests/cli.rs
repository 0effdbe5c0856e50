//! The `kitnotes` binary as a user runs it: help on every subcommand, clear errors, exit codes.

use std::process::{Command, Output};

fn kitnotes(data: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kitnotes"))
        .args(args)
        .env("KITNOTES_DATA_DIR", data)
        .env("KITNOTES_CONFIG_DIR", data.join("config"))
        .output()
        .expect("kitnotes runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn every_subcommand_has_help() {
    let dir = tempfile::tempdir().unwrap();
    let top = kitnotes(dir.path(), &["--help"]);
    assert!(top.status.success());
    let help = text(&top.stdout);
    let subcommands: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect();
    assert!(subcommands.contains(&"check".to_string()), "{help}");
    for sub in subcommands {
        let out = kitnotes(dir.path(), &[&sub, "--help"]);
        assert!(out.status.success(), "kitnotes {sub} --help failed");
        assert!(
            text(&out.stdout).contains("Usage: kitnotes"),
            "kitnotes {sub} --help"
        );
    }
}

#[test]
fn check_on_a_missing_store_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let out = kitnotes(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        format!(
            "kitnotes: error: there is no kitnotes store at {} yet",
            dir.path().join("store").display()
        )
    );
}

#[test]
fn a_second_kitnotes_on_the_same_store_gets_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let _held = kitnotes::store::SledStore::open(&store_dir).unwrap();
    let out = kitnotes(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "the store at {} is already open in another kitnotes process",
            store_dir.display()
        )),
        "{err}"
    );
}

#[test]
fn a_bad_config_file_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/config.toml"),
        "clinician = \"Dr. Q\"\ncolour = \"red\"\n",
    )
    .unwrap();
    drop(kitnotes::store::SledStore::open(&dir.path().join("store")).unwrap());
    let out = kitnotes(dir.path(), &["check"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("config.toml:2:1: unknown field `colour`"),
        "{err}"
    );
}
