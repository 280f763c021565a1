use std::process::ExitCode;

use crate::cli::ConfigArgs;
use crate::observe::observe;

use super::Context;

pub async fn run(ctx: &Context, args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.file)?;
    let engine = ctx.connect().await?;
    let desired = &loaded.desired;
    let live = observe(&engine, desired, &[]).await?;
    let style = ctx.style;

    let mut rows =
        vec![["DECKY", "CONTAINER", "ROLE", "STATE", "IMAGE", "PORTS"].map(String::from)];
    for spec in &desired.containers {
        let state = match live.containers.get(&spec.name) {
            None => "missing".to_string(),
            Some(c) if c.digest.as_deref() != Some(spec.digest().as_str()) => {
                format!("{} (outdated)", c.state)
            }
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
            spec.decky.clone().unwrap_or_else(|| "(fleet)".into()),
            spec.name.clone(),
            spec.role.as_str().into(),
            state,
            spec.image.clone(),
            ports,
        ]);
    }
    for c in live
        .containers
        .values()
        .filter(|c| desired.container(&c.name).is_none())
    {
        rows.push([
            c.decky.clone().unwrap_or_else(|| "(fleet)".into()),
            c.name.clone(),
            c.role.map(|r| r.as_str()).unwrap_or("?").into(),
            format!("{} (not in the file)", c.state),
            "-".into(),
            "-".into(),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for (n, row) in rows.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let line = line.join("  ").trim_end().to_string();
        say!("{}", if n == 0 { style.bold(&line) } else { line });
    }
    Ok(ExitCode::SUCCESS)
}
