//! What the integration tests share.

/// A small valid scenario: two events (one with a window and a modifier), an outcome gated on
/// an event, and a horizon outcome. Tests break or extend it one thing at a time.
pub const SMALL_SCENARIO: &str = r#"[scenario]
id = "small"
title = "Small"
horizon = 10
start = 2025-01-06
seed = 3

[events.talks]
label = "Talks open"
p = 0.3

[events.sanctions]
label = "Sanctions"
p = 0.1
window = [2, 8]
[events.sanctions.modifiers.stalled]
when = "not talks"
factor = 2.0

[outcomes.deal]
label = "Deal"
p = 0.2
when = "talks"

[outcomes.none]
label = "No deal"

[horizon]
default = "none"
"#;
