//! The `attune` command line.

mod bench;
mod conform;
mod inspect;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "attune",
    version,
    about = "On-device personalization: inspect, check and run TFLite models and Attune bundles"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a model's inputs, outputs, quantization and operators.
    Inspect {
        /// A .tflite file.
        model: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Measure load, prepare and inference latency of a model (median and p90).
    Bench {
        /// A .tflite file.
        model: PathBuf,
        /// Take the inputs from this conformance case folder (default: zeros).
        #[arg(long)]
        case: Option<PathBuf>,
        /// Timed runs.
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// Untimed warm-up runs.
        #[arg(long, default_value_t = 20)]
        warmup: usize,
        /// Size bound to a dynamic batch dimension when no case is given.
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Print one JSON line.
        #[arg(long)]
        json: bool,
    },
    /// Run conformance cases (folders with a manifest.json) against their reference outputs.
    Conform {
        /// Folders to search for cases.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Only print failures and the summary.
        #[arg(long, short)]
        quiet: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect { model, json } => match inspect::run(&model, json) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Bench {
            model,
            case,
            runs,
            warmup,
            batch,
            json,
        } => match bench::run(&model, case.as_deref(), runs, warmup, batch, json) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Conform { dirs, quiet } => {
            let cases = match conform::find_cases(&dirs) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    return ExitCode::from(2);
                }
            };
            let mut runner = conform::Runner::default();
            let (mut passed, mut failed) = (0, 0);
            for case in cases {
                let o = runner.run_case(&case);
                if o.passed {
                    passed += 1;
                    if !quiet {
                        println!("PASS {} {:.3e}", o.path.display(), o.max_diff);
                    }
                } else {
                    failed += 1;
                    println!("FAIL {} {:.3e} {}", o.path.display(), o.max_diff, o.detail);
                }
            }
            println!("{passed} passed, {failed} failed");
            if failed > 0 || passed == 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
