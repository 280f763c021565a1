use std::process::ExitCode;

use crate::cli::{GraphArgs, GraphFormat};
use crate::graph::{dot, mermaid, Graph};

/// `deckhand graph`: the file's decoy network, drawn; no engine needed.
pub fn run(args: &GraphArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.config.file)?;
    let graph = Graph::of_desired(&loaded.desired);
    let text = match args.format {
        GraphFormat::Mermaid => mermaid::render(&graph),
        GraphFormat::Dot => dot::render(&graph, &loaded.desired.fleet),
    };
    use std::io::Write as _;
    let _ = std::io::stdout().write_all(text.as_bytes());
    Ok(ExitCode::SUCCESS)
}
