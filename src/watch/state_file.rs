//! `[fleet] decnet_state`: watch writes DECNET's state file on every pass
//! of a valid config (atomically), so DECNET's sniffer, collector and
//! dashboard see the deckies deckhand keeps.

use crate::config::Loaded;

/// Writes the state file `loaded` names, if it names one. Returns the
/// problem to tell when it was not written (the caller draws it).
pub fn keep(loaded: &Loaded) -> Option<String> {
    let path = loaded.desired.beside.decnet_state.as_ref()?;
    let written = crate::decnet_state::state(&loaded.desired)
        .and_then(|s| crate::decnet_state::write(path, &s).map_err(|e| e.to_string()));
    let e = written.err()?;
    Some(format!(
        "DECNET's state file {} not written: {e}",
        path.display()
    ))
}
