//! The lessons compiled into the page.

use super::*;

/// The lessons compiled into the page, in the order a learner takes them: (id, content).
pub const CATALOGUE: &[(&str, &str)] = &[
    (
        "original-testbed",
        include_str!("../../lessons/original-testbed.md"),
    ),
    (
        "layers-of-a-connection",
        include_str!("../../lessons/layers-of-a-connection.md"),
    ),
    ("streams", include_str!("../../lessons/streams.md")),
    ("muxing", include_str!("../../lessons/muxing.md")),
    (
        "chandy-lamport",
        include_str!("../../lessons/chandy-lamport.md"),
    ),
    (
        "dht-distance",
        include_str!("../../lessons/dht-distance.md"),
    ),
    ("dht-lookup", include_str!("../../lessons/dht-lookup.md")),
    ("dht-records", include_str!("../../lessons/dht-records.md")),
    ("dht-churn", include_str!("../../lessons/dht-churn.md")),
    (
        "relays-and-nat",
        include_str!("../../lessons/relays-and-nat.md"),
    ),
];

/// Every lesson of the catalogue, parsed.
pub fn all() -> Vec<Lesson> {
    CATALOGUE
        .iter()
        .filter_map(|(id, text)| parse(id, text).ok())
        .collect()
}
