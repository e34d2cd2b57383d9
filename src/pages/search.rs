//! The search page (`/`): one box for the caller's words, the caller's place and
//! filters, results with everything needed to refer at a glance.
//!
//! The caller's words, postcode, GP and age come only by POST. `GET /` runs a search of
//! the filters alone (category, delivery, accepting, self-referral, free, language), so
//! a filtered list can be bookmarked; after a POST the page's script puts just those
//! filters in the address bar.

use super::forms::{Errors, Form};
use super::session::Visitor;
use super::view::Card;
use super::{Chrome, render};
use crate::api::AppState;
use crate::api::extract::Params;
use crate::api::search_request;
use crate::directory::DirectoryError;
use crate::domain::taxonomy;
use crate::geo::codes;
use crate::search::{CrisisContact, MatchKind, SearchResponse};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

/// Results per page: a navigator reads the first few; more are a button away.
const PAGE_SIZE: usize = 10;
/// Practices offered when a typed GP matches several.
const GP_CHOICES: u32 = 8;

/// The form's values as typed, shown again with the results or the errors.
#[derive(Debug, Default, Clone)]
pub struct SearchForm {
    /// The caller's words, as typed.
    pub q: String,
    /// The caller's postcode, as typed.
    pub postcode: String,
    /// The caller's GP practice: its code, or part of its name, street or postcode to look up.
    pub gp: String,
    /// The caller's age in years, as typed.
    pub age: String,
    /// `female`, `male`, or empty when not given.
    pub gender: String,
    /// Delivery modes ticked, as the API names them.
    pub delivery_modes: Vec<String>,
    /// `open`, `waitlist` (open or waiting list), or empty for any.
    pub accepting: String,
    /// Only services people may refer themselves to.
    pub self_referral: bool,
    /// Only free services.
    pub free: bool,
    /// An ISO 639 code a service must offer, or empty for any.
    pub language: String,
    /// `distance` for nearest first; anything else sorts by best match.
    pub sort: String,
    /// Keep services whose coverage cannot be decided for this caller.
    pub include_unknown: bool,
    /// A taxonomy id to narrow to, or empty for every category.
    pub category: String,
    /// Results to skip, for later pages (at most 1000).
    pub offset: usize,
}

/// Filters safe to keep in a URL: nothing here says who the caller is.
const BOOKMARKABLE: &[&str] = &[
    "category",
    "delivery_mode",
    "accepting",
    "referral",
    "free",
    "language",
    "include_unknown",
];

impl SearchForm {
    fn read(form: &Form) -> Self {
        let flag = |name: &str| form.get(name).is_some_and(|v| v == "true" || v == "self");
        let mut f = SearchForm {
            q: form.text("q"),
            postcode: form.text("postcode"),
            gp: form.text("gp"),
            age: form.text("age"),
            gender: form.text("gender"),
            delivery_modes: form.all("delivery_mode"),
            accepting: form.text("accepting"),
            self_referral: flag("referral"),
            free: flag("free"),
            language: form.text("language"),
            sort: form.text("sort"),
            include_unknown: flag("include_unknown"),
            category: form.text("category"),
            offset: form.text("offset").parse().unwrap_or(0).min(1000),
        };
        if let Some(c) = form.get("set_category") {
            f.category = c.trim().to_string();
            f.offset = 0;
        }
        if let Some(code) = form.get("choose_gp") {
            f.gp = code.trim().to_string();
        }
        f
    }

    /// The form as the API's search parameters.
    fn params(&self) -> Params {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: &str| {
            if !v.is_empty() {
                pairs.push((k.to_string(), v.to_string()));
            }
        };
        put("q", &self.q);
        put("postcode", &self.postcode);
        put("gp", &self.gp);
        put("age", &self.age);
        put("gender", &self.gender);
        for m in &self.delivery_modes {
            put("delivery_mode", m);
        }
        put("accepting", &self.accepting);
        put("referral", if self.self_referral { "self" } else { "" });
        put("free", if self.free { "true" } else { "" });
        put("language", &self.language);
        put("sort", &self.sort);
        put(
            "include_unknown",
            if self.include_unknown { "true" } else { "" },
        );
        put("category", &self.category);
        put("offset", &self.offset.to_string());
        put("limit", &PAGE_SIZE.to_string());
        Params::from_pairs(pairs)
    }

    /// The bookmarkable part, as a URL.
    fn bookmark(&self) -> String {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        let params = self.params();
        for name in BOOKMARKABLE {
            for v in params.all(name) {
                url.append_pair(name, v);
            }
        }
        let query = url.finish();
        if query.is_empty() {
            "/".into()
        } else {
            format!("/?{query}")
        }
    }

    fn has_caller(&self) -> bool {
        !(self.postcode.is_empty() && self.gp.is_empty())
    }

    /// Whether the form had this delivery mode ticked.
    pub fn mode_checked(&self, mode: &&str) -> bool {
        self.delivery_modes.iter().any(|m| m == mode)
    }
}

/// A category to narrow to, with its count.
pub struct FacetView {
    /// The taxonomy id.
    pub value: &'static str,
    /// The category's name.
    pub label: &'static str,
    /// Matching services in it.
    pub count: u64,
    /// True when the search is narrowed to it already.
    pub pressed: bool,
}

/// A search's answer, as the page shows it.
pub struct Results {
    /// Services matching in all.
    pub total: usize,
    /// The position of the first result shown, counting from 1.
    pub from: usize,
    /// The position of the last result shown.
    pub to: usize,
    /// This page's results.
    pub cards: Vec<Card>,
    /// Categories to narrow to, with their counts.
    pub facets: Vec<FacetView>,
    /// "Money and budgeting (from “money worries”)".
    pub understood: Vec<String>,
    /// Why the results are not plain matches (partial, suggested or none), in words.
    pub note: Option<String>,
    /// The closest needs to a question that matched nothing, as (taxonomy id, name).
    pub suggestions: Vec<(String, String)>,
    /// The risk block, when the question expresses risk.
    pub risk: Option<RiskView>,
    /// What to check with the caller: a terminated postcode, a practice no longer active.
    pub caller_notes: Vec<String>,
    /// The caller's place as understood, e.g. "postcode M14 5AB, registered at …".
    pub place: Option<String>,
    /// The previous page's offset; None on the first page.
    pub previous: Option<usize>,
    /// The next page's offset; None on the last page (or past 1000).
    pub next: Option<usize>,
}

/// The risk block: shown above everything.
pub struct RiskView {
    /// The question's words that expressed risk.
    pub because: Vec<String>,
    /// What the navigator is asked to do.
    pub message: &'static str,
    /// The crisis contacts to read out.
    pub contacts: Vec<CrisisContact>,
}

/// A GP practice offered when the typed GP matched several.
pub struct GpChoice {
    /// The practice's ODS code.
    pub code: String,
    /// Its name, address, postcode and code, to pick it by.
    pub label: String,
}

/// The search page: the form, the risk banner, the results and the facets.
#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage {
    /// The page's frame: its title and who is signed in.
    pub chrome: Chrome,
    /// The form as typed.
    pub form: SearchForm,
    /// What is wrong with the form, by field.
    pub errors: Errors,
    /// The search's answer; None before a search or when the form has errors.
    pub results: Option<Results>,
    /// Practices to pick from when the GP typed matched several.
    pub gp_choices: Vec<GpChoice>,
    /// This page's address with the bookmarkable filters alone, e.g. `/?category=debt`.
    pub bookmark: String,
    /// Delivery modes as (API name, words), in the order the form lists them.
    pub modes: &'static [(&'static str, &'static str)],
    /// Every taxonomy category, for the category list.
    pub categories: &'static [taxonomy::Category],
    /// Known languages as (ISO 639-1 code, English name), by name.
    pub languages: Vec<(&'static str, &'static str)>,
}

impl SearchPage {
    fn new(visitor: &Visitor, form: SearchForm) -> Self {
        SearchPage {
            chrome: Chrome::new("Find a service", visitor),
            bookmark: form.bookmark(),
            form,
            errors: Errors::default(),
            results: None,
            gp_choices: Vec::new(),
            modes: super::view::DELIVERY_MODES,
            categories: taxonomy::CATEGORIES,
            languages: crate::understand::languages::known(),
        }
    }
}

/// `GET /`: the empty form, or a search of the bookmarkable filters alone.
pub async fn get(req: HttpRequest, visitor: Visitor, state: web::Data<AppState>) -> HttpResponse {
    let query = Form::parse(req.query_string().as_bytes());
    let filters = query.params(BOOKMARKABLE);
    let form = SearchForm::read(&Form::parse(
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                BOOKMARKABLE
                    .iter()
                    .flat_map(|n| filters.all(n).into_iter().map(move |v| (*n, v))),
            )
            .finish()
            .as_bytes(),
    ));
    let mut page = SearchPage::new(&visitor, form);
    if page.bookmark != "/" {
        run(&state, &mut page).await;
    }
    let status = status_for(&page);
    render(&page, status)
}

/// `POST /`: a search with the caller's words and place.
pub async fn post(visitor: Visitor, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let form = SearchForm::read(&Form::parse(&body));
    let mut page = SearchPage::new(&visitor, form);
    pick_gp(&state, &mut page).await;
    if page.errors.is_empty() {
        run(&state, &mut page).await;
    }
    let status = status_for(&page);
    render(&page, status)
}

fn status_for(page: &SearchPage) -> StatusCode {
    if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// A GP typed as a name, street or postcode becomes a practice code: one match is taken,
/// several are offered to pick from, none is an error beside the field.
async fn pick_gp(state: &AppState, page: &mut SearchPage) {
    let typed = page.form.gp.clone();
    if typed.is_empty() || codes::parse_gp_practice(&typed).is_ok() {
        return;
    }
    if typed.chars().count() < 2 || typed.chars().count() > 100 {
        page.errors.add(
            "gp",
            "Type part of the practice's name, street or postcode (2 to 100 characters), or its code such as P84004",
        );
        return;
    }
    match state.directory.find_practices(&typed, GP_CHOICES).await {
        Ok(found) if found.len() == 1 => page.form.gp = found[0].code.clone(),
        Ok(found) if found.is_empty() => page.errors.add(
            "gp",
            format!("No GP practice matches '{typed}': try part of its name, its street or postcode, or its code such as P84004"),
        ),
        Ok(found) => {
            page.errors.add(
                "gp",
                format!("{} practices match '{typed}': pick one below", found.len()),
            );
            page.gp_choices = found
                .into_iter()
                .map(|p| GpChoice {
                    label: format!("{}, {} {} ({})", p.name, p.address, p.postcode, p.code),
                    code: p.code,
                })
                .collect();
        }
        Err(e) => page.errors.add("gp", e.to_string()),
    }
}

async fn run(state: &AppState, page: &mut SearchPage) {
    let params = page.form.params();
    let (request, place) = match search_request(&params, state.search_settings.capacity_stale_after)
    {
        Ok(r) => r,
        Err(e) => {
            page.errors.add_api(&e);
            return;
        }
    };
    match state.directory.search(request, place).await {
        Ok(response) => page.results = Some(results(response, &page.form)),
        Err(DirectoryError::BadQuery { name, detail }) => page.errors.add(name, detail),
        Err(e) => {
            tracing::error!(error = %e, "search from the page");
            page.errors.add(
                "form",
                "The search could not run just now; try again in a moment.",
            );
        }
    }
}

fn results(r: SearchResponse, form: &SearchForm) -> Results {
    let note = match r.match_kind {
        Some(MatchKind::Partial) if !r.ignored_words.is_empty() => Some(format!(
            "No service matched every word; these match without: {}",
            r.ignored_words.join(", ")
        )),
        Some(MatchKind::Partial) => {
            Some("No service matched every word; these match some of them.".into())
        }
        Some(MatchKind::Suggested) => {
            Some("Nothing matched these words. These are services for the closest needs:".into())
        }
        Some(MatchKind::None) => Some(
            "Nothing matched. Try fewer or other words, or pick a category on the left.".into(),
        ),
        _ => None,
    };
    let caller: Option<CallerSeen> = r.caller.and_then(|v| serde_json::from_value(v).ok());
    let place = caller.as_ref().map(|c| {
        let mut parts = Vec::new();
        if let Some(p) = &c.postcode {
            parts.push(format!("postcode {p}"));
        }
        if let Some(p) = &c.gp_practice {
            parts.push(format!("registered at {} ({})", p.name, p.code));
        }
        parts.join(", ")
    });
    let from = r.offset + 1;
    let to = r.offset + r.hits.len();
    Results {
        total: r.total,
        from,
        to,
        cards: r.hits.iter().map(Card::new).collect(),
        facets: r
            .facets
            .category
            .iter()
            .map(|f| FacetView {
                value: f.value,
                label: taxonomy::find(f.value).map_or(f.value, |c| c.name),
                count: f.count,
                pressed: form.category == f.value,
            })
            .collect(),
        understood: r
            .understood
            .map(|u| {
                u.needs
                    .iter()
                    .map(|n| match n.because.first() {
                        Some(b) => format!("{} (from “{b}”)", n.name),
                        None => n.name.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        note,
        suggestions: r.suggestions.into_iter().map(|s| (s.id, s.name)).collect(),
        risk: r.risk.map(|k| RiskView {
            because: k.because,
            message: k.message,
            contacts: k.contacts,
        }),
        caller_notes: caller.map(|c| c.notes).unwrap_or_default(),
        place: place.filter(|p| !p.is_empty()),
        previous: (r.offset > 0).then(|| r.offset.saturating_sub(PAGE_SIZE)),
        next: (to < r.total && r.offset + PAGE_SIZE <= 1000).then_some(r.offset + PAGE_SIZE),
    }
}

/// What the search understood of the caller's place (its `caller` object).
#[derive(serde::Deserialize)]
struct CallerSeen {
    postcode: Option<String>,
    gp_practice: Option<PracticeSeen>,
    #[serde(default)]
    notes: Vec<String>,
}

#[derive(serde::Deserialize)]
struct PracticeSeen {
    code: String,
    name: String,
}

impl SearchForm {
    /// Hidden fields that carry the caller to a service's page (in a POST body).
    pub fn caller_fields(&self) -> Vec<(&'static str, &str)> {
        [
            ("postcode", self.postcode.as_str()),
            ("gp", self.gp.as_str()),
            ("age", self.age.as_str()),
            ("gender", self.gender.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect()
    }

    /// Whether the caller section of the form is shown open (something about the caller was given).
    pub fn shows_caller(&self) -> bool {
        self.has_caller()
    }
}
