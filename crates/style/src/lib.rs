//! kotodama-style: text -> `StyleProfile` (lexical signatures, syntactic patterns, pragmatic traits),
//! scoring and style plans. Pure: no ML runtime, no IO in the core.
