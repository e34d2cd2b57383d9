//! Open Referral UK 3.0 (HSDS-UK) as a format: mapping records to the standard's shapes
//! (`mapping`), reading other directories' feeds into records (`reading`) and fetching
//! them politely (`pulling`). Used by the directory layer (sources, import) and by the
//! feed's routes in `api::feed`; imports nothing from the front doors.

pub mod mapping;
pub mod pulling;
pub mod reading;
