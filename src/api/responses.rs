//! The problem answers many operations share, each declared once: an operation
//! lists the type in its `#[utoipa::path(responses(...))]`, and says the answer in
//! its own words only where it has something of its own to say.
//!
//! Must not: build answers. These types only describe `Problem`s that the handlers
//! answer (`problem.rs` makes them).
#![allow(dead_code, reason = "described, never built: the handlers answer `Problem`")]

use super::problem::Problem;
use utoipa::IntoResponses;

/// One `application/problem+json` response per type: its status and description.
macro_rules! problems {
    ($($(#[$meta:meta])* $name:ident = ($status:tt, $description:literal);)*) => {$(
        $(#[$meta])*
        #[derive(IntoResponses)]
        #[response(status = $status, description = $description, content_type = "application/problem+json")]
        pub struct $name(Problem);
    )*};
}

problems! {
    /// A query parameter is wrong.
    InvalidQuery = (400, "A parameter is missing, malformed or unknown; `errors` names each");
    /// A write's body or its `If-Match` is wrong.
    InvalidBody = (400, "The body or `If-Match` is malformed, or a field is invalid; `errors` names every bad field");
    /// A credential id (token, session) is not one.
    MalformedId = (400, "The id is malformed");
    /// No or bad credentials.
    NotLoggedIn = (401, "Not logged in: no credentials, an unknown token or an inactive account");
    /// An editor's write.
    NotEditor = (403, "The account is not an editor, or a session write lacks the right `X-CSRF-Token`");
    /// An administrator's read.
    AdminOnly = (403, "Needs the admin role");
    /// An administrator's write.
    AdminWrite = (403, "Needs the admin role, or the CSRF token is missing");
    FacilityNotFound = (404, "No facility with this id");
    PlaceNotFound = (404, "No place name with this id");
    AccountNotFound = (404, "No such account");
    CollectionNotFound = (404, "No such collection");
    /// An OGC feature to change.
    FeatureNotFound = (404, "No such collection or feature");
    /// A write to `divisions` or `settlements`.
    ReadOnlyCollection = (405, "The collection is read only: divisions and settlements change by import");
    /// An OGC write's envelope.
    InvalidFeature = (400, "The body is not a GeoJSON Feature (or has a member other than type, id, geometry, properties), or `If-Match` or `Content-Crs` is malformed; `errors` names each");
    /// A Feature the collection does not take.
    FeatureRefused = (422, "The collection does not take this Feature (a facility that is not a Point, an unknown kind, a point outside the county, a naming rule); `errors` name the members");
    /// `If-Match` names an older version.
    Stale = (412, "The record changed since the version in `If-Match`");
    TooLarge = (413, "The body is too large");
    /// A naming rule's error finding.
    NamingRefused = (422, "A naming rule refuses the name: `errors` and `findings` say which");
    /// The coverage question's values conflict.
    CoverageRefused = (422, "Neither `kind` nor `rule` is given, the rule is for another kind, or the kind has no default rule; `errors` names the field");
    /// `county` and `region` name areas that do not overlap.
    AreaRefused = (422, "`county` is not within `region`: no record could match; `errors` names the field");
    /// A change to an existing record without `If-Match`.
    IfMatchMissing = (428, "`If-Match` is missing");
}
