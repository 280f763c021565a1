//! Views: draw a [`Plan`](crate::plan::Plan) as text, JSON or markdown, and
//! the executor's events and reports as text. Colour is a parameter, never
//! global state.

pub mod events_json;
pub mod json;
pub mod log;
pub mod markdown;
pub mod problems_json;
pub mod run;
/// The one sanitizer, at the bottom of the crate so that every layer can use it.
pub use crate::safe;
pub mod steps;
pub mod style;
pub mod text;
pub mod view;

#[cfg(test)]
mod fixture;

#[cfg(test)]
mod tests {
    use super::style::Style;
    use super::*;
    use crate::plan::Plan;

    fn text(plan: &Plan, style: Style) -> String {
        let mut out = Vec::new();
        text::render(plan, &mut out, style).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_plan_of_every_kind_of_change() {
        insta::assert_snapshot!(text(&fixture::every_kind(), Style::PLAIN));
    }

    #[test]
    fn text_plan_in_colour_paints_symbols() {
        let out = text(&fixture::every_kind(), Style { color: true });
        assert!(out.contains("\x1b[32m+\x1b[0m") && out.contains("\x1b[35m-/+\x1b[0m"));
    }

    // Regression: networks and singletons both have no decky, and shared one header.
    #[test]
    fn networks_and_singletons_get_their_own_sections() {
        let mut plan = fixture::every_kind();
        plan.changes.retain(|c| c.object.decky().is_none());
        let out = text(&plan, Style::PLAIN);
        assert!(
            out.contains("# networks") && out.contains("# fleet-wide"),
            "{out}"
        );
    }

    #[test]
    fn an_empty_plan_says_no_changes() {
        let plan = Plan {
            fleet: "corp".into(),
            hosts: vec!["local".into()],
            ..Plan::default()
        };
        insta::assert_snapshot!(text(&plan, Style::PLAIN), @"No changes. Fleet 'corp' matches the configuration.");
    }

    fn markdown(plan: &Plan, cap: usize) -> String {
        let mut out = Vec::new();
        markdown::render(plan, &mut out, cap).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn markdown_plan_of_every_kind_of_change() {
        insta::assert_snapshot!(markdown(
            &fixture::every_kind(),
            markdown::GITHUB_COMMENT_LIMIT
        ));
    }

    #[test]
    fn markdown_over_the_cap_drops_diffs_then_sections_never_half_a_block() {
        let mut plan = fixture::every_kind();
        let big: String = (0..3000).map(|i| format!("+line {i}\n")).collect();
        for c in &mut plan.changes {
            if let crate::plan::Detail::File(f) = &mut c.detail {
                if let crate::plan::ContentChange::TextDiff(d) = &mut f.content {
                    *d = big.clone();
                }
            }
        }
        let out = markdown(&plan, 4_000);
        assert!(
            out.chars().count() <= 4_000,
            "{} characters",
            out.chars().count()
        );
        assert!(out.contains("diffs omitted for 1"), "{out}");
        assert!(out.contains("Plan: 3 to add"), "{out}");
        assert_eq!(
            out.matches("<details>").count(),
            out.matches("</details>").count()
        );
        assert_eq!(out.matches("```").count() % 2, 0);
        let tiny = markdown(&plan, 1_200);
        assert!(tiny.contains("section(s) not shown"), "{tiny}");
        assert!(
            tiny.chars().count() <= 1_200,
            "{} characters",
            tiny.chars().count()
        );
    }

    #[test]
    fn json_plan_of_every_kind_of_change() {
        let mut out = Vec::new();
        json::render(&fixture::every_kind(), &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("secret"), "sensitive bytes leaked into JSON");
        insta::assert_snapshot!(out);
    }

    /// The every-kind plan with decky web-03 on a second engine, merged as the
    /// commands merge the plans of several engines.
    fn two_hosts() -> Plan {
        let all = fixture::every_kind();
        let mut local = all.clone();
        local.changes.retain(|c| c.object.decky() != Some("web-03"));
        local.notes = vec!["no file record was found".into()];
        let mut edge = all.for_host("local");
        edge.changes.retain(|c| c.object.decky() == Some("web-03"));
        edge.hosts = vec!["edge".into()];
        for c in &mut edge.changes {
            c.host = "edge".into();
        }
        Plan::merge("corp", vec![local, edge])
    }

    #[test]
    fn a_plan_over_two_hosts_names_each_host_once_and_in_order() {
        let plan = two_hosts();
        assert_eq!(plan.hosts, ["local", "edge"]);
        let out = text(&plan, Style::PLAIN);
        assert_eq!(out.matches("## host local").count(), 1, "{out}");
        assert_eq!(out.matches("## host edge").count(), 1, "{out}");
        assert!(
            out.find("## host local") < out.find("## host edge"),
            "{out}"
        );
        assert!(out.contains("note: host local: no file record"), "{out}");
        insta::assert_snapshot!(out);

        let md = markdown(&plan, markdown::GITHUB_COMMENT_LIMIT);
        assert!(md.contains("| edge · decky web-03 |"), "{md}");

        let v = json::to_value(&plan);
        assert_eq!(v["hosts"], serde_json::json!(["local", "edge"]));
        for c in v["changes"].as_array().unwrap() {
            let want = if c["decky"] == "web-03" {
                "edge"
            } else {
                "local"
            };
            assert_eq!(c["host"], want, "{c}");
        }
    }

    #[test]
    fn an_empty_plan_over_two_hosts_names_them() {
        let mut plan = two_hosts();
        plan.changes.clear();
        plan.notes.clear();
        insta::assert_snapshot!(text(&plan, Style::PLAIN), @"No changes. Fleet 'corp' matches the configuration on host(s): local, edge.");
        plan.hosts = vec!["local".into()];
        plan.unplanned = vec!["edge".into()];
        insta::assert_snapshot!(text(&plan, Style::PLAIN), @"No changes. Fleet 'corp' matches the configuration on host(s): local (not planned: edge).");
    }
}
