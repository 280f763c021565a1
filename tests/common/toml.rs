//! Pieces of test-fleet TOML shared by the test files, as macros that expand
//! to string literals, so that a file's config stays one `concat!` constant.
//! `{fleet}` and `{image}` are filled in by `Fleet::write`.

/// `[fleet]` named after the test, with the test image as every base's,
/// and any further lines given (`fleet_table!("on_drift = \"report\"")`).
/// A literal: in `format!`, pass it as an argument (its braces stay as they are).
#[macro_export]
macro_rules! fleet_table {
    ($($line:literal),* $(,)?) => {
        concat!("\n[fleet]\nname = \"{fleet}\"\nbase_image = \"{image}\"\n", $($line, "\n"),*)
    };
}

/// `[services.http]`: busybox httpd in the foreground on port 80.
#[macro_export]
macro_rules! http_service {
    () => {
        "\n[services.http]\nimage = \"{image}\"\ncommand = [\"httpd\", \"-f\", \"-p\", \"80\"]\nports = [80]\n"
    };
}

/// `[services.ssh]`: a stand-in that sleeps (bait files default to it).
#[macro_export]
macro_rules! ssh_service {
    () => {
        "\n[services.ssh]\nimage = \"{image}\"\ncommand = [\"sleep\", \"infinity\"]\n"
    };
}

/// `[services.sniffer]`: a fleet-wide singleton (list it in `[fleet] services`).
#[macro_export]
macro_rules! sniffer_singleton {
    () => {
        "\n[services.sniffer]\nimage = \"{image}\"\ncommand = [\"sleep\", \"infinity\"]\nsingleton = true\n"
    };
}
