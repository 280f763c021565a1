//! The two decisions every text view takes from the run, travelling together:
//! whether to colour, and whether lines name the engine (the fleet spans
//! several).

use super::style::Style;

/// How a run's text is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    pub style: Style,
    /// The fleet spans several engines: lines say `host NAME: `.
    pub several: bool,
}

impl Look {
    /// No colour, one engine: what tests and plain output use.
    pub const PLAIN: Look = Look {
        style: Style::PLAIN,
        several: false,
    };

    /// This look for a fleet of `several` engines (known once a pass opens).
    pub fn spanning(self, several: bool) -> Look {
        Look { several, ..self }
    }
}
