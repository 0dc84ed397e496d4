//! `runwisp runs RUN_ID --tree [--json]`: a pipeline run as the tree of its steps, with each
//! step's state and duration. Through the daemon when one runs here (or `--url`); else read
//! from the history on disk, with the pipeline's definition from `runwisp.toml`.

use anyhow::{anyhow, bail, Context};

use super::{remote, runs, Cli};
use crate::api::pipelines::{glyph, lines};
use crate::api::RunTree;
use crate::engine::config::{load_file, load_str};
use crate::engine::history::RunRef;
use crate::engine::model::RunKind;
use crate::engine::pipeline::tree;

pub fn run(cli: &Cli, run_id: &str, json: bool) -> anyhow::Result<i32> {
    let wanted = RunRef::parse(run_id).map_err(|e| anyhow!(e))?;
    let tree = match remote::find(cli)? {
        Some(target) => remote::connect(&target)?.tree(run_id)?,
        None => local(cli, &wanted)?,
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&tree).context("encoding JSON")?
        );
        return Ok(0);
    }
    print(&tree);
    Ok(0)
}

fn local(cli: &Cli, wanted: &RunRef) -> anyhow::Result<RunTree> {
    let run = runs::find_run(cli, wanted)?;
    if run.kind != RunKind::Pipeline {
        bail!(
            "run {} is a run of {:?}, not of a pipeline; only pipeline runs have steps",
            run.id,
            run.task_name.as_str()
        );
    }
    let store = runs::open_history(cli)?.ok_or_else(|| anyhow!("no run history here"))?;
    // A file that does not load still shows the steps the rows have.
    let config = match load_file(&cli.config) {
        Ok(config) => config,
        Err(_) => load_str("", "", &cli.config).map_err(|e| anyhow!("{e}"))?,
    };
    let view = tree::build(&store, &config, run)?;
    Ok(RunTree::from(&view))
}

fn print(tree: &RunTree) {
    let run = &tree.run;
    let result = run
        .end_reason
        .map_or_else(|| run.status.to_string(), |r| r.to_string());
    let took = run
        .duration_ms
        .map(|ms| {
            crate::engine::config::units::format_duration(std::time::Duration::from_millis(
                ms.max(0) as u64,
            ))
        })
        .unwrap_or_default();
    println!("{} {}  {result}  {took}", run.task_name, run.id);
    if let Some(m) = &run.message {
        println!("  {m}");
    }
    let lines = lines(&tree.steps);
    let width = lines
        .iter()
        .map(|l| l.indent.chars().count() + l.step.len() + l.label.chars().count())
        .max()
        .unwrap_or(0);
    for l in lines {
        let left = format!("{}{} {} {}", l.indent, l.step, glyph(l.state), l.label);
        let pad = width + 3 - (l.indent.chars().count() + l.step.len() + l.label.chars().count());
        println!(
            "{left}{}{:<18}{}",
            " ".repeat(pad),
            l.state.as_str(),
            l.duration
        );
    }
}
