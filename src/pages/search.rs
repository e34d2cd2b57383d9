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
    pub q: String,
    pub postcode: String,
    pub gp: String,
    pub age: String,
    pub gender: String,
    pub delivery_modes: Vec<String>,
    pub accepting: String,
    pub self_referral: bool,
    pub free: bool,
    pub language: String,
    pub sort: String,
    pub include_unknown: bool,
    pub category: String,
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
    pub value: &'static str,
    pub label: &'static str,
    pub count: u64,
    pub pressed: bool,
}

/// A search's answer, as the page shows it.
pub struct Results {
    pub total: usize,
    pub from: usize,
    pub to: usize,
    pub cards: Vec<Card>,
    pub facets: Vec<FacetView>,
    /// "Money and budgeting (from “money worries”)".
    pub understood: Vec<String>,
    pub note: Option<String>,
    pub suggestions: Vec<(String, String)>,
    pub risk: Option<RiskView>,
    pub caller_notes: Vec<String>,
    pub place: Option<String>,
    pub previous: Option<usize>,
    pub next: Option<usize>,
}

/// The risk block: shown above everything.
pub struct RiskView {
    pub because: Vec<String>,
    pub message: &'static str,
    pub contacts: Vec<CrisisContact>,
}

/// A GP practice offered when the typed GP matched several.
pub struct GpChoice {
    pub code: String,
    pub label: String,
}

/// The search page: the form, the risk banner, the results and the facets.
#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage {
    pub chrome: Chrome,
    pub form: SearchForm,
    pub errors: Errors,
    pub results: Option<Results>,
    pub gp_choices: Vec<GpChoice>,
    pub bookmark: String,
    pub modes: &'static [(&'static str, &'static str)],
    pub categories: &'static [taxonomy::Category],
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
