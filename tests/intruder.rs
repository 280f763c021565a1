//! The intruder is root inside a decky (SPEC §8): whatever it writes reaches
//! the operator only escaped.

mod common;

use common::{docker, Fleet};

const CONFIG: &str = concat!(
    fleet_table!(),
    ssh_service!(),
    r#"
[deckies.{fleet}-a]
services = ["ssh"]

[deckies.{fleet}-a.files."/home/admin/.bash_history"]
content = "ls -la\n"

[deckies.{fleet}-a.files."/srv/old"]
content = "to be deleted\n"
"#
);

/// What an intruder writes to attack the operator's terminal: CSI (clear the
/// screen, erase the line above), OSC 52 (set the clipboard), an OSC 8 link,
/// DCS, 8-bit CSI, CR, BS, DEL, and a bidi override.
const CORPUS: &str = "\x1b[2J\x1b[1A\x1b[2K\x1b]52;c;cm0gLXJmIC8=\x07\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\\x1bP1$r\x1b\\\u{9b}31mNo changes.\r\x08\x7f\u{202e}txt.exe";

/// Every character that must never reach the terminal raw, found in `out`.
fn raw_controls(out: &str) -> Vec<char> {
    out.chars()
        .filter(|c| {
            (c.is_control() && *c != '\n' && *c != '\t')
                || ('\u{202a}'..='\u{202e}').contains(c)
                || ('\u{2066}'..='\u{2069}').contains(c)
        })
        .collect()
}

#[test]
fn an_intruders_escape_sequences_reach_no_plan_raw() {
    let fleet = Fleet::new("esc");
    fleet.write(CONFIG);
    fleet.apply();
    let ssh = fleet.n("a-ssh");
    let script = format!("printf '%s\\n' '{CORPUS}' >> /home/admin/.bash_history");
    docker(&["exec", &ssh, "sh", "-c", &script]);
    for format in ["text", "markdown"] {
        let plan = fleet.deckhand(&["plan", "--no-color", "--format", format]);
        assert_eq!(plan.code, 0, "{plan:?}");
        assert!(plan.stdout.contains("content changed"), "{plan:?}");
        assert_eq!(
            raw_controls(&plan.all()),
            Vec::<char>::new(),
            "{format}: {plan:?}"
        );
        for shown in [
            "\\x1b[2J",
            "\\x1b]52;c;",
            "\\x9b31m",
            "\\x0d",
            "\\x7f",
            "\\u202e",
        ] {
            assert!(
                plan.stdout.contains(shown),
                "{format} does not show {shown}: {plan:?}"
            );
        }
    }
    // JSON carries the bytes, escaped by JSON itself.
    let json = fleet.deckhand(&["plan", "--format", "json"]);
    let value: serde_json::Value =
        serde_json::from_str(&json.stdout).expect("the JSON plan parses");
    assert!(value.to_string().contains("\\u001b[2J"), "{json:?}");
    let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(raw_controls(&run.all()), Vec::<char>::new(), "{run:?}");
}

#[test]
fn an_intruders_rm_cannot_write_to_the_operators_terminal() {
    let fleet = Fleet::new("escrm");
    fleet.write(CONFIG);
    fleet.apply();
    // The intruder replaces rm with a program that prints an OSC title sequence.
    let ssh = fleet.n("a-ssh");
    let fake_rm = "rm /bin/rm && printf '#!/bin/sh\\nprintf \"\\\\033]0;pwned\\\\007\\\\033[2J gone\" >&2\\nexit 1\\n' > /bin/rm && chmod 755 /bin/rm";
    docker(&["exec", &ssh, "sh", "-c", fake_rm]);
    fleet.write(&CONFIG.replace(
        "[deckies.{fleet}-a.files.\"/srv/old\"]\ncontent = \"to be deleted\\n\"\n",
        "",
    ));
    let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("rm exited with status 1"), "{run:?}");
    assert!(run.stdout.contains("\\x1b]0;pwned\\x07"), "{run:?}");
    assert_eq!(raw_controls(&run.all()), Vec::<char>::new(), "{run:?}");
}
