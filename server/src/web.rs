//! The browser join page: the desktop app's `ui/`, compiled into the server and served at `/`, so
//! people without the app join from any browser (it then speaks socket.io from the page).

use axum::{
    http::{header, HeaderValue, StatusCode, Uri},
    response::{IntoResponse, Response},
};

/// The app's web UI, embedded at build time.
#[derive(rust_embed::Embed)]
#[folder = "../ui"]
struct WebUi;

/// Same rules as the desktop app's CSP: our own scripts and styles only, sockets to this origin only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// Serves a file of the embedded UI (`/` is `index.html`).
pub async fn serve(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let Some(file) = WebUi::get(path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mime =
        HeaderValue::from_str(file.metadata.mimetype()).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        file.data,
    )
        .into_response()
}
