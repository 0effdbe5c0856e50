//! Full-text search: what is searchable and how it is split into words ([`text`]), the query
//! language ([`query`]) and result snippets ([`snippet`]). The index itself lives in the store
//! (`store::index`), changed in the same atomic write as the records.

pub mod query;
pub mod snippet;
pub mod text;

pub use crate::store::index::{Hit, Results};
pub use query::{Clause, Filter, MAX_QUERY_CHARS, Order, Query, QueryError};
pub use snippet::Snippet;
pub use text::{DocKind, DocStatus};
