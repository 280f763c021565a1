use std::process::ExitCode;

use crate::cli::ConfigArgs;
use crate::desired::{ContainerSpec, DesiredState, Role};
use crate::fleet::Pass;
use crate::live::{LiveContainer, LiveState, Origin};
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

pub async fn run(ctx: &Context, args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.file)?;
    let mut pass = Pass::open(&loaded.desired, &loaded.hosts, &ctx.pass(&[], false)).await;
    if let Some(f) = pass.sole_failure() {
        return Err(f.into());
    }
    let mut rows = vec![HEADER.map(String::from)];
    for p in &pass.planned {
        rows.extend(site_rows(&p.site.host.name, &p.site.desired, &p.live));
    }
    if !pass.several {
        // One engine: no HOST column.
        for row in &mut rows {
            row.rotate_left(1);
        }
    }
    print_table(&rows, if pass.several { 8 } else { 7 }, ctx.style);
    for f in &pass.failures {
        eprintln!("error: {}", steps::failure(f, pass.several));
    }
    Ok(if pass.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One row per desired container, then one per live container no longer desired.
fn site_rows(host: &str, desired: &DesiredState, live: &LiveState) -> Vec<[String; 8]> {
    let mut rows = Vec::new();
    for spec in &desired.containers {
        let state = match live.containers.get(&spec.name) {
            None => "missing".to_string(),
            Some(c) if c.digest.as_deref() != Some(spec.digest().as_str()) => {
                format!("{} (outdated)", c.state)
            }
            Some(c) if c.origin == Origin::Decnet => format!("{} (DECNET's, not adopted)", c.state),
            Some(c) => c.state.clone(),
        };
        let ports = if spec.ports.is_empty() {
            "-".to_string()
        } else {
            spec.ports
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        rows.push([
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
            ports,
            networks(spec, live.containers.get(&spec.name)),
        ]);
    }
    for c in live
        .containers
        .values()
        .filter(|c| desired.container(&c.name).is_none())
    {
        rows.push([
            host.to_string(),
            c.decky.clone().unwrap_or_else(|| "(fleet)".into()),
            c.name.clone(),
            c.role.map(|r| r.as_str()).unwrap_or("?").into(),
            format!("{} (not in the file)", c.state),
            "-".into(),
            "-".into(),
            "-".into(),
        ]);
    }
    rows
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
