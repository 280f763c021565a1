//! Services built from a context directory, on the real engine: built once,
//! not rebuilt while the context is unchanged, rebuilt and replaced when it
//! changes, and a failed build leaves the running service alone.

mod common;

use common::{cat, docker, Fleet};

struct Built<'a> {
    fleet: &'a Fleet,
    /// The service's name: the tag prefix of its images, unique to the test.
    service: String,
}

impl Built<'_> {
    fn images(&self) -> Vec<String> {
        let out = docker(&[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "deckhand-build",
        ]);
        let prefix = format!("deckhand-build:{}-", self.service);
        let mut tags: Vec<String> = out
            .lines()
            .filter(|t| t.starts_with(&prefix))
            .map(str::to_string)
            .collect();
        tags.sort();
        tags
    }

    fn write_context(&self, dockerfile: &str, banner: &str) {
        self.fleet
            .write_file("images/ssh/Dockerfile", dockerfile.as_bytes());
        self.fleet
            .write_file("images/ssh/banner", banner.as_bytes());
    }
}

impl Drop for Built<'_> {
    fn drop(&mut self) {
        for tag in self.images() {
            let _ = common::docker_try(&["rmi", "-f", &tag]);
        }
    }
}

#[test]
fn a_build_context_is_built_once_rebuilt_on_change_and_a_failed_build_keeps_the_service() {
    let fleet = Fleet::new("build");
    let built = Built {
        fleet: &fleet,
        service: fleet.name.clone(),
    };
    let dockerfile = format!("FROM {}\nCOPY banner /etc/banner\n", common::IMAGE);
    built.write_context(&dockerfile, "SSH-2.0-OpenSSH_8.9\n");
    fleet.write(&format!(
        r#"{fleet_table}
[services.{svc}]
build = "images/ssh"
command = ["sleep", "infinity"]

[services.http]
image = "{{image}}"
command = ["httpd", "-f", "-p", "80"]

[deckies.{{fleet}}-a]
services = ["{svc}", "http"]
"#,
        svc = built.service,
        fleet_table = fleet_table!(),
    ));
    let ssh = fleet.n(&format!("a-{}", built.service));

    let plan = fleet.plan();
    assert!(
        plan.stdout.contains("note: image deckhand-build:"),
        "{plan:?}"
    );
    assert!(plan.stdout.contains("is built from"), "{plan:?}");
    let run = fleet.apply();
    assert!(
        run.stdout.contains("Successfully built"),
        "build output is shown: {run:?}"
    );
    assert_eq!(built.images().len(), 1);
    assert_eq!(cat(&ssh, "/etc/banner"), b"SSH-2.0-OpenSSH_8.9\n");

    // Unchanged: no note, no build, no change.
    fleet.assert_no_changes();
    let first_image = built.images();
    let again = fleet.apply();
    assert!(!again.stdout.contains("building"), "{again:?}");
    assert_eq!(built.images(), first_image);

    // The context changes: the service is replaced with a rebuilt image; the
    // base and the other service are not touched.
    let before = fleet.containers();
    built.write_context(&dockerfile, "SSH-2.0-OpenSSH_9.6\n");
    let plan = fleet.plan();
    assert!(
        plan.stdout.contains(&format!("-/+ service {ssh}")),
        "{plan:?}"
    );
    assert!(
        plan.stdout.contains("image rebuilt: build context"),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 0 to change, 1 to replace, 0 to destroy."),
        "{plan:?}"
    );
    fleet.apply();
    assert_eq!(cat(&ssh, "/etc/banner"), b"SSH-2.0-OpenSSH_9.6\n");
    let after = fleet.containers();
    for name in [fleet.n("a"), fleet.n("a-http")] {
        assert_eq!(before[&name].id, after[&name].id, "{name} was recreated");
        assert_eq!(
            before[&name].started_at, after[&name].started_at,
            "{name} was restarted"
        );
    }
    assert_ne!(before[&ssh].id, after[&ssh].id);
    assert_eq!(built.images().len(), 2);
    fleet.assert_no_changes();

    // A Dockerfile that fails: apply exits 1 naming the build, and the
    // running service keeps its container.
    built.write_context(
        &format!("{dockerfile}COPY missing-file /x\n"),
        "SSH-2.0-OpenSSH_9.6\n",
    );
    let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("could not be built"), "{run:?}");
    assert!(
        run.stdout.contains("missing-file"),
        "the builder's reason is shown: {run:?}"
    );
    let kept = fleet.containers();
    assert_eq!(
        kept[&ssh].id, after[&ssh].id,
        "the old container was removed"
    );
    assert_eq!(kept[&ssh].status, "running");
}

#[test]
fn a_build_context_outside_the_config_tree_or_without_a_dockerfile_is_refused() {
    let fleet = Fleet::new("buildbad");
    fleet.write_file("images/empty/README", b"no Dockerfile here\n");
    fleet.write(concat!(
        fleet_table!(),
        r#"
[services.a]
build = "images/empty"

[services.b]
build = "/etc"

[services.c]
image = "{image}"
build = "images/empty"
"#,
    ));
    let run = fleet.deckhand(&["validate"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("has no Dockerfile"), "{run:?}");
    assert!(run.stderr.contains("outside"), "{run:?}");
    assert!(
        run.stderr.contains("service 'c' has both image and build"),
        "{run:?}"
    );
}

#[test]
fn build_args_pick_the_base_image_of_a_service_and_a_decky_base_is_built_too() {
    let fleet = Fleet::new("bargs");
    let built = Built {
        fleet: &fleet,
        service: fleet.name.clone(),
    };
    // DECNET's pattern: the distro is a build argument.
    let dockerfile = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG FLAVOUR\nENV FLAVOUR=${FLAVOUR}\n";
    fleet.write_file("images/ssh/Dockerfile", dockerfile.as_bytes());
    fleet.write_file("cloak/Dockerfile", dockerfile.as_bytes());
    let config = |flavour: &str| {
        format!(
            r#"{fleet_table}
[services.{svc}]
build = {{ context = "images/ssh", args = {{ BASE_IMAGE = "{{image}}", FLAVOUR = "{flavour}" }} }}
command = ["sleep", "infinity"]

[deckies.{{fleet}}-a]
services = ["{svc}"]
build = {{ context = "cloak", args = {{ BASE_IMAGE = "{{alt}}", FLAVOUR = "cloak" }} }}

# Another distro for this decky's service: its own args over the catalog's.
[deckies.{{fleet}}-b]
services = ["{svc}"]

[deckies.{{fleet}}-b.service_build.{svc}]
FLAVOUR = "jammy"
"#,
            svc = built.service,
            fleet_table = fleet_table!(),
        )
    };
    fleet.write(&config("bookworm"));
    fleet.apply();
    let (base, ssh) = (fleet.n("a"), fleet.n(&format!("a-{}", built.service)));
    let env = |name: &str| docker(&["inspect", "-f", "{{.Config.Env}}", name]);
    let ssh_b = fleet.n(&format!("b-{}", built.service));
    assert!(env(&ssh).contains("FLAVOUR=bookworm"), "{}", env(&ssh));
    assert!(env(&ssh_b).contains("FLAVOUR=jammy"), "{}", env(&ssh_b));
    assert!(env(&base).contains("FLAVOUR=cloak"), "{}", env(&base));
    assert_eq!(built.images().len(), 2, "one image per decky's arguments");
    let base_image = docker(&["inspect", "-f", "{{.Config.Image}}", &base]);
    let base_image = base_image.trim().to_string();
    assert!(
        base_image.starts_with("deckhand-build:base-"),
        "{base_image}"
    );
    fleet.assert_no_changes();

    // Another catalog argument: another tag for a's service, which (only) is
    // replaced; b's own FLAVOUR still wins there.
    let before = fleet.containers();
    fleet.write(&config("trixie"));
    let plan = fleet.plan();
    assert!(plan.stdout.contains("image rebuilt"), "{plan:?}");
    assert!(
        plan.stdout.contains("0 to add, 0 to change, 1 to replace"),
        "{plan:?}"
    );
    fleet.apply();
    assert!(env(&ssh).contains("FLAVOUR=trixie"), "{}", env(&ssh));
    assert_eq!(before[&base].id, fleet.containers()[&base].id);
    assert_eq!(before[&ssh_b].id, fleet.containers()[&ssh_b].id);
    assert_eq!(built.images().len(), 3, "one image per set of arguments");
    fleet.assert_no_changes();
    drop(built);
    drop(fleet);
    let _ = common::docker_try(&["rmi", "-f", &base_image]);
}
