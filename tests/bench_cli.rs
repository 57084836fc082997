//! `starling bench` as a script runs it: the process starts its own cluster, pulls, and
//! prints one JSON object as its last stdout line. Only the report's shape and the
//! figures that do not depend on timing are checked; both run two origins with replicas
//! 2 unless told otherwise.

use std::process::{Command, Output};

use serde_json::{Map, Value};

fn run_bench(args: &[&str]) -> Map<String, Value> {
    let dir = tempfile::tempdir().unwrap();
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_starling"))
        .arg("bench")
        .args(args)
        .arg("--data-dir")
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .output()
        .expect("starling bench starts");
    let stdout = String::from_utf8(stdout).unwrap();
    let stderr = String::from_utf8_lossy(&stderr);
    assert!(
        status.success(),
        "{status}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let last = stdout.lines().last().expect("a report line");
    match serde_json::from_str(last) {
        Ok(Value::Object(report)) => report,
        other => panic!("the last line is not a JSON object ({other:?}): {last}"),
    }
}

fn keys(report: &Map<String, Value>) -> Vec<&str> {
    report.keys().map(String::as_str).collect()
}

fn number(report: &Map<String, Value>, key: &str) -> f64 {
    report[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number: {report:?}"))
}

#[test]
fn swarm_prints_a_json_report_line() {
    let report = run_bench(&[
        "swarm", "--agents", "3", "--size", "4MiB", "--rate", "64MiB/s",
    ]);
    let mut got = keys(&report);
    got.sort_unstable();
    let mut want = vec![
        "agents",
        "origins",
        "replicas",
        "size",
        "rate",
        "bound_s",
        "p50_s",
        "p99_s",
        "max_s",
        "p50_over_bound",
        "p99_over_bound",
        "origin_egress_ratio",
    ];
    want.sort_unstable();
    assert_eq!(got, want);
    assert_eq!(report["agents"], 3);
    assert_eq!(
        (&report["origins"], &report["replicas"]),
        (&2.into(), &2.into())
    );
    assert_eq!(report["size"], 4 << 20);
    assert_eq!(report["rate"], 64 << 20);
    // F/R: 4 MiB at 64 MiB/s, whatever the agents did.
    assert_eq!(number(&report, "bound_s"), 0.063);
    let (p50, p99, max) = (
        number(&report, "p50_s"),
        number(&report, "p99_s"),
        number(&report, "max_s"),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{report:?}");
    assert!(
        number(&report, "origin_egress_ratio") > 0.0,
        "the origin seeded the blob: {report:?}"
    );
}

#[test]
fn pull_prints_a_json_report_line_with_the_agent_memory() {
    let report = run_bench(&["pull", "--size", "1MiB"]);
    let mut got = keys(&report);
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "agent_peak_rss_mib",
            "agent_process_cpu_s_per_gib",
            "agent_pull_cpu_s_per_gib",
            "agent_s",
            "direct_cpu_s_per_gib",
            "direct_s",
            "origins",
            "ratio",
            "replicas",
            "size",
            "ttfb_ms"
        ]
    );
    assert_eq!(report["size"], 1 << 20);
    assert_eq!(
        (&report["origins"], &report["replicas"]),
        (&2.into(), &2.into())
    );
    assert!(
        number(&report, "agent_peak_rss_mib") > 0.0,
        "VmHWM of the agent child: {report:?}"
    );
    assert!(number(&report, "ttfb_ms") <= 1000.0 * number(&report, "agent_s"));
    for cpu in ["agent_process_cpu_s_per_gib", "agent_pull_cpu_s_per_gib"] {
        assert!(number(&report, cpu) > 0.0, "{cpu}: {report:?}");
    }
    assert!(number(&report, "direct_cpu_s_per_gib") >= 0.0, "{report:?}");
}

#[test]
fn pull_runs_one_origin_when_told() {
    let report = run_bench(&["pull", "--size", "64KiB", "--origins", "1"]);
    assert_eq!(
        (&report["origins"], &report["replicas"]),
        (&1.into(), &1.into())
    );
}
