//! The browser join page: the desktop app's `ui/`, compiled into the server and served at `/`, so
//! people without the app join from any browser (it then speaks socket.io from the page).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode, Uri},
    middleware::Next,
    response::{IntoResponse, Response},
    Router,
};
use tower_http::set_header::SetResponseHeaderLayer;

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
    ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))], file.data)
        .into_response()
}

/// Adds the page's security headers to every response of `router` that does not set its own.
pub fn with_security_headers(router: Router) -> Router {
    let headers = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)))
    })
}

/// `--web-root`, resolved once: requests are served only from inside it.
#[derive(Debug, Clone)]
pub struct WebRoot(Arc<PathBuf>);

impl WebRoot {
    pub fn new(root: &Path) -> std::io::Result<Self> {
        Ok(Self(Arc::new(root.canonicalize()?)))
    }

    /// Whether the URL path names a file inside the root: no dot-files or dot-folders (`.git`,
    /// `.env`), and nothing a symlink leads out to.
    fn allows(&self, url_path: &str) -> bool {
        let Ok(decoded) = percent_encoding::percent_decode_str(url_path).decode_utf8() else { return false };
        let segments: Vec<&str> = decoded.split('/').filter(|s| !s.is_empty()).collect();
        if segments.iter().any(|s| s.starts_with('.') || s.contains('\\')) {
            return false;
        }
        let path = segments.iter().fold(self.0.to_path_buf(), |path, s| path.join(s));
        // A missing file is ServeDir's 404; an existing one must resolve inside the root.
        match path.canonicalize() {
            Ok(real) => real.starts_with(&*self.0),
            Err(_) => true,
        }
    }
}

/// Middleware in front of `ServeDir` for `--web-root`: anything outside the root, and dot-files,
/// are "not found".
pub async fn confine(State(root): State<WebRoot>, request: Request, next: Next) -> Response {
    if !root.allows(request.uri().path()) {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    next.run(request).await
}
