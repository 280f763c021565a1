//! Renderers: draw a [`Plan`](crate::plan::Plan) as text or JSON. Colour is a
//! parameter, never global state.

pub mod json;
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

    #[test]
    fn an_empty_plan_says_no_changes() {
        let plan = Plan {
            fleet: "corp".into(),
            changes: vec![],
            notes: vec![],
        };
        insta::assert_snapshot!(text(&plan, Style::PLAIN), @"No changes. Fleet 'corp' matches the configuration.");
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
