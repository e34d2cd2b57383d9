//! UK geography and NHS organisation codes: postcodes, GP practices and their groupings.

pub mod codes;
pub mod postcode;

pub use postcode::Postcode;
