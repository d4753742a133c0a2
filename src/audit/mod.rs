//! Audits over several files: comparing two files, and verifying whole folders. Like
//! `crate::format`, this knows nothing of the window.

pub mod compare;
pub mod folder;
pub mod table;
pub mod words;
