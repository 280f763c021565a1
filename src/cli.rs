//! The command line, as clap parses it. Turned into settings by `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Keeps a fleet of DECNET deckies (decoy hosts run as Docker containers) in
/// the state a TOML file describes: reads the live containers, prints a plan,
/// and applies it live, one container or one file at a time.
#[derive(Debug, Parser)]
#[command(name = "deckhand", version, propagate_version = true)]
#[command(
    after_help = "Typical session:\n  deckhand init                # a starter deckhand.toml (and .gitignore) here\n  deckhand validate            # check deckhand.toml offline\n  deckhand plan                # what would change, and why\n  deckhand apply               # plan, confirm with 'yes', apply\n  deckhand plan --out p.plan   # save a plan for review (--format markdown for a PR)\n  deckhand apply p.plan        # apply exactly it, or refuse if anything changed since\n  deckhand watch               # apply every save, heal drift, until Ctrl-C\n  deckhand destroy             # take the whole fleet down (plan --destroy to preview)\n\nExit codes: 0 success (with --detailed-exitcode: no changes), 1 error, 2 changes (--detailed-exitcode only)."
)]
pub struct Cli {
    /// Never colour output (also: the NO_COLOR environment variable). Colour is only used on a terminal.
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Say what deckhand chose and why on stderr: for each container, whether its files were read from the host or through the engine (also: DECKHAND_VERBOSE=1).
    #[arg(long, global = true, env = "DECKHAND_VERBOSE", hide_env = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the desired-state file(s) offline; no engine needed.
    Validate(ValidateArgs),
    /// Read the live state and print what apply would change. Changes nothing.
    Plan(PlanArgs),
    /// Plan, confirm, and apply: add or remove single containers and files, live.
    Apply(ApplyArgs),
    /// Keep the fleet in step: apply every saved edit, and heal drift.
    ///
    /// Reconciles at once, then whenever the config file(s) or any `source`
    /// is saved, when a container of the fleet stops or is removed, when a
    /// process in a decky changes a bait file (seen from the host, as root on
    /// the local engine; each open or read of one is reported too), and every
    /// --interval seconds (to find files edited inside a decky where nothing
    /// tells: a remote engine, a stopped container). An invalid
    /// edit is reported with its file and line on every pass while the last
    /// valid state is still enforced; the next good save applies. A bait
    /// rewritten over and over is restored with backoff (1 s doubling to
    /// 30 s); without inotify, baits are looked at every 2 s. Each pass holds
    /// the fleet lock only while it runs.
    /// Runs until Ctrl-C or SIGTERM, which let the steps in flight finish.
    Watch(WatchArgs),
    /// Take the fleet down: every container of it on every engine, then its
    /// record and lock.
    ///
    /// Services go before their bases; with --target, only those deckies
    /// (their record entries go, the record stays). Networks the file
    /// declares are removed only with --networks. Asks for `yes` like apply;
    /// preview it with `deckhand plan --destroy`.
    Destroy(DestroyArgs),
    /// Show each decky, its services and their live state: persona, networks and addresses, ports.
    ///
    /// Bait files that differ from the file are listed below the table.
    /// With --detailed-exitcode it exits 2 when a container is missing or
    /// not running, or a bait file differs.
    Status(StatusArgs),
    /// Draw the decoy network the file describes, offline: LANs, deckies
    /// (with persona), services and their ports, published host ports.
    ///
    /// `deckhand graph > fleet.mmd` for a mermaid flowchart (GitHub renders
    /// it in a ```mermaid block); `deckhand graph --format dot | dot -Tsvg > fleet.svg`.
    Graph(GraphArgs),
    /// Clear a fleet lock left behind by a killed run.
    Unlock(UnlockArgs),
    /// Write a deckhand.toml describing a fleet DECNET's docker-compose deployed.
    ///
    /// Reads the engine's containers that carry DECNET's labels
    /// (decnet.fleet.decky, decnet.fleet.service_name) and their bases; then
    /// `deckhand plan` should say No changes., and `deckhand apply --adopt`
    /// takes them under management without recreating any.
    Import(ImportArgs),
    /// Write the fleet in another tool's format.
    #[command(subcommand)]
    Export(ExportCommand),
    /// List every canary of the fleet with its token, for the alerting side.
    ///
    /// Offline. Plans, events and logs name a canary by its id only; this
    /// is where its token is told. Rotate with `apply --rotate-canaries`.
    Canaries(CanariesArgs),
    /// Report what gives a decoy away (SPEC §11), each with how to fix it.
    ///
    /// Offline. The same bait content or mtime on several deckies, many files
    /// with one mtime, files under a user's home owned by root, a hostname,
    /// banner or persona that disagree, two deckies of one MAC vendor on one
    /// LAN. Exits 1 when it finds any (2 with --detailed-exitcode).
    Lint(LintArgs),
    /// Write a starter deckhand.toml here, and a .gitignore holding .deckhand/.
    ///
    /// The file validates and plans as written; the fleet is named after
    /// this directory. Refuses to write over an existing deckhand.toml.
    Init(InitArgs),
    /// Print shell completions: `deckhand completions bash > /etc/bash_completion.d/deckhand`.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print deckhand's man page (roff): `deckhand man > deckhand.1; man ./deckhand.1`.
    Man,
    /// Print a JSON Schema of the file format, for editors (taplo, Even Better TOML).
    ///
    /// Save it beside the config and name it on the file's first line:
    ///   deckhand schema > deckhand.schema.json
    ///   #:schema ./deckhand.schema.json
    Schema,
}

impl Cli {
    /// `--docker-host` of a command that talks to an engine.
    pub fn docker_host(&self) -> Option<&str> {
        let engine = match &self.command {
            Command::Plan(a) => &a.engine,
            Command::Apply(a) => &a.change.engine,
            Command::Destroy(a) => &a.change.engine,
            Command::Watch(a) => &a.engine,
            Command::Status(a) => &a.engine,
            Command::Unlock(a) => &a.engine,
            Command::Import(a) => &a.engine,
            _ => return None,
        };
        engine.docker_host.as_deref()
    }
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The starter to write: minimal (one decky, a web server, a bait page) or
    /// quickstart (the README's fleet, with its bait files).
    #[arg(long, value_name = "NAME", default_value = "minimal")]
    pub example: String,
}

/// Which engine a command talks to. Only commands that reach an engine take it.
#[derive(Debug, Args)]
pub struct EngineArgs {
    /// The engine named `local` (unix:///path, tcp://host:port or ssh://user@host[:port]). Default: $DOCKER_HOST, else the local socket. Other engines are declared in the file under [hosts.NAME].
    #[arg(long, value_name = "URL")]
    pub docker_host: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The fleet name to give the imported deckies (labels scope it).
    #[arg(long, value_name = "NAME", required_unless_present = "compose_file")]
    pub fleet: Option<String>,
    /// Not taken: import reads the engine, not a compose file (the command says what to do).
    #[arg(value_name = "FILE", hide = true)]
    pub compose_file: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Write to this file (never over an existing one) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// The docker-compose file that creates the same containers apply creates.
    ///
    /// Same names, labels, networks and addresses: after `docker-compose up -d`
    /// of it (a full redeploy by DECNET's own tooling), `deckhand plan` finds
    /// the containers matching. Bait files are not in it; `deckhand apply`
    /// drops them. JSON is YAML: docker-compose reads it as is.
    Compose(ExportComposeArgs),
    /// DECNET's state file (decnet-state.json), which its sniffer, collector
    /// and dashboard read the deckies from.
    ///
    /// Written atomically to --out, else to `[fleet] decnet_state`, else to
    /// standard output. `deckhand watch` keeps `[fleet] decnet_state` current.
    DecnetState(ExportDecnetStateArgs),
}

#[derive(Debug, Args)]
pub struct ExportDecnetStateArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Write to this file (atomically) instead of `[fleet] decnet_state` or standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportComposeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The engine whose part to export (see [hosts]); one compose file drives one engine.
    #[arg(long, value_name = "NAME", default_value = "local")]
    pub host: String,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The desired-state file, or a directory whose *.toml files together form it.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "PATH",
        default_value = "deckhand.toml"
    )]
    pub file: PathBuf,
}

/// How `status` and `validate` print: for a person, or one JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// The same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CanariesArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

impl CanariesArgs {
    pub fn json(&self) -> bool {
        self.format == ReportFormat::Json
    }
}

#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Exit 2 (not 1) when there are findings, so that 1 means an invalid file.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

impl ValidateArgs {
    pub fn json(&self) -> bool {
        self.json || self.format == ReportFormat::Json
    }
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// The same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Exit 2 when a container is missing or not running, or a bait file
    /// differs from the file; 0 when all is as the file says (1 stays an error).
    #[arg(long)]
    pub detailed_exitcode: bool,
}

impl StatusArgs {
    pub fn json(&self) -> bool {
        self.json || self.format == ReportFormat::Json
    }
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// For a pull-request comment: collapsible per decky, capped at 65,536 characters.
    Markdown,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Exit 2 when there are changes, 0 when there are none (1 stays an error).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan only this decky (repeatable). Fleet singletons are left alone.
    #[arg(long, value_name = "DECKY")]
    pub target: Vec<String>,
    /// Also save the plan, pinned to the config and the live state it was made
    /// from; `deckhand apply FILE` runs exactly it, or refuses if either changed.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Show what `apply --rotate-canaries` would do: new canaries for these
    /// deckies, as updates. Nothing is kept: apply issues them.
    #[arg(long, value_name = "DECKY", num_args = 1.., conflicts_with = "out")]
    pub rotate_canaries: Vec<String>,
    /// Plan against the desired state at TIME (RFC 3339, or +30m from now):
    /// what `[rotation]` will do then. Nothing is kept.
    #[arg(long, value_name = "TIME", conflicts_with = "out")]
    pub at: Option<String>,
    /// Plan what `deckhand destroy` would do: every container of the fleet (or
    /// of the --target deckies) removed.
    #[arg(long)]
    pub destroy: bool,
    /// With --destroy: remove the networks the file declares too.
    #[arg(long, requires = "destroy")]
    pub networks: bool,
    /// Plan replaces, restarts and restores of deckies with a live inbound
    /// session too (by default they are held until the session ends).
    #[arg(long)]
    pub force: bool,
}

/// What apply and destroy share: the config, the go-ahead, the scope.
impl PlanArgs {
    /// `--format`, or json with `--json`.
    pub fn format(&self) -> Format {
        match self.json {
            true => Format::Json,
            false => self.format,
        }
    }
}

#[derive(Debug, Args)]
pub struct ChangeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Go ahead without asking for `yes`. Required when standard input is not a terminal.
    #[arg(long)]
    pub auto_approve: bool,
    /// Only this decky (repeatable). Fleet singletons are left alone.
    #[arg(long, value_name = "DECKY")]
    pub target: Vec<String>,
    /// Print NDJSON events (plan, step, summary, error) instead of text; never
    /// prompts, so it needs --auto-approve or a PLANFILE.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub change: ChangeArgs,
    /// Also remove the networks the file declares (never done otherwise).
    #[arg(long)]
    pub networks: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `plan --out`: applied without asking, exactly as saved,
    /// and refused ("plan is stale") if the config or the live state changed
    /// since. --auto-approve is accepted with it and changes nothing.
    #[arg(value_name = "PLANFILE", conflicts_with_all = ["target", "file", "adopt"])]
    pub plan_file: Option<PathBuf>,
    #[command(flatten)]
    pub change: ChangeArgs,
    /// Take containers that DECNET's docker-compose made (see `deckhand import`)
    /// under management: those that match the file are kept as they are and
    /// recorded as deckhand's; the others may then be replaced. Without it,
    /// apply changes none of DECNET's containers.
    #[arg(long)]
    pub adopt: bool,
    /// Apply replaces, restarts and restores of deckies with a live inbound
    /// session too, ending it (by default they are held until it ends).
    #[arg(long, conflicts_with = "plan_file")]
    pub force: bool,
    /// Issue new canaries to these deckies (shown in the plan as updates);
    /// the rotation is kept in .deckhand/ once applied.
    #[arg(long, value_name = "DECKY", num_args = 1.., conflicts_with = "plan_file")]
    pub rotate_canaries: Vec<String>,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Seconds between passes that read every managed file back for drift.
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub interval: u64,
    /// Milliseconds to wait after a save (or a container event) for more
    /// before a pass: a burst of saves becomes one pass.
    #[arg(long, value_name = "MS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub debounce_ms: u64,
    /// Print what each pass would change instead of applying it.
    #[arg(long)]
    pub plan_only: bool,
    /// Print NDJSON events (pass, plan, step, summary, error) instead of log lines.
    #[arg(long)]
    pub json: bool,
    /// A pass that would destroy more than N deckies (a truncated save, a
    /// deleted file) destroys none of them, applies the rest, and waits for an
    /// operator's `deckhand apply`.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub max_destroy: usize,
}

/// How `graph` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// A mermaid flowchart.
    Mermaid,
    /// Graphviz's DOT language.
    Dot,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    pub format: GraphFormat,
}
