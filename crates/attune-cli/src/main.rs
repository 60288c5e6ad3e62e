//! The `attune` command line.

mod bench;
mod bundle_cmd;
mod conform;
mod eval;
mod golden;
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
    /// Show a model's inputs, outputs, quantization and operators, or a bundle's
    /// manifest, catalog and model I/O.
    Inspect {
        /// A .tflite file or a bundle folder (a directory with manifest.json).
        model: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Measure load, prepare and inference latency of a model, or load, prepare and
    /// full-catalog ranking latency of a bundle (median and p90).
    Bench {
        /// A .tflite file or a bundle folder.
        model: PathBuf,
        /// Bundle only: the profile to rank for (default: an empty profile).
        #[arg(long)]
        profile: Option<PathBuf>,
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
        /// Model only: also report the time of each operator of the optimized plan.
        #[arg(long)]
        ops: bool,
    },
    /// Check a bundle: signature, integrity, catalog, model I/O against the manifest.
    /// Exit 1 with every problem found.
    Validate {
        /// Bundle folder.
        bundle: PathBuf,
        /// Pinned ed25519 public key (64 hex digits, or @FILE); default: manifest.pub if present.
        #[arg(long)]
        key: Option<String>,
    },
    /// Rank items for a profile.
    Rank {
        /// Bundle folder.
        bundle: PathBuf,
        /// Profile JSON (default: an empty profile).
        #[arg(long)]
        profile: Option<PathBuf>,
        /// A full rank request as JSON (filters, rules, freshness, …); flags override it.
        #[arg(long)]
        request: Option<PathBuf>,
        /// How many items.
        #[arg(long)]
        k: Option<usize>,
        /// Comma-separated app item ids to rank (default: the whole catalog).
        #[arg(long)]
        candidates: Option<String>,
        /// Model id (default: the bundle's default model).
        #[arg(long)]
        model: Option<String>,
        /// Diversity in [0, 1].
        #[arg(long)]
        diversity: Option<f64>,
        /// Exploration share in [0, 1].
        #[arg(long)]
        exploration: Option<f64>,
        /// Exploration seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Keep items the profile has already seen.
        #[arg(long)]
        include_seen: bool,
        /// Pinned ed25519 public key (64 hex digits, or @FILE): verify the signature.
        #[arg(long)]
        key: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Offline metrics of every model of a bundle on an events/split CSV, computed by
    /// this runtime (see models/movielens-100k/eval/METRICS.md).
    Eval {
        /// Bundle folder.
        bundle: PathBuf,
        /// CSV with user_id,item_id,timestamp[,rating] and a split column per track.
        #[arg(long)]
        events: PathBuf,
        /// Split column to evaluate (train/test rows).
        #[arg(long, default_value = "ms")]
        track: String,
        /// metrics.json of the training pipeline: compare, exit 1 beyond --tolerance.
        #[arg(long)]
        expect: Option<PathBuf>,
        /// Folder of <track>__<model>.csv top-10 lists to compare with.
        #[arg(long)]
        rankings: Option<PathBuf>,
        /// Largest accepted absolute difference per metric.
        #[arg(long, default_value_t = 1e-3)]
        tolerance: f64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run golden ranking cases (*.json in DIR) and compare with their expected lists.
    GoldenCheck {
        /// Folder of case files.
        dir: PathBuf,
        /// Bundle paths in the cases are relative to this folder.
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// Rewrite the expected lists from this runtime's output.
        #[arg(long)]
        update: bool,
        /// Judge the rankings another target wrote into this folder (one file per case,
        /// same name: the target's Ranking JSON or {"error": {code, message}}).
        #[arg(long, value_name = "OUT", conflicts_with = "update")]
        actual: Option<PathBuf>,
    },
    /// Run conformance cases (folders with a manifest.json) against their reference
    /// outputs, or judge the outputs another runtime wrote (--actual).
    Conform {
        /// Folders to search for cases.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Only print failures and the summary.
        #[arg(long, short)]
        quiet: bool,
        /// Judge the outputs another runtime wrote into this folder (its index.json)
        /// instead of running the cases here; every case under DIRS must be in it.
        #[arg(long, value_name = "OUT")]
        actual: Option<PathBuf>,
        /// Print the case folders found, one per line, and exit (for other runtimes'
        /// harnesses: the same cases, found by the same rule).
        #[arg(long, conflicts_with_all = ["actual", "json", "rtol", "peer"])]
        list: bool,
        /// Print one JSON document instead of text: the runtime, the rule, the counts
        /// and, per case, whether it passed, its detail and each output's max diff and
        /// bound (tests/conformance/README.md).
        #[arg(long)]
        json: bool,
        /// Loosen the float bound to at least R × max(1, max |reference|), and count
        /// reference scores that close as tied, for runtimes that are not held to
        /// conformance (benchmarks). Integer steps stay as they are.
        #[arg(long, value_name = "R")]
        rtol: Option<f64>,
        /// The benchmarks' rule for peer runtimes (LiteRT, LiteRT.js, tfjs-tflite):
        /// --rtol 1e-2.
        #[arg(long, conflicts_with = "rtol")]
        peer: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect { model, json } if bundle_cmd::is_bundle(&model) => {
            report(bundle_cmd::inspect(&model, json))
        }
        Command::Bench {
            model,
            profile,
            runs,
            warmup,
            json,
            ..
        } if bundle_cmd::is_bundle(&model) => report(bundle_cmd::bench(
            &model,
            profile.as_deref(),
            runs,
            warmup,
            json,
        )),
        Command::Validate { bundle, key } => report(
            bundle_cmd::key_arg(key.as_deref()).and_then(|k| bundle_cmd::validate(&bundle, k)),
        ),
        Command::Rank {
            bundle,
            profile,
            request,
            k,
            candidates,
            model,
            diversity,
            exploration,
            seed,
            include_seen,
            key,
            json,
        } => report(bundle_cmd::key_arg(key.as_deref()).and_then(|key| {
            bundle_cmd::rank_cmd(&bundle_cmd::RankArgs {
                bundle,
                profile,
                request,
                k,
                candidates,
                model,
                diversity,
                exploration,
                seed,
                include_seen,
                key,
                json,
            })
        })),
        Command::Eval {
            bundle,
            events,
            track,
            expect,
            rankings,
            tolerance,
            json,
        } => report(bundle_cmd::eval_cmd(
            &bundle,
            &events,
            &track,
            expect.as_deref(),
            rankings.as_deref(),
            tolerance,
            json,
        )),
        Command::GoldenCheck {
            dir,
            root,
            update,
            actual,
        } => report(bundle_cmd::golden_check(
            &dir,
            &root,
            update,
            actual.as_deref(),
        )),
        Command::Inspect { model, json } => match inspect::run(&model, json) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Bench {
            model,
            profile: _,
            case,
            runs,
            warmup,
            batch,
            json,
            ops,
        } => match bench::run(&model, case.as_deref(), runs, warmup, batch, json, ops) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Conform {
            dirs,
            quiet,
            actual,
            list,
            json,
            rtol,
            peer,
        } => report(
            match (rtol, peer) {
                (Some(r), _) => conform::Rule::with_rtol(r),
                (None, true) => conform::Rule::with_rtol(conform::PEER_RTOL),
                (None, false) => Ok(conform::Rule::CONFORMANCE),
            }
            .and_then(|rule| {
                if list {
                    for case in conform::find_cases(&dirs)? {
                        println!("{}", case.display());
                    }
                    return Ok(ExitCode::SUCCESS);
                }
                conform_cmd(&dirs, quiet, actual.as_deref(), rule, json)
            }),
        ),
    }
}

/// `attune conform`: run (or judge another runtime's outputs), print, summarize.
fn conform_cmd(
    dirs: &[PathBuf],
    quiet: bool,
    actual: Option<&std::path::Path>,
    rule: conform::Rule,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (runtime, outcomes) = if let Some(out) = actual {
        let (runtime, outcomes) = conform::judge_actual(out, dirs, rule)?;
        (Some(runtime), outcomes)
    } else {
        let mut runner = conform::Runner::default();
        let outcomes = conform::find_cases(dirs)?
            .iter()
            .map(|c| runner.run_case(c, rule))
            .collect();
        (None, outcomes)
    };
    let passed = outcomes.iter().filter(|o| o.passed).count();
    let failed = outcomes.len() - passed;
    if json {
        let report = serde_json::json!({
            "runtime": runtime,
            "rule": rule,
            "passed": passed,
            "failed": failed,
            "cases": outcomes,
        });
        println!("{report}");
    } else {
        for o in &outcomes {
            if !o.passed {
                println!("FAIL {} {:.3e} {}", o.path.display(), o.max_diff, o.detail);
            } else if !quiet {
                println!("PASS {} {:.3e}", o.path.display(), o.max_diff);
            }
        }
        match &runtime {
            Some(r) => println!("{r}: {passed} passed, {failed} failed"),
            None => println!("{passed} passed, {failed} failed"),
        }
    }
    Ok(if failed > 0 || passed == 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Exit code of a command: its own, or 2 with the error chain on failure.
fn report(r: anyhow::Result<ExitCode>) -> ExitCode {
    r.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(2)
    })
}
