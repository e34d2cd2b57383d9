//! Integration tests: the real server on port 0, its own database and index.

mod access;
mod geo;
mod helpers;
mod links;
mod ndjson;
mod openapi;
mod oruk;
mod pages;
mod reminders;
mod search;
mod services;
mod sources;
#[path = "../support/mod.rs"]
mod support;
mod understanding;
