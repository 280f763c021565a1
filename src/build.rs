//! Service images built from a directory (`[services.X] build = "images/x"`),
//! as DECNET's own services are.
//!
//! The image is tagged by a digest of the context's content, so an unchanged
//! context is never rebuilt and a changed one gives a new tag: the service's
//! spec changes and the plan replaces it, saying the image was rebuilt.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The repository every built image is tagged in; the tag is `<service>-<digest>`.
pub const REPOSITORY: &str = "deckhand-build";

/// Largest build context accepted, in bytes (256 MiB).
pub const MAX_CONTEXT_BYTES: u64 = 256 * 1024 * 1024;

/// A context directory, the build arguments passed to its Dockerfile, and
/// the image they give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    /// What the tag is named after: the service, or `base` for a decky's base.
    pub name: String,
    pub context: PathBuf,
    /// `ARG`s of the Dockerfile (DECNET's `BASE_IMAGE`): part of the tag's digest.
    pub args: BTreeMap<String, String>,
    /// `deckhand-build:<service>-<first 12 hex digits of the context digest>`.
    pub image: String,
    /// Every regular file of the context (for watch and saved plans).
    pub files: Vec<PathBuf>,
}

#[cfg(test)]
impl Build {
    /// A build of `context` without reading it, for tests of what uses one.
    pub fn unread(name: &str, context: &str) -> Build {
        Build {
            name: name.into(),
            context: context.into(),
            args: BTreeMap::new(),
            image: format!("{REPOSITORY}:{name}-000000000000"),
            files: Vec::new(),
        }
    }
}

/// One entry of a context, in the order it is hashed and archived.
enum Entry {
    Dir,
    File { bytes: Vec<u8>, mode: u32 },
    Symlink(PathBuf),
}

/// Reads `context` (symlinks kept as links, not followed) in path order.
fn entries(context: &Path) -> Result<BTreeMap<PathBuf, Entry>, String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut out = BTreeMap::new();
    let mut total = 0u64;
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let dir = context.join(&rel);
        let listing =
            std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for item in listing {
            let item = item.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
            let rel = rel.join(item.file_name());
            let path = context.join(&rel);
            let meta = std::fs::symlink_metadata(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let entry = if meta.is_dir() {
                pending.push(rel.clone());
                Entry::Dir
            } else if meta.file_type().is_symlink() {
                Entry::Symlink(
                    std::fs::read_link(&path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
                )
            } else if meta.is_file() {
                total += meta.len();
                if total > MAX_CONTEXT_BYTES {
                    return Err(format!(
                        "the build context {} is over {MAX_CONTEXT_BYTES} bytes (256 MiB)",
                        context.display()
                    ));
                }
                let bytes = std::fs::read(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                Entry::File {
                    bytes,
                    mode: meta.permissions().mode() & 0o7777,
                }
            } else {
                return Err(format!(
                    "{} is neither a file, a directory nor a symlink",
                    path.display()
                ));
            };
            out.insert(rel, entry);
        }
    }
    Ok(out)
}

/// Reads and checks the context of `name` at `context`: a directory with a
/// Dockerfile. The tag's digest covers the content and `args`.
pub fn resolve(
    name: &str,
    context: &Path,
    args: &BTreeMap<String, String>,
) -> Result<Build, String> {
    if !context.join("Dockerfile").is_file() {
        return Err(format!(
            "the build context {} has no Dockerfile",
            context.display()
        ));
    }
    let entries = entries(context)?;
    let mut h = Sha256::new();
    for (rel, entry) in &entries {
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        match entry {
            Entry::Dir => h.update(b"d"),
            Entry::File { bytes, mode } => {
                h.update(format!("f{mode:o} {} ", bytes.len()).as_bytes());
                h.update(bytes);
            }
            Entry::Symlink(target) => {
                h.update(b"l");
                h.update(target.to_string_lossy().as_bytes());
            }
        }
        h.update([0]);
    }
    // Without arguments, the digest is the content's alone (as before args).
    for (k, v) in args {
        h.update(format!("arg {k}={v}").as_bytes());
        h.update([0]);
    }
    let digest = hex::encode(h.finalize());
    // A tag is at most 128 characters.
    let short: String = name.chars().take(128 - 13).collect();
    Ok(Build {
        name: name.to_string(),
        context: context.to_path_buf(),
        args: args.clone(),
        image: format!("{REPOSITORY}:{short}-{}", &digest[..12]),
        files: entries
            .iter()
            .filter(|(_, e)| matches!(e, Entry::File { .. }))
            .map(|(rel, _)| context.join(rel))
            .collect(),
    })
}

/// The context as the tar archive the engine builds from. Owners are root and
/// times are zero, so the same content always gives the same archive.
pub fn archive(build: &Build) -> Result<Vec<u8>, String> {
    let entries = entries(&build.context)?;
    let mut tar = tar::Builder::new(Vec::new());
    let io = |e: std::io::Error| format!("cannot archive {}: {e}", build.context.display());
    for (rel, entry) in &entries {
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        match entry {
            Entry::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                tar.append_data(&mut header, rel, std::io::empty())
                    .map_err(io)?;
            }
            Entry::File { bytes, mode } => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(*mode);
                header.set_size(bytes.len() as u64);
                tar.append_data(&mut header, rel, bytes.as_slice())
                    .map_err(io)?;
            }
            Entry::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                tar.append_link(&mut header, rel, target).map_err(io)?;
            }
        }
    }
    tar.into_inner().map_err(io)
}

/// Whether `image` is one deckhand builds.
pub fn is_built(image: &str) -> bool {
    image.starts_with(&format!("{REPOSITORY}:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    fn context() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Dockerfile"),
            "FROM scratch\nCOPY banner /banner\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("banner"), "hello\n").unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/motd"), "motd\n").unwrap();
        dir
    }

    #[test]
    fn the_tag_follows_the_content_and_nothing_else() {
        let a = context();
        let b = context();
        let ta = resolve("ssh", a.path(), &none()).unwrap();
        let tb = resolve("ssh", b.path(), &none()).unwrap();
        assert_eq!(
            ta.image, tb.image,
            "same content, another directory: same tag"
        );
        assert!(ta.image.starts_with("deckhand-build:ssh-"), "{}", ta.image);
        assert_eq!(ta.files.len(), 3);

        std::fs::write(b.path().join("etc/motd"), "changed\n").unwrap();
        assert_ne!(resolve("ssh", b.path(), &none()).unwrap().image, ta.image);
        std::fs::write(b.path().join("etc/motd"), "motd\n").unwrap();
        assert_eq!(resolve("ssh", b.path(), &none()).unwrap().image, ta.image);
        std::os::unix::fs::symlink("banner", b.path().join("link")).unwrap();
        assert_ne!(resolve("ssh", b.path(), &none()).unwrap().image, ta.image);
    }

    #[test]
    fn build_args_are_part_of_the_tag() {
        let a = context();
        let plain = resolve("ssh", a.path(), &none()).unwrap();
        let args = BTreeMap::from([("BASE_IMAGE".to_string(), "debian:bookworm".to_string())]);
        let bookworm = resolve("ssh", a.path(), &args).unwrap();
        assert_ne!(plain.image, bookworm.image);
        assert_eq!(
            bookworm.image,
            resolve("ssh", a.path(), &args).unwrap().image
        );
        let other = BTreeMap::from([("BASE_IMAGE".to_string(), "ubuntu:22.04".to_string())]);
        assert_ne!(
            resolve("ssh", a.path(), &other).unwrap().image,
            bookworm.image
        );
    }

    #[test]
    fn the_archive_holds_every_entry_and_is_reproducible() {
        let a = context();
        let build = resolve("ssh", a.path(), &none()).unwrap();
        let one = archive(&build).unwrap();
        assert_eq!(one, archive(&build).unwrap());
        let mut names: Vec<String> = tar::Archive::new(one.as_slice())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["Dockerfile", "banner", "etc", "etc/motd"]);
    }

    #[test]
    fn a_context_without_a_dockerfile_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(resolve("ssh", dir.path(), &none())
            .unwrap_err()
            .contains("has no Dockerfile"));
    }
}
