//! Retrieval evaluation (filled in below).
