//! `[fleet] decnet_state`: watch writes DECNET's state file on every pass
//! of a valid config (atomically), so DECNET's sniffer, collector and
//! dashboard see the deckies deckhand keeps.

use crate::config::Loaded;

use super::say::Say;

/// Writes the state file `loaded` names, if it names one; a failure is told.
pub fn keep(loaded: &Loaded, say: Say) {
    let Some(path) = &loaded.desired.beside.decnet_state else {
        return;
    };
    let written = crate::decnet_state::state(&loaded.desired)
        .and_then(|s| crate::decnet_state::write(path, &s).map_err(|e| e.to_string()));
    if let Err(e) = written {
        let message = format!("DECNET's state file {} not written: {e}", path.display());
        say.alarm(&loaded.desired.fleet, None, &message);
    }
}
