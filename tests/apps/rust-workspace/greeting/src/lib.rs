//! The library member of the rust-workspace sample app.

/// The answer of the web process for a request count.
pub fn greeting(count: u64) -> String {
    let mut buf = itoa::Buffer::new();
    format!("rust-workspace greeting #{} from a workspace member (itoa from crates.io)\n", buf.format(count))
}
