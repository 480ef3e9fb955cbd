//! Mock beacon node (in progress).
