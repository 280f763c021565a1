//! The realism lint (SPEC §11), offline: a fleet built to give itself away
//! is caught on every kind of giveaway; the quickstart fleet gives none.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::deckhand_in;

/// Every giveaway the lint knows, each planted once on purpose.
const GIVEAWAY: &str = r#"
[fleet]
name = "lintgiveaway"
base_image = "busybox:1.36"

[networks.mv]
driver = "macvlan"
parent = "eth0"
subnet = "10.99.0.0/24"

[services.ssh]
image = "busybox:1.36"
env = { SSH_BANNER = "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6" }

# persona windows_server, banner Ubuntu: identity-mismatch
[deckies.web-01]
services = ["ssh"]
network = "mv"
persona = "windows_server"

# both on macvlan mv: same-mac-vendor
[deckies.web-02]
services = []
network = "mv"
hostname = "debian-web"

# one motd, one mtime on both deckies: same-content, same-mtime
[deckies.web-01.files."/etc/motd"]
content = "Welcome to ACME web services\n"
mtime = "2024-03-01T08:00:00Z"

[deckies.web-02.files."/etc/motd"]
content = "Welcome to ACME web services\n"
mtime = "2024-03-01T08:00:00Z"

# root's file in bob's home: root-in-home
[deckies.web-02.files."/home/bob/.ssh/authorized_keys"]
content = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx bob@laptop\n"
mtime_offset = "-9d"

# three logs written at one moment: one-mtime
[deckies.web-02.files."/var/log/app/a.log"]
content = "started a\n"
mtime_offset = "-2d"

[deckies.web-02.files."/var/log/app/b.log"]
content = "started b\n"
mtime_offset = "-2d"

[deckies.web-02.files."/var/log/app/c.log"]
content = "started c\n"
mtime_offset = "-2d"
"#;

fn lint(dir: &Path, extra: &[&str]) -> common::Run {
    let mut args = vec!["lint", "--no-color"];
    args.extend(extra);
    deckhand_in(dir, &args, &[])
}

fn fleet(toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deckhand.toml"), toml).unwrap();
    dir
}

#[test]
fn a_fleet_built_to_give_itself_away_is_caught_on_every_kind() {
    let dir = fleet(GIVEAWAY);
    let run = lint(dir.path(), &["--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let has = |kind: &str, decky: &str, file: Option<&str>| {
        findings.iter().any(|f| {
            f["kind"] == kind
                && f["decky"] == decky
                && f["file"].as_str() == file
                && !f["fix"].as_str().unwrap().is_empty()
        })
    };
    let expected = [
        ("same-content", "web-01", Some("/etc/motd")),
        ("same-content", "web-02", Some("/etc/motd")),
        ("same-mtime", "web-01", Some("/etc/motd")),
        ("same-mtime", "web-02", Some("/etc/motd")),
        ("one-mtime", "web-02", Some("/var/log/app/a.log")),
        (
            "root-in-home",
            "web-02",
            Some("/home/bob/.ssh/authorized_keys"),
        ),
        ("identity-mismatch", "web-01", None),
        ("same-mac-vendor", "web-01", None),
        ("same-mac-vendor", "web-02", None),
    ];
    for (kind, decky, file) in expected {
        assert!(
            has(kind, decky, file),
            "no {kind} for {decky} {file:?}:\n{run:?}"
        );
    }
    // Only what was planted: bob's key is not in several deckies, web-02's
    // hostname says Debian and nothing there says otherwise.
    assert_eq!(findings.len(), expected.len(), "{run:?}");

    let text = lint(dir.path(), &[]);
    assert_eq!(text.code, 1, "{text:?}");
    assert!(text.stdout.contains("decky web-02, file /home/bob/.ssh/authorized_keys: root-in-home: owned by root in bob's home"), "{text:?}");
    assert!(
        text.stdout.contains("/home/bob and /home/bob/.ssh"),
        "{text:?}"
    );
    assert!(
        text.stdout
            .contains("persona windows_server says Windows, but SSH_BANNER"),
        "{text:?}"
    );
    assert!(text.stdout.contains("  fix: "), "{text:?}");
    assert!(
        text.stdout.contains("9 finding(s) in fleet 'lintgiveaway'"),
        "{text:?}"
    );
    assert_eq!(lint(dir.path(), &["--detailed-exitcode"]).code, 2);

    let validate = deckhand_in(dir.path(), &["validate"], &[]);
    assert_eq!(validate.code, 0, "{validate:?}");
    assert!(
        validate.stderr.contains("9 realism finding(s)")
            && validate.stderr.contains("deckhand lint"),
        "{validate:?}"
    );
}

const WEB_01_ON_MV: &str = "services = [\"ssh\"]\nnetwork = \"mv\"";
const WEB_02_ON_MV: &str = "services = []\nnetwork = \"mv\"";

#[test]
fn deckies_whose_mac_addresses_share_a_vendor_prefix_are_named() {
    let same_vendor = GIVEAWAY
        .replace(
            WEB_01_ON_MV,
            &format!("{WEB_01_ON_MV}\nmac_address = \"00:15:5d:01:02:03\""),
        )
        .replace(
            WEB_02_ON_MV,
            &format!("{WEB_02_ON_MV}\nmac_address = \"00:15:5D:0a:0b:0c\""),
        );
    let dir = fleet(&same_vendor);
    let run = lint(dir.path(), &[]);
    assert_eq!(run.code, 1, "{run:?}");
    let named: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("same-mac-vendor"))
        .collect();
    assert_eq!(named.len(), 2, "{run:?}");
    assert!(
        named.iter().all(|l| l.contains("prefix 00:15:5d")),
        "{named:?}"
    );
}

#[test]
fn each_fix_named_by_the_lint_makes_its_finding_go() {
    let fixed = GIVEAWAY
        .replace("persona = \"windows_server\"", "persona = \"linux\"")
        .replace(WEB_01_ON_MV, &format!("{WEB_01_ON_MV}\nmac_address = \"00:15:5d:01:02:03\""))
        .replace(WEB_02_ON_MV, &format!("{WEB_02_ON_MV}\nmac_address = \"52:54:00:12:34:56\""))
        .replace("content = \"Welcome to ACME web services\\n\"\nmtime = \"2024-03-01T08:00:00Z\"\n\n# root", "content = \"Welcome to {hostname}\\n\"\ntemplate = true\nmtime = \"2024-02-11T17:20:00Z\"\n\n# root")
        .replace("mtime_offset = \"-9d\"", "mtime_offset = \"-9d\"\nowner = \"1001:1001\"")
        .replacen("mtime_offset = \"-2d\"", "mtime_offset = \"-3d\"", 1)
        .replacen("mtime_offset = \"-2d\"", "mtime_offset = \"-30h\"", 1);
    let dir = fleet(&fixed);
    let run = lint(dir.path(), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("No giveaways found in fleet 'lintgiveaway'."),
        "{run:?}"
    );
}

#[test]
fn the_quickstart_fleet_gives_nothing_away() {
    let dir = tempfile::tempdir().unwrap();
    let quickstart = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    let copy = std::process::Command::new("cp")
        .args(["-r", &format!("{}/.", quickstart.display())])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(copy.success());
    let seed = dir.path().join(".deckhand/seed");
    std::fs::create_dir_all(seed.parent().unwrap()).unwrap();
    std::fs::write(&seed, [0x33; 32]).unwrap();
    std::fs::set_permissions(&seed, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = lint(dir.path(), &["--format", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["fleet"], "quickstart");
    assert_eq!(v["findings"], serde_json::json!([]), "{run:?}");
}
