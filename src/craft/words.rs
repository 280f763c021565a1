//! Plain lowercase words for `{random:words:N}`: 128 of them, 7 bits each.

pub const WORDS: [&str; 128] = [
    "amber", "anchor", "apple", "arrow", "autumn", "badge", "banner", "basket", "beacon", "birch",
    "blanket", "bottle", "bridge", "bronze", "button", "cabin", "candle", "canyon", "carbon",
    "castle", "cedar", "chalk", "cherry", "circle", "cloud", "cobalt", "copper", "coral", "cotton",
    "crystal", "daisy", "delta", "desert", "dragon", "eagle", "ember", "falcon", "feather", "fern",
    "forest", "fossil", "garden", "garnet", "ginger", "glacier", "granite", "harbor", "hazel",
    "helmet", "hollow", "honey", "island", "ivory", "jacket", "jasper", "jungle", "kettle",
    "lantern", "lemon", "lilac", "linen", "lotus", "magnet", "maple", "marble", "meadow", "mirror",
    "monkey", "mortar", "needle", "nickel", "oasis", "olive", "orbit", "orchid", "otter", "paddle",
    "panther", "parrot", "pebble", "pepper", "pilot", "planet", "pocket", "poppy", "prism",
    "quartz", "rabbit", "raven", "ribbon", "river", "rocket", "saddle", "salmon", "sapphire",
    "shadow", "signal", "silver", "spruce", "stone", "summit", "sunset", "tango", "thistle",
    "thunder", "timber", "topaz", "tulip", "tunnel", "velvet", "violet", "walnut", "willow",
    "window", "winter", "wizard", "yellow", "zephyr", "acorn", "bamboo", "cactus", "dolphin",
    "galaxy", "harvest", "iron", "jade", "kiwi", "lagoon",
];
