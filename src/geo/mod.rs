//! UK geography and NHS organisation codes: postcodes, GP practices and their groupings,
//! the reference files that describe them, and eligibility by coverage rules.

pub mod codes;
pub mod eligibility;
pub mod postcode;
pub mod reference;

pub use postcode::Postcode;
