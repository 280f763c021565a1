use std::io::{BufRead, Write};
use std::process::ExitCode;

use crate::cli::ApplyArgs;
use crate::config::Loaded;
use crate::fleet::{FleetReport, Pass};
use crate::interrupt::Interrupt;
use crate::plan::Plan;
use crate::render::run::{RunView, Verb};
use crate::render::view::Look;
use crate::render::{self, steps};
use crate::saved::{self, SavedPlan};
use crate::stale;

use super::refusal::{self, Refusal};
use super::Context;

/// How apply gets the go-ahead.
pub enum Approval {
    /// Ask for `yes` on the terminal.
    Ask,
    /// `--auto-approve`.
    Given,
    /// A saved plan: run it if it is exactly what was saved.
    Saved(Box<SavedPlan>),
    /// No terminal to ask on, and no `--auto-approve`: refused.
    Refused,
}

/// What one apply (or destroy) was asked to do, lowered from its flags.
pub struct Request {
    pub config: std::path::PathBuf,
    pub targets: Vec<String>,
    pub approval: Approval,
    /// `--adopt`: take DECNET's containers under management.
    pub adopt: bool,
    /// `destroy` (or a saved `plan --destroy`): plan the deckies in scope away.
    pub destroy: bool,
    /// `destroy --networks`: remove the networks the file declares too.
    pub networks: bool,
    /// `--json`: NDJSON events instead of text.
    pub json: bool,
    /// `--force`: changes held by a live session are applied too.
    pub force: bool,
    /// `--rotate-canaries`: the deckies that get new canaries.
    pub rotate: Vec<String>,
}

pub async fn run(ctx: &Context, args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let fleet = Fleet::new();
    in_json(args.change.json, &fleet, async {
        let request = lower(ctx, args)?;
        execute(ctx, &request, &fleet).await
    })
    .await
}

/// The name of the fleet a run works on, once its configuration has loaded
/// (an error event names it; the file is not read again for that).
pub type Fleet = std::cell::OnceCell<String>;

/// With `--json`, an error that ends the run is an `error` event of `fleet`
/// (empty when the configuration did not load), with the refusal's exit code.
pub async fn in_json(
    json: bool,
    fleet: &Fleet,
    run: impl std::future::Future<Output = anyhow::Result<ExitCode>>,
) -> anyhow::Result<ExitCode> {
    match (run.await, json) {
        (Err(e), true) => {
            let fleet = fleet.get().map_or("", String::as_str);
            crate::render::events_json::emit(refusal::event(&e, fleet));
            Ok(ExitCode::from(refusal::exit_code(&e)))
        }
        (result, _) => result,
    }
}

impl Request {
    /// A destroy (or a saved `plan --destroy`) says destroy, not apply.
    pub fn verb(&self) -> Verb {
        match self.destroy {
            true => Verb::Destroy,
            false => Verb::Apply,
        }
    }
}

/// The flags of `apply`, lowered into a request.
fn lower(ctx: &Context, args: &ApplyArgs) -> anyhow::Result<Request> {
    Ok(match &args.plan_file {
        Some(file) => {
            let saved = SavedPlan::read(file)?;
            Request {
                config: saved.config.clone(),
                targets: saved.targets.clone(),
                destroy: saved.destroy,
                networks: saved.networks,
                adopt: false,
                approval: Approval::Saved(Box::new(saved)),
                json: args.change.json,
                force: false,
                rotate: vec![],
            }
        }
        None => Request {
            config: args.change.config.file.clone(),
            targets: args.change.target.clone(),
            approval: approval(ctx, args.change.auto_approve, args.change.json),
            adopt: args.adopt,
            destroy: false,
            networks: false,
            json: args.change.json,
            force: args.force,
            rotate: args.rotate_canaries.clone(),
        },
    })
}

/// `--auto-approve`, else a terminal to ask on, else refused (once the
/// configuration names the fleet). `--json` never prompts.
pub fn approval(ctx: &Context, auto_approve: bool, json: bool) -> Approval {
    match (auto_approve, ctx.interactive && !json) {
        (true, _) => Approval::Given,
        (false, true) => Approval::Ask,
        (false, false) => Approval::Refused,
    }
}

/// Loads, checks a saved plan's config, then runs the locked pass and always
/// releases its locks.
pub async fn execute(ctx: &Context, request: &Request, fleet: &Fleet) -> anyhow::Result<ExitCode> {
    let mut loaded = super::load(&request.config)?;
    let _ = fleet.set(loaded.desired.fleet.clone());
    match &request.approval {
        Approval::Saved(saved) => check_config(&loaded, saved, &request.config)?,
        Approval::Refused => {
            let (verb, json) = (request.verb(), request.json);
            return Err(Refusal::NoApproval { verb, json }.into());
        }
        Approval::Ask | Approval::Given => {}
    }
    let outside = request
        .rotate
        .iter()
        .find(|d| !request.targets.is_empty() && !request.targets.contains(d));
    if let Some(d) = outside {
        anyhow::bail!("--rotate-canaries {d}: the decky is not among the --target deckies, so its new canaries would not be planted; nothing was changed\n  help: add --target {d}, or leave it out of --rotate-canaries");
    }
    let rotated = crate::canary::rotate(&mut loaded, &request.rotate)?;
    let aim = super::Aim {
        targets: &request.targets,
        destroy: request.destroy,
        networks: request.networks,
        force: request.force,
    };
    let mut pass = super::open_pass(ctx, &loaded, &aim, true).await;
    let kept = match request.destroy {
        true => kept_dirs(&loaded, &request.targets),
        false => Vec::new(),
    };
    let result = locked(ctx, request, &mut pass, (&kept, rotated.as_ref())).await;
    let released = pass.release().await;
    let code = result?;
    released?;
    Ok(code)
}

fn check_config(
    loaded: &Loaded,
    saved: &SavedPlan,
    config: &std::path::Path,
) -> anyhow::Result<()> {
    let digest = saved::desired_digest(&loaded.inputs).ok();
    if digest.as_deref() != Some(saved.desired_digest.as_str()) {
        let changed = stale::input_changes(&saved.inputs, &stale::input_digests(&loaded.inputs));
        return Err(Refusal::StaleConfig {
            config: config.to_path_buf(),
            changed,
        }
        .into());
    }
    Ok(())
}

/// What a destroy leaves on disk on purpose: the evidence directory and the
/// host directories the deckies in scope mount (DECNET's artifacts). They
/// are evidence; only an operator removes them.
fn kept_dirs(loaded: &Loaded, targets: &[String]) -> Vec<String> {
    let mut kept = vec![loaded.desired.evidence.dir.display().to_string()];
    let in_scope = |c: &&std::sync::Arc<crate::desired::ContainerSpec>| {
        targets.is_empty() || c.decky.as_ref().is_some_and(|d| targets.contains(d))
    };
    for c in loaded.desired.containers.iter().filter(in_scope) {
        for v in &c.settings.volumes {
            let source = v.split(':').next().unwrap_or_default();
            if source.starts_with('/') && !kept.iter().any(|k| k == source) {
                kept.push(source.to_string());
            }
        }
    }
    kept
}

/// The line that says what a destroy kept, and why.
pub fn kept_line(kept: &[String]) -> String {
    format!(
        "Kept as evidence (destroy never removes them; delete them yourself when no longer needed): {}",
        kept.join(", ")
    )
}

async fn locked(
    ctx: &Context,
    request: &Request,
    pass: &mut Pass,
    (kept, rotated): (&[String], Option<&crate::canary::Rotations>),
) -> anyhow::Result<ExitCode> {
    if let Some(f) = pass.sole_failure() {
        return Err(refusal::sole(f));
    }
    let plan = pass.plan();
    if let Approval::Saved(saved) = &request.approval {
        check_live(pass, &plan, saved)?;
    }
    let view = view(ctx, request, pass);
    show(&view, request, pass, &plan);
    let touched = pass.decnet_touched();
    if !request.adopt && !touched.is_empty() {
        let touched = touched.into_iter().map(str::to_string).collect();
        return Err(Refusal::DecnetMade { touched }.into());
    }
    if !plan.has_work() && (!request.adopt || pass.decnet_in_scope() == 0) {
        if request.json {
            view.summary(&FleetReport::default(), &pass.failures);
        }
        return Ok(exit_code(pass.failures.is_empty()));
    }
    if matches!(request.approval, Approval::Ask) && !confirm(request.verb(), &pass.fleet)? {
        let title = request.verb().title();
        view.say(&format!("{title} cancelled; nothing was changed."));
        return Ok(ExitCode::from(1));
    }
    view.say("");
    // Kept before the new canaries are planted: a token once planted is
    // one the alerting side must know. Should the apply then fail or stop,
    // `deckhand canaries` still lists the older generations (not current).
    if let Some(r) = rotated {
        r.save()?;
    }
    let interrupt = Interrupt::on_signals()?;
    let report = pass
        .apply(request.adopt, |_| true, view.sink(), &interrupt)
        .await;
    if request.destroy && request.targets.is_empty() && report.failed() == 0 {
        remove_records(pass, &view).await;
    }
    view.summary(&report, &pass.failures);
    if !kept.is_empty() {
        view.say(&kept_line(kept));
    }
    Ok(exit_code(report.failed() == 0 && pass.failures.is_empty()))
}

/// The view of this run: text for a person, or events with `--json`.
fn view(ctx: &Context, request: &Request, pass: &Pass) -> RunView {
    match request.json {
        true => RunView::Json {
            fleet: pass.fleet.clone(),
        },
        false => RunView::Text {
            look: Look {
                style: ctx.style,
                several: pass.several,
            },
            verb: request.verb(),
            stamped: false,
        },
    }
}

/// What the run found before it asks: locks taken over, the plan (or that
/// nothing is left to destroy), the engines that could not be planned.
fn show(view: &RunView, request: &Request, pass: &Pass, plan: &Plan) {
    for (host, held) in &pass.taken_over {
        eprintln!("{}", steps::taken_over(host, held, pass.several));
    }
    match request.destroy && !plan.has_work() && plan.degraded.is_empty() {
        true if !request.json => view.say(&super::nothing_to_destroy(&plan.fleet)),
        _ => view.plan(plan),
    }
    for f in &pass.failures {
        view.failure(f);
    }
}

/// A saved plan runs only when every engine it covers looks as it did then.
fn check_live(pass: &Pass, plan: &Plan, saved: &SavedPlan) -> anyhow::Result<()> {
    let fleet = &pass.fleet;
    if !pass.failures.is_empty() {
        for f in &pass.failures {
            eprintln!("error: {}", steps::failure(f, pass.several));
        }
        let fleet = fleet.clone();
        return Err(Refusal::StaleHosts { fleet }.into());
    }
    if saved::hosts_fingerprint(&pass.lives()) != saved.live_fingerprint
        || render::json::to_value(plan) != saved.plan
    {
        let changed = stale::changes(&saved.live, &stale::hosts_facts(&pass.lives()));
        let fleet = fleet.clone();
        return Err(Refusal::StaleLive { fleet, changed }.into());
    }
    Ok(())
}

/// The fleet is gone: its record goes too (the lock goes on release).
async fn remove_records(pass: &Pass, view: &RunView) {
    for p in &pass.planned {
        let host = steps::on_host(&p.site.host.name, pass.several);
        match crate::record::remove_all(&p.site.engine, &pass.fleet).await {
            Ok(0) => {}
            Ok(_) => view.say(&format!(
                "{host}removed the file record of fleet '{}'",
                pass.fleet
            )),
            Err(e) => view.error(&format!("{host}cannot remove the file record: {e}")),
        }
    }
}

fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The question a run asks before it changes anything.
pub fn question(verb: Verb, fleet: &str) -> String {
    match verb {
        Verb::Apply => "Do you want to perform these actions? Only 'yes' will be accepted: ".into(),
        Verb::Destroy => format!("Do you really want to destroy the containers above of fleet '{fleet}'? There is no undo (evidence directories are kept). Only 'yes' will be accepted: "),
    }
}

fn confirm(verb: Verb, fleet: &str) -> anyhow::Result<bool> {
    print!("\n{}", question(verb, fleet));
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destroy_asks_its_own_question() {
        assert_eq!(
            question(Verb::Destroy, "corp"),
            "Do you really want to destroy the containers above of fleet 'corp'? There is no undo (evidence directories are kept). Only 'yes' will be accepted: "
        );
        assert_eq!(
            question(Verb::Apply, "corp"),
            "Do you want to perform these actions? Only 'yes' will be accepted: "
        );
    }
}
