//! Pure rules and types of Tribune: no I/O, no HTTP, no database (see ARCHITECTURE.md, rule 1).

pub mod activity_json;
pub mod handle;
pub mod markdown;
pub mod member;
pub mod negotiate;
pub mod network;
pub mod post;
pub mod retry;
pub mod sanitize;
pub mod scope;
pub mod text;
pub mod urls;

#[cfg(test)]
pub(crate) mod test_json;
