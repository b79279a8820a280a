use phasegate_model::Scorecard;
use serde::Serialize;

/// Version of the JSON status document; bump on any incompatible change.
pub const STATUS_JSON_VERSION: u32 = 1;

#[derive(Serialize)]
struct Doc<'a> {
    version: u32,
    #[serde(flatten)]
    card: &'a Scorecard,
}

/// The scorecard as a JSON document (see `docs/status-json.md`).
pub fn status_json(card: &Scorecard) -> String {
    let mut s = serde_json::to_string_pretty(&Doc {
        version: STATUS_JSON_VERSION,
        card,
    })
    .expect("a scorecard always serializes");
    s.push('\n');
    s
}
