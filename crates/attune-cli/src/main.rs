//! The `attune` command line.

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
