//! Rebuilds the crate when a migration is added or edited: `sqlx::migrate!` embeds the files of
//! `/migrations` at compile time, and cargo would not notice new files on its own.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
