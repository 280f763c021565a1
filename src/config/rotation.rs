//! `[rotation]` (SPEC §11): checked, then applied to the file as read — each
//! rotated decky's `services` gains the pool's choice for the epoch of `at`,
//! so the rest of validation sees the desired state at that time.

use std::collections::BTreeSet;

use toml::Spanned;

use super::merge::Ctx;
use super::raw::{RawConfig, RawRotation, RawRotationDecky};
use crate::craft::{seed, Seed};
use crate::rotation::{self, every, Applied};

/// Checks `[rotation]` and applies its choice for time `at` (Unix seconds).
pub(super) fn apply(ctx: &mut Ctx<'_>, raws: &mut [(usize, RawConfig)], at: i64) -> Applied {
    let Some((src, table)) = table(ctx, raws) else {
        return Applied {
            at,
            ..Applied::default()
        };
    };
    let span = table.span();
    let rot: &RawRotation = table.get_ref();
    let every = period(ctx, src, rot, &span);
    let seed = the_seed(ctx, raws, src, &span);
    let catalog: BTreeSet<String> = raws
        .iter()
        .flat_map(|(_, r)| r.services.keys().map(|k| k.get_ref().clone()))
        .collect();
    let epoch = every.map_or(0, |e| rotation::epoch(at, e));
    let mut applied = Applied {
        every: every.unwrap_or_default(),
        at,
        epoch,
        ..Applied::default()
    };
    for (name, entry) in &rot.deckies {
        let name = name.get_ref();
        let rotated = Rotated::check(ctx, src, name, entry, &catalog);
        // Every entry is checked; a choice needs the period and the seed.
        if let (Some(_), Some(seed)) = (every, &seed) {
            let site = (src, &entry.span());
            rotated.apply(ctx, raws, site, (name, seed), &mut applied);
        }
    }
    applied
}

/// One decky's entry, checked: the services and the personas it rotates
/// among (`None` where it names none, or they are refused).
struct Rotated {
    pool: Option<(Vec<Spanned<String>>, usize)>,
    personas: Option<Vec<String>>,
}

impl Rotated {
    fn check(
        ctx: &mut Ctx<'_>,
        src: usize,
        name: &str,
        entry: &Spanned<RawRotationDecky>,
        catalog: &BTreeSet<String>,
    ) -> Rotated {
        let raw = entry.get_ref();
        let personas = raw.personas.as_ref();
        let personas = personas.and_then(|p| self::personas(ctx, src, name, p));
        // A pool is asked for unless the entry rotates personas alone.
        let wants_pool = raw.pool.is_some() || raw.personas.is_none();
        let pool = wants_pool.then(|| pool(ctx, src, name, entry, catalog));
        let pool = pool.flatten().map(|p| {
            let active = active(ctx, src, name, entry, p.len());
            (p, active)
        });
        Rotated { pool, personas }
    }

    /// Applies epoch `applied.epoch`'s choice to the decky, and records it.
    fn apply(
        self,
        ctx: &mut Ctx<'_>,
        raws: &mut [(usize, RawConfig)],
        site: (usize, &std::ops::Range<usize>),
        (name, seed): (&str, &Seed),
        applied: &mut Applied,
    ) {
        // A decky not in the file is told once, not once per thing rotated.
        let Some(decky) = decky_of(ctx, raws, site, name) else {
            return;
        };
        let epoch = applied.epoch;
        if let Some((pool, active)) = self.pool {
            let names: Vec<String> = pool.iter().map(|s| s.get_ref().clone()).collect();
            let chosen = rotation::choose(seed, name, epoch, &names, active);
            if let Some(()) = add_services(ctx, decky, site, name, &pool, &chosen) {
                applied.deckies.insert(name.to_string(), (names, chosen));
            }
        }
        if let Some(personas) = self.personas {
            let chosen = rotation::choose_persona(seed, name, epoch, &personas);
            if let Some(()) = set_persona(ctx, decky, site, name, &chosen) {
                applied
                    .personas
                    .insert(name.to_string(), (personas, chosen));
            }
        }
    }
}

/// The one `[rotation]` table, taken out of the files (the only one kept).
fn table(
    ctx: &mut Ctx<'_>,
    raws: &mut [(usize, RawConfig)],
) -> Option<(usize, Spanned<RawRotation>)> {
    let mut found: Option<(usize, Spanned<RawRotation>)> = None;
    for (src, raw) in raws.iter_mut() {
        let Some(t) = raw.rotation.take() else {
            continue;
        };
        match &found {
            Some((first_src, first)) => {
                let first_at = ctx.at(*first_src, &first.span());
                let message = format!("a second [rotation] table: the first is at {first_at}");
                ctx.err_help(*src, &t.span(), message, "keep one [rotation] table");
            }
            None => found = Some((*src, t)),
        }
    }
    found
}

fn period(
    ctx: &mut Ctx<'_>,
    src: usize,
    rot: &RawRotation,
    span: &std::ops::Range<usize>,
) -> Option<std::time::Duration> {
    let Some(e) = &rot.every else {
        let help = "add every = \"30m\" (DECNET's mutator rotates every 30 minutes)";
        ctx.err_help(src, span, "[rotation] has no every", help);
        return None;
    };
    match every::parse(e.get_ref()) {
        Ok(d) if d < every::MIN_EVERY => {
            let message = format!("[rotation] every = \"{}\" is too short", e.get_ref());
            let help = format!(
                "rotate at most every {}s: each rotation is a pass",
                every::MIN_EVERY.as_secs()
            );
            ctx.err_help(src, &e.span(), message, help);
            None
        }
        Ok(d) => Some(d),
        Err(m) => {
            let help = "write a number and a unit: \"90s\", \"30m\", \"6h\", \"1d\"";
            ctx.err_help(src, &e.span(), format!("[rotation] every: {m}"), help);
            None
        }
    }
}

/// `[fleet] seed_file`, read; a rotation without one is refused.
fn the_seed(
    ctx: &mut Ctx<'_>,
    raws: &[(usize, RawConfig)],
    src: usize,
    span: &std::ops::Range<usize>,
) -> Option<Seed> {
    let fleet = raws.iter().find_map(|(s, r)| {
        let f = r.fleet.as_ref()?.get_ref().seed_file.as_ref()?;
        Some((*s, f.clone()))
    });
    let Some((fsrc, file)) = fleet else {
        let help = "add seed_file = \".deckhand/seed\" to [fleet], then: head -c 32 /dev/urandom > .deckhand/seed && chmod 600 .deckhand/seed";
        let message = "[rotation] chooses from the seed, and [fleet] has no seed_file";
        ctx.err_help(src, span, message, help);
        return None;
    };
    let path = ctx.sources[fsrc].dir().join(file.get_ref());
    match seed::read(&path) {
        Ok(s) => Some(s),
        Err(e) => {
            let message = format!("[rotation] needs the seed: {e}");
            ctx.err_help(src, span, message, e.help());
            None
        }
    }
}

/// The decky's pool, each entry a catalog service listed once.
fn pool(
    ctx: &mut Ctx<'_>,
    src: usize,
    name: &str,
    entry: &Spanned<RawRotationDecky>,
    catalog: &BTreeSet<String>,
) -> Option<Vec<Spanned<String>>> {
    let Some(pool) = &entry.get_ref().pool else {
        let help = "add pool = [\"ssh\", \"http\", ...] (the services to rotate among), personas = [\"linux\", \"windows\", ...] (the personas), or both";
        ctx.err_help(
            src,
            &entry.span(),
            format!("[rotation.deckies.{name}] has no pool"),
            help,
        );
        return None;
    };
    let mut ok = !pool.get_ref().is_empty();
    if !ok {
        let message = format!("[rotation.deckies.{name}] pool is empty");
        ctx.err_help(src, &pool.span(), message, "name at least one service");
    }
    let mut seen = BTreeSet::new();
    for s in pool.get_ref() {
        let svc = s.get_ref();
        if !catalog.contains(svc) {
            let message = format!("rotation pool of decky {name}: unknown service '{svc}'");
            let help = "add it to [services], or remove it from the pool";
            ctx.err_help(src, &s.span(), message, help);
            ok = false;
        } else if !seen.insert(svc.clone()) {
            let message = format!("rotation pool of decky {name} lists '{svc}' twice");
            ctx.err_help(src, &s.span(), message, "list each service once");
            ok = false;
        }
    }
    ok.then(|| pool.get_ref().clone())
}

/// How many of the pool run at once (default 1).
fn active(
    ctx: &mut Ctx<'_>,
    src: usize,
    name: &str,
    entry: &Spanned<RawRotationDecky>,
    pool: usize,
) -> usize {
    let Some(a) = &entry.get_ref().active else {
        return 1;
    };
    match usize::try_from(*a.get_ref()) {
        Ok(n) if (1..=pool).contains(&n) => n,
        _ => {
            let message = format!("[rotation.deckies.{name}] active = {}", a.get_ref());
            let help = format!("between 1 and the pool's size ({pool})");
            ctx.err_help(src, &a.span(), message, help);
            1
        }
    }
}

/// The personas a decky rotates among: known, each once, at least two.
fn personas(
    ctx: &mut Ctx<'_>,
    src: usize,
    name: &str,
    list: &Spanned<Vec<Spanned<String>>>,
) -> Option<Vec<String>> {
    let known = crate::persona::names();
    let mut ok = list.get_ref().len() >= 2;
    if !ok {
        let message = format!("[rotation.deckies.{name}] personas names fewer than two");
        let help = "name two personas or more to rotate among, or set persona on the decky";
        ctx.err_help(src, &list.span(), message, help);
    }
    let mut seen = BTreeSet::new();
    for p in list.get_ref() {
        let persona = p.get_ref();
        if !known.contains(&persona.as_str()) {
            let message = format!("rotation personas of decky {name}: unknown persona '{persona}'");
            let help = format!("one of: {}", known.join(", "));
            ctx.err_help(src, &p.span(), message, help);
            ok = false;
        } else if !seen.insert(persona.clone()) {
            let message = format!("rotation personas of decky {name} list '{persona}' twice");
            ctx.err_help(src, &p.span(), message, "list each persona once");
            ok = false;
        }
    }
    ok.then(|| list.get_ref().iter().map(|p| p.get_ref().clone()).collect())
}

/// The decky `name` of the files, to change as the rotation chooses; a
/// decky not in the file is refused.
fn decky_of<'r>(
    ctx: &mut Ctx<'_>,
    raws: &'r mut [(usize, RawConfig)],
    (src, span): (usize, &std::ops::Range<usize>),
    name: &str,
) -> Option<&'r mut super::raw::RawDecky> {
    let decky = raws.iter_mut().find_map(|(_, r)| {
        r.deckies
            .iter_mut()
            .find(|(k, _)| k.get_ref() == name)
            .map(|(_, d)| d)
    });
    if decky.is_none() {
        let message = format!("[rotation.deckies.{name}]: there is no decky '{name}'");
        ctx.err_help(src, span, message, "name a decky of [deckies]");
    }
    Some(decky?.get_mut())
}

/// Sets decky `name`'s persona to the one chosen; refuses a decky that
/// sets a persona of its own.
fn set_persona(
    ctx: &mut Ctx<'_>,
    decky: &mut super::raw::RawDecky,
    (src, span): (usize, &std::ops::Range<usize>),
    name: &str,
    chosen: &str,
) -> Option<()> {
    if let Some(own) = &decky.persona {
        let message = format!(
            "decky {name} sets persona = \"{}\", and its rotation rotates personas",
            own.get_ref()
        );
        let help = "keep persona on the decky (fixed) or personas in [rotation.deckies] (rotated), not both";
        ctx.err_help(src, span, message, help);
        return None;
    }
    decky.persona = Some(Spanned::new(span.clone(), chosen.to_string()));
    Some(())
}

/// Adds the chosen services to decky `name`'s `services`; refuses one
/// that already lists a pool service.
fn add_services(
    ctx: &mut Ctx<'_>,
    decky: &mut super::raw::RawDecky,
    (src, span): (usize, &std::ops::Range<usize>),
    name: &str,
    pool: &[Spanned<String>],
    chosen: &[String],
) -> Option<()> {
    let services = decky
        .services
        .get_or_insert_with(|| Spanned::new(span.clone(), Vec::new()))
        .get_mut();
    if let Some(fixed) = services.iter().find(|s| pool.contains(s)) {
        let message = format!(
            "decky {name} always runs '{}', and its rotation pool has it too",
            fixed.get_ref()
        );
        let help = "keep a service in services (always) or in the pool (rotated), not both";
        ctx.err_help(src, span, message, help);
        return None;
    }
    services.extend(
        pool.iter()
            .filter(|s| chosen.contains(s.get_ref()))
            .cloned(),
    );
    Some(())
}
