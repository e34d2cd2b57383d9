//! signpost: the directory of local community services behind NHS Talking Therapies
//! signposting.

#![warn(missing_docs)]

pub mod api;
pub mod cli;
pub mod demo;
pub mod directory;
pub mod domain;
pub mod geo;
pub mod links;
pub mod mail;
pub mod ndjson;
pub mod oruk;
pub mod pages;
pub mod reference_data;
pub mod search;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod understand;
