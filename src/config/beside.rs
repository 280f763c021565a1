//! `[fleet] artifacts` and `[fleet] decnet_state` (SPEC §7): what living
//! beside DECNET needs. DECNET's collector reads the bind-mount directories
//! as group `decnet` (2775); its sniffer and dashboard read its state file.

use super::raw::{RawArtifacts, RawFleet};
use super::validate::Validator;
use super::values;
use crate::desired::{Beside, HostDirs};

/// Where group names are looked up.
const GROUP_FILE: &str = "/etc/group";

impl Validator<'_> {
    /// `[fleet] artifacts` and `[fleet] decnet_state`, checked.
    pub fn beside(&mut self, fleet: &RawFleet, src: usize) -> Beside {
        let artifacts = match &fleet.artifacts {
            Some(a) => self.artifacts(src, a.get_ref(), &a.span()),
            None => HostDirs::default(),
        };
        let decnet_state = fleet.decnet_state.as_ref().and_then(|p| {
            if p.get_ref().is_empty() {
                let help =
                    "name the file, like decnet_state = \"/var/lib/decnet/decnet-state.json\"";
                let message = "[fleet] decnet_state is empty";
                self.ctx.err_help(src, &p.span(), message, help);
                return None;
            }
            Some(self.ctx.sources[src].dir().join(p.get_ref()))
        });
        Beside {
            artifacts,
            decnet_state,
        }
    }

    fn artifacts(
        &mut self,
        src: usize,
        raw: &RawArtifacts,
        span: &std::ops::Range<usize>,
    ) -> HostDirs {
        let mut dirs = HostDirs::default();
        match &raw.mode {
            Some(m) => match values::mode(m.get_ref()) {
                Ok(mode) => dirs.mode = mode,
                Err(e) => self
                    .ctx
                    .err(src, &m.span(), format!("[fleet] artifacts: {e}")),
            },
            None => {
                let help = "add mode, like artifacts = { mode = \"2775\", group = \"decnet\" }";
                let message = "[fleet] artifacts has no mode";
                self.ctx.err_help(src, span, message, help);
            }
        }
        if let Some(g) = &raw.group {
            let groups = std::fs::read_to_string(GROUP_FILE).unwrap_or_default();
            match gid_of(&groups, g.get_ref()) {
                Some(gid) => dirs.gid = Some(gid),
                None => {
                    let message = format!(
                        "[fleet] artifacts: no group '{}' on this host ({GROUP_FILE})",
                        g.get_ref()
                    );
                    let help = format!(
                        "create it (groupadd {}), or name a group that exists",
                        g.get_ref()
                    );
                    self.ctx.err_help(src, &g.span(), message, help);
                }
            }
        }
        dirs
    }
}

/// The gid of group `name` in the text of an `/etc/group` file, or of a
/// numeric group.
fn gid_of(groups: &str, name: &str) -> Option<u32> {
    if let Ok(gid) = name.parse() {
        return Some(gid);
    }
    groups.lines().find_map(|line| {
        let mut fields = line.split(':');
        let found = fields.next()? == name;
        let gid = fields.nth(1)?.parse().ok()?;
        found.then_some(gid)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_found_by_name_or_number_and_only_whole() {
        let groups = "root:x:0:\n# comment\ndecnet-old:x:998:\ndecnet:x:999:alice,bob\n";
        assert_eq!(gid_of(groups, "decnet"), Some(999));
        assert_eq!(gid_of(groups, "root"), Some(0));
        assert_eq!(gid_of(groups, "1234"), Some(1234));
        assert_eq!(gid_of(groups, "decne"), None);
        assert_eq!(gid_of(groups, "alice"), None);
    }
}
