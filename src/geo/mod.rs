//! UK geography and NHS organisation codes: postcodes, GP practices and their groupings,
//! the reference files that describe them, and eligibility by coverage rules.
//!
//! What lives here (no I/O of its own; may import only `domain`, for coverage rules):
//! `postcode` (parsing and the parts rules match), `codes` (ODS and ONS codes),
//! `reference` (reading the NHS and ONS files), `eligibility` (whether a service's
//! coverage, ages and gender include a caller, and why).

pub mod codes;
pub mod eligibility;
pub mod postcode;
pub mod reference;

pub use postcode::Postcode;
