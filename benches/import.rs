//! `kitnotes import` of a 1,000,000-line JSON Lines file (issue 18: memory stays bounded
//! whatever the file's size, under 400 MB). Run once: `cargo bench --bench import`.
//!
//! The file is the invented demo caseload, written a patient at a time until the next patient
//! would pass 1,000,000 lines, then topped up with PHQ-9 scores for the last patient to exactly
//! 1,000,000 lines (the header included). It is kept in `target/tmp/bench-import` and reused.
//! The release binary imports it into a new encrypted store, as a clinic would, under GNU time
//! (`/usr/bin/time`, `apt-get install time`), which gives the peak memory (maximum RSS). Then
//! the same file with one more line, a score for a patient no line has, is refused at that line:
//! the refusal's peak, and the store is checked to hold nothing.

use kitnotes::demo::{DemoSpec, generate};
use kitnotes::interchange::JsonlWriter;
use kitnotes::model::{PatientRecords, Record};
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The file's lines, header included (`KITNOTES_BENCH_IMPORT_LINES` for a quick trial run).
fn lines() -> usize {
    std::env::var("KITNOTES_BENCH_IMPORT_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}
const PASSPHRASE: &str = "invented bench passphrase";

fn main() {
    // `cargo bench` passes `--bench`; any other argument (a filter) is not for this bench.
    if std::env::args().skip(1).any(|a| a != "--bench") {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-import");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let lines = lines();
    let file = dir.join(format!("lines-{lines}.jsonl"));
    if count_lines(&file) != Some(lines) {
        let started = Instant::now();
        write_file(&file, lines);
        eprintln!(
            "wrote {} in {:.1} s",
            file.display(),
            started.elapsed().as_secs_f64()
        );
    }
    let bytes = std::fs::metadata(&file).expect("file").len();
    let passphrase = dir.join("passphrase");
    std::fs::write(&passphrase, format!("{PASSPHRASE}\n")).expect("passphrase");

    let run = import(&dir.join("data"), &file, &passphrase);
    assert!(run.ok, "the import failed: {}", run.stderr);
    let notes = notes_in(&run.stdout);
    println!(
        "import of {lines} lines ({:.0} MB): {:.1} s, {:.0} lines/s, {:.0} notes/s, peak {}",
        bytes as f64 / 1e6,
        run.seconds,
        lines as f64 / run.seconds,
        notes as f64 / run.seconds,
        run.peak()
    );
    println!("  {}", run.stdout.trim());

    // The same lines and one more that cannot resolve: refused at its line, nothing written.
    let bad = dir.join(format!("lines-{lines}-bad.jsonl"));
    std::fs::copy(&file, &bad).expect("copy");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&bad)
        .expect("open");
    writeln!(
        f,
        r#"{{"type":"measure","id":"bench-bad","patient":"nobody","instrument":"phq9","at":"2026-03-02T10:00:00Z","items":[1,1,1,1,1,1,1,1,0]}}"#
    )
    .expect("append");
    drop(f);
    let refused = import(&dir.join("data-bad"), &bad, &passphrase);
    assert!(!refused.ok, "the bad file was imported");
    let store = kitnotes::store::SledStore::open(&dir.join("data-bad").join("store"))
        .expect("open the refused store");
    kitnotes::store::Store::unlock(&store, PASSPHRASE.as_bytes()).expect("unlock");
    let counts = kitnotes::store::Store::counts(&store).expect("counts");
    assert_eq!(
        counts,
        Default::default(),
        "the refused import wrote records"
    );
    println!(
        "refusal of {} lines at the last: {:.1} s, peak {}; the store holds nothing",
        lines + 1,
        refused.seconds,
        refused.peak()
    );
    println!("  {}", refused.stderr.trim());
    drop(store);
    let _ = std::fs::remove_file(&bad);
    let _ = std::fs::remove_dir_all(dir.join("data"));
    let _ = std::fs::remove_dir_all(dir.join("data-bad"));
}

/// The file's line count, if it is there.
fn count_lines(path: &Path) -> Option<usize> {
    let f = std::fs::File::open(path).ok()?;
    Some(std::io::BufReader::new(f).split(b'\n').count())
}

/// Writes the demo caseload, patient by patient, and tops it up to exactly `total` lines.
fn write_file(path: &Path, total: usize) {
    let mut spec = DemoSpec::new(jiff::civil::date(2026, 11, 1));
    // More than the file holds (about 190 lines a patient): writing stops at the limit.
    spec.patients = u32::try_from(total / 100 + 1).unwrap_or(u32::MAX);
    spec.notes_per_patient = 100;
    spec.seed = 42;
    let out = BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut writer = JsonlWriter::new(out, true).expect("header");
    let mut lines = 1;
    let mut last = None;
    for records in generate(&spec) {
        if lines + records.len() > total {
            break;
        }
        lines += records.len();
        let mut it = records.into_iter();
        let Some(Record::Patient(p)) = it.next() else {
            panic!("the patient comes first")
        };
        last = Some(p.id.clone());
        let mut chart = PatientRecords::new(p);
        it.for_each(|r| chart.push(r));
        writer.write_patient(&chart).expect("write");
    }
    let (mut out, _) = writer.finish().expect("finish");
    let last = last.expect("at least one patient");
    for i in lines..total {
        writeln!(
            out,
            r#"{{"type":"measure","id":"bench-m{i}","patient":"{last}","instrument":"phq9","at":"2026-10-30T10:00:00Z","items":[1,2,1,0,1,1,0,1,0]}}"#
        )
        .expect("write");
    }
    out.flush().expect("flush");
    assert_eq!(count_lines(path), Some(total));
}

struct Run {
    ok: bool,
    seconds: f64,
    peak_kb: Option<u64>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn peak(&self) -> String {
        match self.peak_kb {
            Some(kb) => format!("{:.0} MB", kb as f64 / 1024.0),
            None => "not measured (GNU time missing: apt-get install time)".into(),
        }
    }
}

/// `kitnotes import FILE` into a new store in `data`, under GNU time when it is there.
fn import(data: &Path, file: &Path, passphrase: &Path) -> Run {
    let _ = std::fs::remove_dir_all(data);
    let exe = env!("CARGO_BIN_EXE_kitnotes");
    let timed = Path::new("/usr/bin/time").exists();
    let mut cmd = if timed {
        let mut c = Command::new("/usr/bin/time");
        c.args(["-f", "peak_kb=%M", exe]);
        c
    } else {
        Command::new(exe)
    };
    cmd.arg("import")
        .arg(file)
        .env("KITNOTES_DATA_DIR", data)
        .env("KITNOTES_CONFIG_DIR", data.join("config"))
        .env("KITNOTES_PASSPHRASE_FILE", passphrase);
    let started = Instant::now();
    let out = cmd.output().expect("run kitnotes");
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let peak_kb = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_kb="))
        .and_then(|v| v.trim().parse().ok());
    Run {
        ok: out.status.success(),
        seconds,
        peak_kb,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: stderr
            .lines()
            .filter(|l| !l.starts_with("peak_kb=") && !l.starts_with("Command exited"))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The notes count from "Imported 5 patients, 120 notes, ...".
fn notes_in(stdout: &str) -> u64 {
    stdout
        .split(", ")
        .find_map(|part| part.strip_suffix(" notes"))
        .and_then(|n| n.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
