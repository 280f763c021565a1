//! Command glue: each subcommand turns settings into a pipeline run and an exit code.

/// Prints a line to standard output and ignores a closed pipe: a reader that
/// went away (`deckhand apply | head`) must not abort an apply half-way.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod apply;
mod blocked;
mod canaries;
mod destroy;
mod export;
mod graph;
mod import;
mod init;
mod lint;
mod plan;
pub mod refusal;
mod status;
mod unlock;
mod validate;
mod watch;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{Cli, Command, ExportCommand};
use crate::config::{self, Loaded};
use crate::fleet::{Options, Pass};
use crate::render::style::Style;

/// Settings shared by every command, decided once from flags, environment
/// and the terminal, and passed down as one value.
pub struct Context {
    pub docker_host: Option<String>,
    pub style: Style,
    /// Who holds a lock this run takes: its command line.
    pub holder: String,
    /// Whether standard input is a terminal (apply asks for `yes` there).
    pub interactive: bool,
}

impl Context {
    pub fn from_cli(cli: &Cli) -> Context {
        if cli.verbose {
            crate::verbose::enable();
        }
        let no_color = cli.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Context {
            docker_host: cli.docker_host().map(str::to_string),
            style: Style {
                color: !no_color && std::io::stdout().is_terminal(),
            },
            holder: std::env::args().collect::<Vec<_>>().join(" "),
            interactive: std::io::stdin().is_terminal(),
        }
    }

    /// Options for a fleet pass over `targets`; `lock` takes the fleet's lock.
    pub fn pass<'a>(&'a self, targets: &'a [String], lock: bool) -> Options<'a> {
        Options {
            docker_host: self.docker_host.as_deref(),
            targets,
            lock_as: lock.then_some(self.holder.as_str()),
            force: false,
        }
    }
}

/// What a plan or an apply aims at: the file as it is, or (`destroy`) the
/// file without the deckies in scope.
pub struct Aim<'a> {
    pub targets: &'a [String],
    pub destroy: bool,
    /// With `destroy`: the declared networks go too.
    pub networks: bool,
    /// `--force`: plan what a live session would hold (SPEC §11).
    pub force: bool,
}

/// Opens the fleet pass that `aim` asks for; `lock` takes the fleet's lock.
pub async fn open_pass(ctx: &Context, loaded: &Loaded, aim: &Aim<'_>, lock: bool) -> Pass {
    let desired = match aim.destroy {
        true => loaded.desired.clone().without_deckies(aim.targets),
        false => loaded.desired.clone(),
    };
    let options = Options {
        force: aim.force,
        ..ctx.pass(aim.targets, lock)
    };
    let mut pass = Pass::open(desired, &loaded.hosts, &options).await;
    if aim.networks {
        pass.remove_declared_networks();
    }
    pass
}

/// What a destroy (or `plan --destroy`) with nothing left says.
pub fn nothing_to_destroy(fleet: &str) -> String {
    format!("No changes. Nothing of fleet '{fleet}' is left to destroy.")
}

/// Loads the desired state; an invalid file is reported with every problem found.
pub fn load(path: &Path) -> anyhow::Result<Loaded> {
    config::load(path).context("invalid configuration")
}

pub async fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    let ctx = Context::from_cli(&cli);
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Plan(args) => plan::run(&ctx, &args).await,
        Command::Apply(args) => apply::run(&ctx, &args).await,
        Command::Watch(args) => watch::run(&ctx, &args).await,
        Command::Destroy(args) => destroy::run(&ctx, &args).await,
        Command::Status(args) => status::run(&ctx, &args).await,
        Command::Unlock(args) => unlock::run(&ctx, &args).await,
        Command::Import(args) => import::run(&ctx, &args).await,
        Command::Export(ExportCommand::Compose(args)) => export::compose(&args),
        Command::Export(ExportCommand::DecnetState(args)) => export::decnet_state(&args),
        Command::Init(args) => init::run(&args),
        Command::Canaries(args) => canaries::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "deckhand", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(command).render(&mut std::io::stdout())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema => {
            say!("{:#}", crate::schema::schema());
            Ok(ExitCode::SUCCESS)
        }
    }
}
