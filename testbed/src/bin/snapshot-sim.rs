//! Runs a snapshot simulator script (see `testbed::snapshot::script`) from a file, or from
//! standard input with `-`, and prints every snapshot as a line of JSON: completed ones with
//! their check, then those a leaving peer kept from completing.

use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: snapshot-sim FILE   (or - for standard input)");
        return ExitCode::from(2);
    };
    let mut text = String::new();
    let read = if path == "-" {
        std::io::stdin().read_to_string(&mut text).map(drop)
    } else {
        std::fs::read_to_string(&path).map(|t| text = t)
    };
    if let Err(error) = read {
        eprintln!("snapshot-sim: {path}: {error}");
        return ExitCode::FAILURE;
    }
    match testbed::snapshot::script::run(&text) {
        Ok(run) => {
            for report in &run.completed {
                println!(
                    "{}",
                    serde_json::to_string(report).expect("reports serialize")
                );
            }
            for incomplete in &run.incomplete {
                println!("{}", serde_json::json!({ "incomplete": incomplete }));
            }
            let failed = run.completed.iter().filter(|r| r.check != "ok").count();
            eprintln!(
                "{} snapshots completed, {failed} failed their check, {} incomplete",
                run.completed.len(),
                run.incomplete.len()
            );
            if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("snapshot-sim: {path}: {error}");
            ExitCode::from(2)
        }
    }
}
