//! Renderers: draw a [`Plan`](crate::plan::Plan) as text or JSON. Colour is a
//! parameter, never global state.

pub mod json;
pub mod style;
pub mod text;
