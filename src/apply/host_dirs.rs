//! The host directories of bind mounts, made before a container that needs
//! them is created: each missing one (and each missing parent) with the
//! mode and group `[fleet] artifacts` gives, else 0700 root (the engine
//! would make them 0755, readable to every user of the host). Directories
//! that exist are never changed.

use std::io;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::Path;

use crate::desired::{ContainerSpec, HostDirs};

/// Makes the missing host directories of `spec`'s bind mounts. Only on an
/// engine reached through a local socket (`local`): elsewhere the host is
/// another machine, whose engine creates them.
pub fn prepare(local: bool, spec: &ContainerSpec, dirs: HostDirs) -> io::Result<()> {
    if !local {
        return Ok(());
    }
    for v in &spec.settings.volumes {
        let host = v.split(':').next().unwrap_or_default();
        make(Path::new(host), dirs)?;
    }
    Ok(())
}

/// Makes `path` and its missing parents, top down, each with `dirs`.
fn make(path: &Path, dirs: HostDirs) -> io::Result<()> {
    let missing: Vec<&Path> = path.ancestors().take_while(|p| !p.exists()).collect();
    for dir in missing.into_iter().rev() {
        // 0700 until its group and mode are set: never wider on the way.
        match std::fs::DirBuilder::new().mode(0o700).create(dir) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => continue,
            made => made?,
        }
        if let Some(gid) = dirs.gid {
            std::os::unix::fs::chown(dir, None, Some(gid))?;
        }
        // After the chown (which may clear setgid), and past the umask.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(dirs.mode))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt as _;

    #[test]
    fn missing_directories_get_the_mode_and_group_and_existing_ones_stay() {
        let root = tempfile::tempdir().unwrap();
        let kept = root.path().join("artifacts");
        std::fs::create_dir(&kept).unwrap();
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o755)).unwrap();
        let leaf = kept.join("decky-01/ssh");
        let dirs = HostDirs {
            mode: 0o2775,
            gid: Some(4242),
        };
        make(&leaf, dirs).unwrap();
        for made in [kept.join("decky-01"), leaf.clone()] {
            let m = std::fs::metadata(&made).unwrap();
            assert_eq!((m.mode() & 0o7777, m.gid()), (0o2775, 4242), "{made:?}");
        }
        let m = std::fs::metadata(&kept).unwrap();
        assert_eq!((m.mode() & 0o7777, m.gid()), (0o755, 0));
        make(&leaf, HostDirs::default()).unwrap();
        let m = std::fs::metadata(&leaf).unwrap();
        assert_eq!(
            m.mode() & 0o7777,
            0o2775,
            "an existing directory is not changed"
        );
    }
}
