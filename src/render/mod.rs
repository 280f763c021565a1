//! Renderers: draw a [`Plan`](crate::plan::Plan) as text or JSON. Colour is a
//! parameter, never global state.

pub mod json;
pub mod markdown;
pub mod style;
pub mod text;

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
            changes: vec![],
            notes: vec![],
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
}
