//! `deckhand canaries`: every canary of the fleet with its token, for the
//! alerting side. The only place a token is ever printed.

use std::process::ExitCode;

use serde_json::json;

use crate::canary::Canary;
use crate::cli::CanariesArgs;

pub fn run(args: &CanariesArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.config.file)?;
    let list = &loaded.canaries.list;
    if args.json() {
        let rows: Vec<_> = list.iter().map(row).collect();
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

fn row(c: &Canary) -> serde_json::Value {
    json!({
        "id": c.id,
        "kind": c.kind.as_str(),
        "decky": c.decky,
        "path": c.path,
        "rotation": c.rotation,
        "token": c.token.reveal(),
    })
}

/// Columns id, kind, decky, path, token, padded to their widest cell.
fn table(list: &[Canary]) -> String {
    let rows: Vec<[String; 5]> = list
        .iter()
        .map(|c| {
            // A path is the operator's, but printed to a terminal all the same.
            [&c.id, c.kind.as_str(), &c.decky, &c.path, c.token.reveal()]
                .map(|cell| crate::safe::escape(cell).into_owned())
        })
        .collect();
    let head = ["ID", "KIND", "DECKY", "PATH", "TOKEN"].map(String::from);
    let mut width = [0usize; 5];
    for r in std::iter::once(&head).chain(&rows) {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |r: &[String; 5]| {
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
        let shown = table(&[c.clone()]);
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{202e}'),
            "{shown:?}"
        );
        assert!(shown.contains(c.token.reveal()), "{shown}");
    }
}
