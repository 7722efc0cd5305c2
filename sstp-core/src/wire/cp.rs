//! Placeholder: filled in by the wire-layer work.
