//! poolvc validator client library.
