//! poolvc
fn main() {}
