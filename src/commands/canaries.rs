//! `deckhand canaries`: every canary of the fleet with its token, for the
//! alerting side. The only place a token is ever printed.

use std::process::ExitCode;

use serde_json::json;

use crate::canary::Canary;
use crate::cli::CanariesArgs;

pub fn run(args: &CanariesArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.config.file)?;
    let list = &generations(&loaded);
    if args.json() {
        let rows: Vec<_> = list.iter().map(|(c, current)| row(c, *current)).collect();
        say!("{}", crate::safe::json::to_string_pretty(&rows)?);
    } else if list.is_empty() {
        say!(
            "No canaries in fleet '{}'. Plant one with canary = \"aws\" on a file.",
            loaded.desired.fleet
        );
    } else {
        say!("{}", table(list));
    }
    Ok(ExitCode::SUCCESS)
}

/// Every generation of every canary, the current ones first, each with
/// whether it is current. An older generation may still be planted (an
/// apply that failed, was interrupted or held after its counter was kept)
/// or may have been copied away before its rotation: a hit on it is a hit.
/// Tokens are derived, so the older ones are made again, not stored.
fn generations(loaded: &crate::config::Loaded) -> Vec<(Canary, bool)> {
    let list = &loaded.canaries.list;
    let mut all: Vec<(Canary, bool)> = list.iter().map(|c| (c.clone(), true)).collect();
    let Some(seed) = &loaded.canaries.seed else {
        return all;
    };
    for c in list {
        let hostname = crate::desired::hostname_of(&loaded.desired.containers, &c.decky);
        let place = crate::canary::content::Place {
            fleet: &loaded.desired.fleet,
            decky: &c.decky,
            hostname: &hostname,
            path: &c.path,
        };
        for rotation in (0..c.rotation).rev() {
            all.push((
                crate::canary::planted(seed, c.kind, place, rotation).0,
                false,
            ));
        }
    }
    all
}

fn row(c: &Canary, current: bool) -> serde_json::Value {
    json!({
        "id": c.id,
        "kind": c.kind.as_str(),
        "decky": c.decky,
        "path": c.path,
        "rotation": c.rotation,
        "token": c.token.reveal(),
        "current": current,
    })
}

/// Columns id, kind, decky, path, token and `current` (`yes`, or `old`
/// for an older generation), padded to their widest cell.
fn table(list: &[(Canary, bool)]) -> String {
    let rows: Vec<[String; 6]> = list
        .iter()
        .map(|(c, current)| {
            let current = if *current { "yes" } else { "old" };
            // A path is the operator's, but printed to a terminal all the same.
            [
                &c.id,
                c.kind.as_str(),
                &c.decky,
                &c.path,
                c.token.reveal(),
                current,
            ]
            .map(|cell| crate::safe::escape(cell).into_owned())
        })
        .collect();
    let head = ["ID", "KIND", "DECKY", "PATH", "TOKEN", "CURRENT"].map(String::from);
    let mut width = [0usize; 6];
    for r in std::iter::once(&head).chain(&rows) {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |r: &[String; 6]| {
        let cells = r.iter().zip(width).map(|(c, w)| format!("{c:w$}"));
        cells.collect::<Vec<_>>().join("  ").trim_end().to_string()
    };
    std::iter::once(line(&head))
        .chain(rows.iter().map(line))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canary::Kind;

    #[test]
    fn the_table_escapes_its_cells() {
        let (c, _) = crate::canary::planted(
            &crate::craft::Seed::from_bytes(vec![1; 32]),
            Kind::Url,
            crate::canary::content::Place {
                fleet: "corp",
                decky: "web",
                hostname: "web",
                path: "/root/\u{1b}[2Jtodo\u{202e}.txt",
            },
            0,
        );
        let shown = table(&[(c.clone(), true)]);
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{202e}'),
            "{shown:?}"
        );
        assert!(shown.contains(c.token.reveal()), "{shown}");
    }
}
