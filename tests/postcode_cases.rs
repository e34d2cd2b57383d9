//! The public postcode parsing cases in ../shared/data/geo/postcode-parser-cases.

use serde_json::Value;
use signpost::geo::Postcode;
use std::path::PathBuf;

fn cases(name: &str) -> Option<Vec<(String, Value)>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/geo/postcode-parser-cases")
        .join(name);
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipping: {} is not there", path.display());
        return None;
    };
    let doc: Value = serde_json::from_str(&text).unwrap();
    Some(
        doc["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["base"].as_str().unwrap().to_string(),
                    t["expected"].clone(),
                )
            })
            .collect(),
    )
}

fn check(file: &str, part: impl Fn(&Postcode) -> Option<String>) {
    let Some(all) = cases(file) else { return };
    for (input, expected) in all {
        let got = Postcode::parse(&input).ok().and_then(|p| part(&p));
        assert_eq!(got.as_deref(), expected.as_str(), "{file}: {input}");
    }
}

#[test]
fn validation() {
    let Some(all) = cases("validation.json") else {
        return;
    };
    for (input, expected) in all {
        assert_eq!(
            Postcode::parse(&input).is_ok(),
            expected.as_bool().unwrap(),
            "{input}"
        );
    }
}

#[test]
fn parts() {
    check("normalisation.json", |p| Some(p.to_string()));
    check("outcodes.json", |p| Some(p.outward().to_string()));
    check("incodes.json", |p| Some(p.inward().to_string()));
    check("areas.json", |p| Some(p.area().to_string()));
    check("districts.json", |p| Some(p.district().to_string()));
    check("sub-districts.json", |p| {
        p.sub_district().map(str::to_string)
    });
    check("sectors.json", |p| Some(p.sector()));
    check("units.json", |p| Some(p.unit_letters().to_string()));
}
