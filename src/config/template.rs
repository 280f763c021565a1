//! Bait made per decky (SPEC §11): a file with `template = true` has
//! `{fleet}` `{decky}` `{hostname}` `{ip}` `{persona}` and
//! `{random:hex:N}` / `{random:HEX:N}` (upper case) / `{random:words:N}`
//! filled in for its decky. Random
//! values come from the fleet's seed with the decky and the path, so two
//! deckies never share them and every plan shows the same ones. Any other
//! braces (`${HOME}`, JSON) are left as they are.

use crate::seed::Seed;

/// What a template is filled in with for one decky's file.
pub struct Context<'a> {
    pub fleet: &'a str,
    pub decky: &'a str,
    pub hostname: &'a str,
    pub ip: &'a str,
    pub persona: &'a str,
    pub path: &'a str,
}

/// Most hex digits or words one `{random:…}` may ask for.
pub const MAX_HEX: usize = 256;
pub const MAX_WORDS: usize = 64;

/// Plain words for `{random:words:N}`: 256 of them, one per byte drawn.
const WORDS: [&str; 256] = [
    "able", "acid", "aged", "also", "area", "army", "away", "baby", "back", "ball", "band", "bank",
    "base", "bath", "bear", "beat", "been", "beer", "bell", "belt", "best", "bill", "bird", "blow",
    "blue", "boat", "body", "bond", "bone", "book", "boom", "born", "boss", "both", "bowl", "bulk",
    "burn", "bush", "busy", "call", "calm", "came", "camp", "card", "care", "case", "cash", "cast",
    "cell", "chat", "chip", "city", "club", "coal", "coat", "code", "cold", "come", "cook", "cool",
    "cope", "copy", "core", "cost", "crew", "crop", "dark", "data", "date", "dawn", "days", "dead",
    "deal", "dear", "debt", "deep", "deny", "desk", "dial", "diet", "disc", "disk", "does", "done",
    "door", "dose", "down", "draw", "drew", "drop", "dual", "dust", "duty", "each", "earn", "ease",
    "east", "easy", "edge", "else", "even", "ever", "exit", "face", "fact", "fail", "fair", "fall",
    "farm", "fast", "fate", "fear", "feed", "feel", "feet", "fell", "felt", "file", "fill", "film",
    "find", "fine", "fire", "firm", "fish", "five", "flat", "flow", "food", "foot", "form", "fort",
    "four", "free", "from", "fuel", "full", "fund", "gain", "game", "gate", "gave", "gear", "gene",
    "gift", "girl", "give", "glad", "goal", "goes", "gold", "golf", "gone", "good", "gray", "grew",
    "grey", "grow", "gulf", "hair", "half", "hall", "hand", "hang", "hard", "harm", "hate", "have",
    "head", "hear", "heat", "held", "help", "here", "hero", "high", "hill", "hire", "hold", "hole",
    "holy", "home", "hope", "host", "hour", "huge", "hung", "hunt", "hurt", "idea", "inch", "into",
    "iron", "item", "jack", "join", "jump", "jury", "just", "keen", "keep", "kept", "kick", "kind",
    "king", "knee", "knew", "know", "lack", "lady", "laid", "lake", "land", "lane", "last", "late",
    "lead", "left", "less", "life", "lift", "like", "line", "link", "list", "live", "load", "loan",
    "lock", "logo", "long", "look", "lord", "lose", "loss", "lost", "love", "luck", "made", "mail",
    "main", "make", "male", "many", "mark", "mass", "meal", "mean", "meat", "meet", "menu", "mere",
    "mile", "milk", "mill", "mind",
];

/// `text` filled in for one decky's file; `seed` is needed only when the
/// text draws random values. Errors say which placeholder is wrong.
pub fn expand(text: &str, c: &Context<'_>, seed: Option<&Seed>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut draws = 0u32;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return Ok(out);
        };
        let word = &after[..close];
        match fill(word, c, seed, &mut draws)? {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[open..open + close + 2]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The value of placeholder `word`; `None` for braces that are not one.
fn fill(
    word: &str,
    c: &Context<'_>,
    seed: Option<&Seed>,
    draws: &mut u32,
) -> Result<Option<String>, String> {
    let plain = match word {
        "fleet" => c.fleet,
        "decky" => c.decky,
        "hostname" => c.hostname,
        "ip" => c.ip,
        "persona" => c.persona,
        _ => {
            let Some(spec) = word.strip_prefix("random:") else {
                return Ok(None);
            };
            let seed = seed.ok_or("{random:…} needs [fleet] seed_file")?;
            *draws += 1;
            return random(spec, seed, c, *draws - 1).map(Some);
        }
    };
    Ok(Some(plain.to_string()))
}

/// `hex:N` or `words:N`, drawn for the `index`th random of the file.
fn random(spec: &str, seed: &Seed, c: &Context<'_>, index: u32) -> Result<String, String> {
    let bad = || {
        format!("{{random:{spec}}} is not {{random:hex:N}} or {{random:HEX:N}} (N 1-{MAX_HEX}), or {{random:words:N}} (N 1-{MAX_WORDS})")
    };
    let (kind, n) = spec.split_once(':').ok_or_else(bad)?;
    let n: usize = n.parse().map_err(|_| bad())?;
    let bytes = |count| seed.derive("template", c.decky, c.path, index, count);
    match kind {
        "hex" | "HEX" if (1..=MAX_HEX).contains(&n) => {
            let mut hex = hex::encode(bytes(n.div_ceil(2)));
            hex.truncate(n);
            Ok(match kind {
                "HEX" => hex.to_uppercase(),
                _ => hex,
            })
        }
        "words" if (1..=MAX_WORDS).contains(&n) => {
            let words: Vec<&str> = bytes(n).iter().map(|b| WORDS[*b as usize]).collect();
            Ok(words.join("-"))
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(decky: &'a str) -> Context<'a> {
        Context {
            fleet: "corp",
            decky,
            hostname: "web-01.corp",
            ip: "10.0.0.5",
            persona: "linux",
            path: "/root/.aws/credentials",
        }
    }

    #[test]
    fn placeholders_are_filled_and_other_braces_kept() {
        let text =
            "host={hostname} ip={ip} os={persona} fleet={fleet} ${HOME} {\"k\": 1} {unknown} {";
        let out = expand(text, &ctx("web-01"), None).unwrap();
        assert_eq!(
            out,
            "host=web-01.corp ip=10.0.0.5 os=linux fleet=corp ${HOME} {\"k\": 1} {unknown} {"
        );
    }

    #[test]
    fn randoms_differ_per_decky_and_draw_and_repeat_per_seed() {
        let seed = Seed::from_bytes(b"0123456789abcdef");
        let text = "key={random:hex:20} pass={random:words:3} again={random:hex:20}";
        let a = expand(text, &ctx("web-01"), Some(&seed)).unwrap();
        let b = expand(text, &ctx("web-02"), Some(&seed)).unwrap();
        assert_eq!(a, expand(text, &ctx("web-01"), Some(&seed)).unwrap());
        assert_ne!(a, b);
        let parts: Vec<&str> = a.split(' ').collect();
        let key = parts[0].strip_prefix("key=").unwrap();
        assert_eq!(key.len(), 20);
        assert!(key.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(parts[1].split('-').count(), 3);
        assert_ne!(
            parts[0],
            parts[2].replace("again=", "key="),
            "each draw is its own"
        );
    }

    #[test]
    fn bad_randoms_and_randoms_without_a_seed_are_refused() {
        let seed = Seed::from_bytes(b"0123456789abcdef");
        let c = ctx("web-01");
        assert!(expand("{random:hex:0}", &c, Some(&seed)).is_err());
        assert!(expand("{random:hex:999}", &c, Some(&seed)).is_err());
        assert!(expand("{random:dice:3}", &c, Some(&seed)).is_err());
        let err = expand("{random:hex:8}", &c, None).unwrap_err();
        assert!(err.contains("seed_file"), "{err}");
    }
}
