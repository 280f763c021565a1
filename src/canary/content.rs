//! The realistic content each kind of canary is planted in.

use crate::craft::derive;
use crate::craft::Seed;

use super::{id, ssh_key, Canary, Kind, Token};

/// Where a canary is planted.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub fleet: &'a str,
    pub decky: &'a str,
    pub hostname: &'a str,
    pub path: &'a str,
}

/// The canary of `kind` at `place` after `rotation` rotations, and the
/// file content it is planted in. The same inputs give the same bytes.
pub fn planted(seed: &Seed, kind: Kind, place: Place<'_>, rotation: u64) -> (Canary, Vec<u8>) {
    let draw = |what: &str, len: usize| {
        let purpose = format!("canary/{}/{what}/{rotation}", kind.as_str());
        derive::bytes(seed, place.decky, place.path, &purpose, len)
    };
    let (token, text) = match kind {
        Kind::Aws => aws(&draw),
        Kind::SshKey => {
            let key = ssh_key::Key::from_seed(&draw("seed", 32), &draw("check", 4));
            let comment = format!("{}@{}", user(place.path), place.hostname);
            (key.fingerprint(), key.private_pem(&comment))
        }
        Kind::Password => password(&draw, place),
        Kind::Url => url(&draw, place),
    };
    let canary = Canary {
        id: id(seed, place.decky, place.path, rotation),
        kind,
        decky: place.decky.to_string(),
        path: place.path.to_string(),
        rotation,
        token: Token(token),
    };
    (canary, text.into_bytes())
}

type Draw<'a> = dyn Fn(&str, usize) -> Vec<u8> + 'a;

/// `len` characters of `alphabet`, from drawn bytes.
fn chars(bytes: &[u8], alphabet: &[u8]) -> String {
    let n = alphabet.len();
    bytes
        .iter()
        .map(|b| alphabet[usize::from(*b) % n] as char)
        .collect()
}

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "us-west-2", "eu-central-1"];

/// A `~/.aws/credentials` profile: the access key id is the token.
fn aws(draw: &Draw<'_>) -> (String, String) {
    let key_id = format!("AKIA{}", chars(&draw("key-id", 16), BASE32));
    let secret = chars(&draw("secret", 40), SECRET);
    let region = REGIONS[usize::from(draw("region", 1)[0]) % REGIONS.len()];
    let text = format!(
        "[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\nregion = {region}\noutput = json\n"
    );
    (key_id, text)
}

/// A MySQL client config with the token as its password: three words and
/// sixteen characters of a 64-letter alphabet drawn from whole bytes (21 +
/// 96 bits), so that no digest of the file can be searched back to it.
fn password(draw: &Draw<'_>, place: Place<'_>) -> (String, String) {
    let bytes = draw("password", 3);
    let word = |b: u8| {
        let w = crate::craft::word(b);
        let mut c = w.chars();
        c.next()
            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
            .unwrap_or_default()
    };
    // 256 is a multiple of 64: every character is exactly six random bits.
    let tail = chars(&draw("password-tail", 16), SECRET);
    let token = format!(
        "{}{}{}!{tail}",
        word(bytes[0]),
        word(bytes[1]),
        word(bytes[2])
    );
    let text = format!(
        "# nightly backup of {fleet}, cron on {host}; ask ops before changing\n[client]\nuser=backup\npassword={token}\nhost=db01.{fleet}.internal\n",
        fleet = place.fleet,
        host = place.hostname,
    );
    (token, text)
}

/// A notes file holding a shared link: the URL is the token.
fn url(draw: &Draw<'_>, place: Place<'_>) -> (String, String) {
    let token = format!(
        "https://docs.{}.internal/s/{}",
        place.fleet,
        hex::encode(draw("url", 12))
    );
    let text = format!(
        "TODO before friday\n- rotate the vpn certs on {}\n- quarterly numbers (shared, don't forward):\n  {token}\n",
        place.hostname
    );
    (token, text)
}

/// The user whose home a path is under ("root" otherwise), for a key comment.
fn user(path: &str) -> &str {
    let mut parts = path.split('/').skip(1);
    match (parts.next(), parts.next()) {
        (Some("home"), Some(u)) if !u.is_empty() => u,
        _ => "root",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plant(kind: Kind, decky: &str, rotation: u64) -> (Canary, String) {
        let seed = Seed::from_bytes(vec![3; 32]);
        let place = Place {
            fleet: "corp",
            decky,
            hostname: "files-01",
            path: "/home/admin/.aws/credentials",
        };
        let (c, bytes) = planted(&seed, kind, place, rotation);
        (c, String::from_utf8(bytes).unwrap())
    }

    #[test]
    fn each_kind_plants_its_token_in_realistic_content() {
        let (c, text) = plant(Kind::Aws, "a", 0);
        assert!(c.token.reveal().starts_with("AKIA") && c.token.reveal().len() == 20);
        assert!(
            text.starts_with("[default]\naws_access_key_id = AKIA"),
            "{text}"
        );
        assert!(text.contains(c.token.reveal()));
        let (c, text) = plant(Kind::Password, "a", 0);
        assert!(
            text.contains(&format!("password={}\n", c.token.reveal())),
            "{text}"
        );
        let (c, text) = plant(Kind::Url, "a", 0);
        assert!(c
            .token
            .reveal()
            .starts_with("https://docs.corp.internal/s/"));
        assert!(text.contains(c.token.reveal()), "{text}");
        let (c, text) = plant(Kind::SshKey, "a", 0);
        assert!(
            text.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"),
            "{text}"
        );
        assert_eq!(fingerprint_of(&text), Some(c.token.reveal().to_string()));
    }

    fn fingerprint_of(text: &str) -> Option<String> {
        super::super::fingerprint(text)
    }

    #[test]
    fn tokens_differ_by_decky_and_rotation_and_are_stable() {
        for kind in [Kind::Aws, Kind::SshKey, Kind::Password, Kind::Url] {
            let (a, text) = plant(kind, "a", 0);
            assert_eq!(plant(kind, "a", 0).1, text);
            assert_ne!(plant(kind, "b", 0).0.token, a.token, "{kind:?}");
            let (rotated, _) = plant(kind, "a", 1);
            assert_ne!(rotated.token, a.token, "{kind:?}");
            assert_ne!(rotated.id, a.id, "{kind:?}");
            assert!(!a.id.contains(a.token.reveal()));
        }
    }

    #[test]
    fn a_password_has_at_least_eighty_random_bits() {
        let (c, _) = plant(Kind::Password, "a", 0);
        let tail = c.token.reveal().split_once('!').unwrap().1;
        assert_eq!(tail.len(), 16, "{tail:?}");
        assert!(tail.bytes().all(|b| SECRET.contains(&b)));
        assert_eq!(SECRET.len(), 64); // six bits a character, unbiased
                                      // Rotations and deckies draw different tails.
        let other = plant(Kind::Password, "a", 1).0;
        assert_ne!(other.token.reveal().split_once('!').unwrap().1, tail);
    }

    #[test]
    fn a_token_is_never_in_debug_output() {
        let (c, _) = plant(Kind::Password, "a", 0);
        assert!(!format!("{c:?}").contains(c.token.reveal()));
    }
}
