//! The text view of an apply: each executor event as a line, and the end of
//! the run. Apply and watch both draw through it.

use super::run::Verb;
use super::safe;
use super::text;
use super::view::Look;
use crate::apply::{Event, Outcome, Report, Status, StepError};
use crate::fleet::{FleetReport, HostFailure};
use crate::plan::Action;

/// `host edge: ` when the fleet spans several engines, else nothing.
pub fn on_host(host: &str, several: bool) -> String {
    if several {
        format!("host {host}: ")
    } else {
        String::new()
    }
}

/// An engine's failure as a line: `host edge: cannot reach …` (host named only with several).
pub fn failure(f: &HostFailure, several: bool) -> String {
    let message = f.failure.to_string();
    format!(
        "{}{}",
        on_host(&f.host, several),
        safe::escape_lines(&message)
    )
}

/// A lock taken over from a process gone from this host, as a warning.
pub fn taken_over(host: &str, held: &crate::lock::Held, several: bool) -> String {
    format!(
        "warning: {}taking over the lock of fleet '{}' left by {} since {}: that process is gone",
        on_host(host, several),
        held.fleet,
        held.holder,
        held.since
    )
}

/// The line an event is drawn as; `None` for events the text view leaves out.
pub fn event_line(event: &Event, look: Look) -> Option<String> {
    let Look { style, several } = look;
    match event {
        Event::Started(_) => None,
        Event::Evidence {
            container, kept, ..
        } => {
            let mut what = match &kept.sha256 {
                Some(sha) => format!("{} bytes, sha256 {}", kept.size, &sha[..12]),
                None => "too large to copy; listed".to_string(),
            };
            if kept.seen_before {
                what += "; kept before, sighting added";
            }
            if kept.left_out > 0 {
                what += &format!("; {} parts left out, listed", kept.left_out);
            }
            if !kept.dropped.is_empty() {
                what += &format!("; {} older copies dropped (quota)", kept.dropped.len());
            }
            let at = safe::escape(&kept.path.display().to_string()).into_owned();
            Some(format!(
                "{} evidence from {container} kept: {at} ({what})",
                style.yellow("*")
            ))
        }
        Event::Drift(d) => {
            let what = safe::escape(&d.what.join("; ")).into_owned();
            let file = safe::escape(&format!("{}:{}", d.container, d.path)).into_owned();
            Some(format!(
                "{} drift file {file}: {what}; left as found (on_drift = \"report\")",
                style.yellow("!")
            ))
        }
        Event::Ended(outcome) => Some(outcome_line(outcome, look)),
        // A builder's output is the build context's (and its base image's) doing.
        Event::Build { host, image, line } => {
            let on = if several {
                format!(" on {host}")
            } else {
                String::new()
            };
            let line = safe::escape(line);
            Some(format!("{} image {image}{on}: {line}", style.dim("*")))
        }
    }
}

/// A finished step: symbol, object, what happened, time.
pub fn outcome_line(o: &Outcome, look: Look) -> String {
    let Look { style, several } = look;
    let secs = o.elapsed.as_secs_f64();
    let what = text::describe_on(&o.change, several);
    match problem(o) {
        None => format!(
            "{} {what}: {} ({secs:.2}s)",
            text::symbol(o.change.action, style),
            verb(o.change.action)
        ),
        Some(problem) => format!(
            "{} {what}: {} ({secs:.2}s)",
            style.red("!"),
            style.red(&failed_or_skipped(&o.status, &problem))
        ),
    }
}

/// Why a step was not done, escaped: it can quote the engine or a program
/// run in the decky (an intruder's `rm`).
fn problem(o: &Outcome) -> Option<String> {
    let problem = o.status.problem()?;
    Some(safe::escape(&problem).into_owned())
}

/// A skip already says so (`skipped: …`, `not started: …`); a failure does not.
fn failed_or_skipped(status: &Status, problem: &str) -> String {
    match status {
        Status::Skipped(_) => problem.to_string(),
        _ => format!("failed: {problem}"),
    }
}

/// The past tense of what a step did.
pub fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Replace => "replaced",
        Action::Delete => "deleted",
        Action::Start => "started",
    }
}

/// The end of an apply: errors outside steps, what was adopted, the totals,
/// every step not done again. `failures` are the engines not planned.
pub fn summary(
    report: &FleetReport,
    failures: &[HostFailure],
    look: Look,
    verb: Verb,
) -> Vec<String> {
    let Look { style, several } = look;
    let mut lines = vec![String::new()];
    for (host, r) in &report.hosts {
        for e in &r.errors {
            let e = safe::escape_lines(e);
            lines.push(format!(
                "{} {}{e}",
                style.red("error:"),
                on_host(host, several)
            ));
        }
    }
    let (failed, done) = (report.failed(), report.done());
    if report.adopted > 0 && failed == 0 {
        lines.push(format!(
            "Adopted {} container(s) made by DECNET: deckhand manages them from now on.",
            report.adopted
        ));
    }
    let (title, done) = (verb.title(), plural(done, "step"));
    if failed == 0 && failures.is_empty() {
        lines.push(style.bold(&format!("{title} complete: {done} done.")));
    } else if failed == 0 {
        let n = failures.len();
        lines.push(style.red(&format!(
            "{title} finished: {done} done; {n} host(s) were not planned (above)."
        )));
    } else {
        let skipped = report.skipped();
        let counts = match skipped {
            0 => format!("{} failed", failed),
            s => format!("{} failed, {s} skipped", failed - s),
        };
        lines.push(style.red(&format!("{title} finished: {counts}, {done} done:")));
        lines.extend(not_done(report, several));
        lines.push(next_step(report, verb));
    }
    lines
}

/// `1 step`, `3 steps`: a count and its noun, plural when it is not one.
pub fn plural(n: usize, noun: &str) -> String {
    count(n, noun, &format!("{noun}s"))
}

/// `1 decky`, `3 deckies`: a count with the noun's singular or plural.
pub fn count(n: usize, one: &str, many: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// What to do about the steps not done. A cause inside a decky (what stands
/// in the way, a copy that could not be kept) is not promised to pass.
fn next_step(report: &FleetReport, verb: Verb) -> String {
    let command = verb.command();
    if report.interrupted {
        return format!("Interrupted: run {command} again to finish; it converges.");
    }
    let outcomes = report.hosts.iter().flat_map(|(_, r)| &r.outcomes);
    let in_decky = outcomes.filter(|o| {
        matches!(
            &o.status,
            Status::Failed(
                StepError::Blocked(_) | StepError::Evidence(_) | StepError::Clear { .. }
            )
        )
    });
    match in_decky.count() {
        0 => format!("Fix the cause and run {command} again: it converges."),
        n => format!("{n} step(s) cannot be done as the deckies stand (above: the cause is inside the container); the rest converges when applied again."),
    }
}

/// Every step that was not done, with why.
fn not_done(report: &FleetReport, several: bool) -> Vec<String> {
    let outcomes = report.hosts.iter().flat_map(|(_, r)| &r.outcomes);
    outcomes
        .filter_map(|o| Some((o, problem(o)?)))
        .map(|(o, problem)| format!("  {}: {problem}", text::describe_on(&o.change, several)))
        .collect()
}

/// The line watch logs after applying one engine's plan.
pub fn watch_summary(host: &str, report: &Report, look: Look) -> String {
    let (on, style) = (on_host(host, look.several), look.style);
    let steps = report.outcomes.len() + report.errors.len();
    match report.failed() {
        0 => format!("{on}applied {}", changes(report.outcomes.len())),
        failed => style.red(&format!(
            "{on}{failed} of {} failed; the next pass tries again",
            changes(steps)
        )),
    }
}

/// `1 change`, `3 changes`.
pub fn changes(n: usize) -> String {
    if n == 1 {
        "1 change".to_string()
    } else {
        format!("{n} changes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_of_one_is_singular_and_any_other_plural() {
        assert_eq!(plural(1, "step"), "1 step");
        assert_eq!(plural(0, "step"), "0 steps");
        assert_eq!(plural(4, "file"), "4 files");
    }

    #[test]
    fn a_destroy_ends_in_its_own_words() {
        let lines = summary(&FleetReport::default(), &[], Look::PLAIN, Verb::Destroy);
        assert_eq!(lines, vec!["", "Destroy complete: 0 steps done."]);
    }

    // Regression (#23): of "12 failure(s)", 9 were steps skipped for another's failure.
    #[test]
    fn skipped_steps_are_counted_apart_from_failures() {
        use crate::apply::Skip;
        let plan = crate::render::fixture::every_kind();
        let outcome = |i: usize, status| Outcome {
            change: plan.changes[i].clone(),
            status,
            elapsed: std::time::Duration::ZERO,
        };
        let report = Report {
            outcomes: vec![
                outcome(0, Status::Failed(StepError::Malformed("no such image"))),
                outcome(1, Status::Skipped(Skip::BaseFailed("web-01".into()))),
                outcome(2, Status::Skipped(Skip::BaseFailed("web-01".into()))),
                outcome(3, Status::Done),
            ],
            errors: Vec::new(),
        };
        let fleet = FleetReport {
            hosts: vec![("local".into(), report)],
            ..FleetReport::default()
        };
        let lines = summary(&fleet, &[], Look::PLAIN, Verb::Apply);
        assert_eq!(
            lines[1],
            "Apply finished: 1 failed, 2 skipped, 1 step done:"
        );
    }
}
