use std::process::ExitCode;

use crate::cli::StatusArgs;
use crate::desired::{ContainerSpec, DesiredState, Role};
use crate::fleet::Pass;
use crate::live::{LiveContainer, LiveState, Origin};
use crate::plan::{Action, Object, Plan};
use crate::render::steps;
use crate::render::style::Style;

use super::Context;

const HEADER: [&str; 8] = [
    "HOST",
    "DECKY",
    "CONTAINER",
    "ROLE",
    "STATE",
    "IMAGE",
    "PORTS",
    "NETWORKS",
];

/// One container as status shows it. `healthy` is false for a desired
/// container that is missing or not running.
struct Row {
    cells: [String; 8],
    healthy: bool,
}

/// A bait file that differs from the file: where, and how.
struct Bait {
    host: String,
    container: String,
    path: String,
    what: String,
}

pub async fn run(ctx: &Context, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.config.file)?;
    let mut pass = Pass::open(loaded.desired.clone(), &loaded.hosts, &ctx.pass(&[], false)).await;
    if let Some(f) = pass.sole_failure() {
        return Err(super::refusal::sole(f));
    }
    let mut rows = Vec::new();
    for p in &pass.planned {
        rows.extend(site_rows(&p.site.host.name, &p.site.desired, &p.live));
    }
    // A missing container's files are shown by its row, not as baits.
    let missing: Vec<&str> = rows
        .iter()
        .filter(|r| r.cells[4] == "missing")
        .map(|r| r.cells[2].as_str())
        .collect();
    let mut baits = baits(&pass.plan());
    baits.retain(|b| !missing.contains(&b.container.as_str()));
    match args.json() {
        true => say!("{}", to_json(&pass.fleet, &rows, &baits)),
        false => print_text(&rows, &baits, pass.several, ctx.style),
    }
    for f in &pass.failures {
        eprintln!("error: {}", steps::failure(f, pass.several));
    }
    let differs = rows.iter().any(|r| !r.healthy) || !baits.is_empty();
    Ok(
        match (pass.failures.is_empty(), args.detailed_exitcode && differs) {
            (false, _) => ExitCode::from(1),
            (true, true) => ExitCode::from(2),
            (true, false) => ExitCode::SUCCESS,
        },
    )
}

fn print_text(rows: &[Row], baits: &[Bait], several: bool, style: Style) {
    let mut table = vec![HEADER.map(String::from)];
    table.extend(rows.iter().map(|r| r.cells.clone()));
    if !several {
        // One engine: no HOST column.
        for row in &mut table {
            row.rotate_left(1);
        }
    }
    print_table(&table, if several { 8 } else { 7 }, style);
    if baits.is_empty() {
        return;
    }
    say!("\n{}", style.bold("Bait files that differ from the file:"));
    for b in baits {
        let on = steps::on_host(&b.host, several);
        let line = format!("  {on}{}:{}: {}", b.container, b.path, b.what);
        say!("{}", crate::render::safe::escape(&line));
    }
}

/// Every file change the plan would make, and every drift left as found.
fn baits(plan: &Plan) -> Vec<Bait> {
    let mut out: Vec<Bait> = plan
        .changes
        .iter()
        .filter_map(|c| match &c.object {
            Object::File {
                container, path, ..
            } => Some(Bait {
                host: c.host.clone(),
                container: container.clone(),
                path: path.clone(),
                what: format!("{} ({})", c.reasons.join("; "), apply_would(c.action)),
            }),
            _ => None,
        })
        .collect();
    out.extend(plan.drift.iter().map(|d| Bait {
        host: d.host.clone(),
        container: d.container.clone(),
        path: d.path.clone(),
        what: format!(
            "{} (left as found: on_drift = \"report\")",
            d.what.join("; ")
        ),
    }));
    out
}

/// What apply would do about a file, in words.
fn apply_would(action: Action) -> &'static str {
    match action {
        Action::Create => "apply creates it",
        Action::Delete => "apply deletes it",
        _ => "apply restores it",
    }
}

fn to_json(fleet: &str, rows: &[Row], baits: &[Bait]) -> serde_json::Value {
    let containers: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let c = &r.cells;
            serde_json::json!({
                "host": c[0], "decky": c[1], "container": c[2], "role": c[3],
                "state": c[4], "image": c[5], "ports": c[6], "networks": c[7],
                "healthy": r.healthy,
            })
        })
        .collect();
    let baits: Vec<serde_json::Value> = baits
        .iter()
        .map(|b| serde_json::json!({"host": b.host, "container": b.container, "path": b.path, "what": b.what}))
        .collect();
    serde_json::json!({
        "format_version": 1,
        "fleet": fleet,
        "containers": containers,
        "baits": baits,
    })
}

/// One row per desired container, then one per live container no longer desired.
fn site_rows(host: &str, desired: &DesiredState, live: &LiveState) -> Vec<Row> {
    let mut rows: Vec<Row> = desired
        .containers
        .iter()
        .map(|spec| desired_row(host, spec, live))
        .collect();
    for c in live
        .containers
        .values()
        .filter(|c| desired.container(&c.name).is_none())
    {
        let cells = [
            host.to_string(),
            c.decky.clone().unwrap_or_else(|| "(fleet)".into()),
            c.name.clone(),
            c.role.map(|r| r.as_str()).unwrap_or("?").into(),
            format!("{} (not in the file)", c.state),
            "-".into(),
            "-".into(),
            "-".into(),
        ];
        rows.push(Row {
            cells,
            healthy: true,
        });
    }
    rows
}

/// The row of a container the file wants, as `live` has it.
fn desired_row(host: &str, spec: &ContainerSpec, live: &LiveState) -> Row {
    let found = live.containers.get(&spec.name);
    let healthy = found.is_some_and(|c| c.state == "running");
    let state = match found {
        None => "missing".to_string(),
        Some(c) if c.digest.as_deref() != Some(spec.digest().as_str()) => {
            format!("{} (outdated)", c.state)
        }
        Some(c) if c.origin == Origin::Decnet => format!("{} (DECNET's, not adopted)", c.state),
        Some(c) => c.state.clone(),
    };
    let ports: Vec<String> = spec.ports.iter().map(u16::to_string).collect();
    let cells = [
        host.to_string(),
        spec.decky.clone().unwrap_or_else(|| "(fleet)".into()),
        spec.name.clone(),
        // A base's persona is its disguise: shown beside its role.
        match &spec.settings.persona {
            Some(p) => format!("{} ({p})", spec.role.as_str()),
            None => spec.role.as_str().to_string(),
        },
        state,
        spec.image.clone(),
        match ports.is_empty() {
            true => "-".to_string(),
            false => ports.join(","),
        },
        networks(spec, found),
    ];
    Row { cells, healthy }
}

/// The networks a base or singleton is on, with the address asked for on
/// each: as live, else as the file has them; `-` for a service (it shares its base's).
fn networks(spec: &ContainerSpec, live: Option<&LiveContainer>) -> String {
    let joins = match live {
        _ if spec.role == Role::Service => return "-".into(),
        Some(c) => c.lans.clone(),
        None => spec.joins(),
    };
    let shown: Vec<String> = joins
        .iter()
        .map(|(net, ip)| match ip.as_str() {
            "" => net.clone(),
            ip => format!("{net} {ip}"),
        })
        .collect();
    shown.join(", ")
}

fn print_table(rows: &[[String; 8]], columns: usize, style: Style) {
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for (n, row) in rows.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .take(columns)
            .zip(&widths)
            // Names and states come from the engine: shown escaped.
            .map(|(cell, w)| format!("{:<w$}", crate::render::safe::escape(cell)))
            .collect();
        let line = line.join("  ").trim_end().to_string();
        say!("{}", if n == 0 { style.bold(&line) } else { line });
    }
}
