//! Staff sessions: an API key is exchanged once for a session cookie (HttpOnly,
//! SameSite=Strict, Secure over TLS); every form that changes something carries the
//! session's CSRF token. Sessions live in this process's memory: a restart signs
//! everyone out, and the key itself is never kept, put in a URL or shown on a page.

use super::forms::Form;
use super::{Chrome, render};
use crate::api::AppState;
use crate::domain::access::Principal;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use std::collections::HashMap;
use std::future::{Ready, ready};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

const SESSION_COOKIE: &str = "sp_session";
/// A token for the sign-in form, before there is a session.
const SIGN_IN_COOKIE: &str = "sp_sign_in";
/// A working day, then sign in again.
const SESSION_LIFETIME: Duration = Duration::from_secs(9 * 60 * 60);

/// One signed-in member of staff.
#[derive(Clone)]
pub struct Session {
    /// Who signed in, as their API key says.
    pub principal: Principal,
    /// The token every form that changes something must carry.
    pub csrf: String,
    expires: Instant,
}

/// Every open session, by its cookie's value.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, Session>>);

impl Sessions {
    fn open(&self, principal: Principal, lifetime: Duration) -> String {
        let token = random_token();
        let session = Session {
            principal,
            csrf: random_token(),
            expires: Instant::now() + lifetime,
        };
        let mut all = self.0.lock().expect("sessions lock");
        let now = Instant::now();
        all.retain(|_, s| s.expires > now);
        all.insert(token.clone(), session);
        token
    }

    fn get(&self, token: &str) -> Option<Session> {
        let all = self.0.lock().expect("sessions lock");
        all.get(token)
            .filter(|s| s.expires > Instant::now())
            .cloned()
    }

    fn close(&self, token: &str) {
        self.0.lock().expect("sessions lock").remove(token);
    }
}

fn random_token() -> String {
    crate::domain::text::random_hex()
}

/// Who is looking at a page: anyone, or a signed-in member of staff.
pub struct Visitor {
    session: Option<(String, Session)>,
    secure: bool,
}

impl FromRequest for Visitor {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.cookie(SESSION_COOKIE).and_then(|c| {
            let sessions = req.app_data::<web::Data<Sessions>>()?;
            let token = c.value().to_string();
            sessions.get(&token).map(|s| (token, s))
        });
        ready(Ok(Visitor {
            session,
            secure: req.connection_info().scheme() == "https",
        }))
    }
}

impl Visitor {
    /// Who is signed in, if anyone.
    pub fn principal(&self) -> Option<&Principal> {
        self.session.as_ref().map(|(_, s)| &s.principal)
    }

    /// The session's CSRF token, or nothing when signed out.
    pub fn csrf(&self) -> &str {
        self.session.as_ref().map_or("", |(_, s)| s.csrf.as_str())
    }

    /// True when the form carries this session's CSRF token.
    pub fn csrf_ok(&self, form: &Form) -> bool {
        match (&self.session, form.get("csrf")) {
            (Some((_, s)), Some(given)) => bool::from(s.csrf.as_bytes().ct_eq(given.as_bytes())),
            _ => false,
        }
    }

    fn cookie<'c>(&self, name: &'c str, value: String, max_age: CookieDuration) -> Cookie<'c> {
        Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Strict)
            .max_age(max_age)
            .finish()
    }
}

/// The answer when a form's CSRF token is missing or stale: nothing was changed.
pub fn refused(visitor: &Visitor) -> HttpResponse {
    super::message(
        visitor,
        StatusCode::FORBIDDEN,
        "This form has expired",
        "Nothing was changed: the form was older than your session, or came from another page. Go back, reload the page and try again.",
    )
}

/// The answer when a page needs a signed-in member of staff.
pub fn sign_in_first(visitor: &Visitor) -> HttpResponse {
    super::message(
        visitor,
        StatusCode::UNAUTHORIZED,
        "Sign in to see this page",
        "This page is for staff: sign in with your signpost key first.",
    )
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    token: String,
    error: Option<String>,
}

fn sign_in_form(visitor: &Visitor, error: Option<String>, status: StatusCode) -> HttpResponse {
    let token = random_token();
    let mut response = render(
        &SignInPage {
            chrome: Chrome::new("Staff sign in", visitor),
            token: token.clone(),
            error,
        },
        status,
    );
    let cookie = visitor.cookie(SIGN_IN_COOKIE, token, CookieDuration::minutes(30));
    if let Err(e) = response.add_cookie(&cookie) {
        tracing::error!(error = %e, "setting the sign-in cookie");
    }
    response
}

/// `GET /sign-in`
pub async fn sign_in_page(visitor: Visitor) -> HttpResponse {
    sign_in_form(&visitor, None, StatusCode::OK)
}

/// `POST /sign-in`: exchanges a key for a session.
pub async fn sign_in(
    req: HttpRequest,
    visitor: Visitor,
    state: web::Data<AppState>,
    sessions: web::Data<Sessions>,
    body: web::Bytes,
) -> HttpResponse {
    let form = Form::parse(&body);
    let expected = req.cookie(SIGN_IN_COOKIE).map(|c| c.value().to_string());
    let given = form.get("csrf").unwrap_or("");
    if !expected.is_some_and(|e| bool::from(e.as_bytes().ct_eq(given.as_bytes()))) {
        return sign_in_form(
            &visitor,
            Some("The form had expired; enter your key again.".into()),
            StatusCode::FORBIDDEN,
        );
    }
    let key = form.get("key").unwrap_or("").trim();
    if key.is_empty() {
        return sign_in_form(
            &visitor,
            Some("Enter your signpost key: it starts with sp_".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let principal = match state
        .directory
        .authenticate(key, state.admin_key_digest)
        .await
    {
        Ok(p) => p,
        Err(crate::directory::DirectoryError::Unauthorized(why)) => {
            return sign_in_form(
                &visitor,
                Some(format!("That key cannot sign in: {why}")),
                StatusCode::UNAUTHORIZED,
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "checking a key at sign-in");
            return super::message(
                &visitor,
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is not working just now",
                "The directory could not check your key. Try again in a minute.",
            );
        }
    };
    let mut response = start_session(&visitor, &sessions, principal, SESSION_LIFETIME, "/");
    let mut gone = visitor.cookie(SIGN_IN_COOKIE, String::new(), CookieDuration::ZERO);
    gone.make_removal();
    let _ = response.add_cookie(&gone);
    response
}

/// Opens a session for `principal` lasting `lifetime` and sends the browser to
/// `location` with its cookie (sign-in, and "edit the details" from a reminder).
pub fn start_session(
    visitor: &Visitor,
    sessions: &Sessions,
    principal: Principal,
    lifetime: Duration,
    location: &str,
) -> HttpResponse {
    let token = sessions.open(principal, lifetime);
    let cookie = visitor.cookie(
        SESSION_COOKIE,
        token,
        CookieDuration::seconds(lifetime.as_secs() as i64),
    );
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .cookie(cookie)
        .finish()
}

/// `POST /sign-out`
pub async fn sign_out(
    visitor: Visitor,
    sessions: web::Data<Sessions>,
    body: web::Bytes,
) -> HttpResponse {
    let form = Form::parse(&body);
    let Some((token, _)) = &visitor.session else {
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/"))
            .finish();
    };
    if !visitor.csrf_ok(&form) {
        return refused(&visitor);
    }
    sessions.close(token);
    let mut gone = visitor.cookie(SESSION_COOKIE, String::new(), CookieDuration::ZERO);
    gone.make_removal();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .cookie(gone)
        .finish()
}
