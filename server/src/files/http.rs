//! The file endpoints (protocol §2.11): `POST /files`, `GET /files/<id>/<name>` and
//! `GET /files/<id>/thumbnail`. Every refusal is a status and `{"error", "reason"}` in words.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use base64::Engine;
use confab_protocol::{now_ms, Attachment};
use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;
use serde_json::json;

use super::{blobs::valid_id, pictures, Audience, FileMeta, Files};
use crate::chat::Chat;

/// What the file endpoints need.
#[derive(Clone)]
struct Context {
    files: Arc<Files>,
    chat: Arc<Chat>,
    scheme: &'static str,
}

/// The routes, for a server that speaks `https` when `tls`.
pub fn routes(files: Arc<Files>, chat: Arc<Chat>, tls: bool) -> Router {
    let context = Context { files, chat, scheme: if tls { "https" } else { "http" } };
    Router::new().route("/files", post(upload)).route("/files/{id}/{name}", get(download)).with_state(context)
}

fn refusal(status: StatusCode, code: &str, reason: impl Into<String>) -> Response {
    (status, Json(json!({"error": code, "reason": reason.into()}))).into_response()
}

fn unauthorized() -> Response {
    let mut response =
        refusal(StatusCode::UNAUTHORIZED, "unauthorized", "join the chat first: this needs your file token");
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Confab chat\""));
    response
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

/// A file name as a file manager could show it: no folders, no control characters, bounded.
fn clean_name(raw: Option<&HeaderValue>) -> String {
    let decoded = raw.and_then(|v| v.to_str().ok()).map(|v| percent_decode_str(v).decode_utf8_lossy().into_owned());
    let name: String = decoded
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_control() || matches!(c, '/' | '\\') { '_' } else { c })
        .take(200)
        .collect();
    match name.trim().trim_start_matches('.') {
        "" => "file".to_owned(),
        name => name.to_owned(),
    }
}

/// A MIME type as given, if it looks like one (`type/subtype`, token characters only).
fn clean_type(raw: Option<&HeaderValue>) -> String {
    let given = raw.and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()).unwrap_or_default().trim();
    let token =
        |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
    match given.split_once('/') {
        Some((kind, sub)) if token(kind) && token(sub) && given.len() <= 100 => given.to_ascii_lowercase(),
        _ => "application/octet-stream".to_owned(),
    }
}

async fn upload(State(context): State<Context>, headers: HeaderMap, body: Body) -> Response {
    let files = &context.files;
    let Some((sid, key)) = bearer(&headers).and_then(|token| files.holder(token)) else { return unauthorized() };
    // The token's socket must still hold its name here: uploads go to the node the user is on.
    if !context.chat.holds(sid, &key) {
        return unauthorized();
    }
    let Some(length) = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok()) else {
        return refusal(StatusCode::LENGTH_REQUIRED, "length_required", "say the file's size (Content-Length)");
    };
    let max = files.limits.max_bytes;
    if length > max {
        let most = humansize::format_size(max, humansize::DECIMAL);
        return refusal(StatusCode::PAYLOAD_TOO_LARGE, "too_large", format!("files can be at most {most}"));
    }
    if files.uploads.check_key(&key).is_err() {
        return refusal(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many uploads: wait a minute");
    }
    let Ok(_reading) = files.reading.acquire().await else {
        return refusal(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the server is stopping");
    };
    let bytes = match axum::body::to_bytes(body, length as usize).await {
        Ok(bytes) if bytes.len() as u64 == length => bytes,
        _ => return refusal(StatusCode::BAD_REQUEST, "incomplete", "the file did not arrive as announced"),
    };
    let to_read = bytes.clone();
    let picture = tokio::task::spawn_blocking(move || pictures::read(&to_read)).await.ok().flatten();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let name = clean_name(headers.get("x-confab-file-name"));
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let attachment = Attachment {
        url: format!("/files/{id}/{}", utf8_percent_encode(&name, NON_ALPHANUMERIC)),
        thumbnail: picture.as_ref().map(|_| format!("/files/{id}/thumbnail")),
        width: picture.as_ref().map(|p| p.width),
        height: picture.as_ref().map(|p| p.height),
        id,
        name,
        size: length,
        mime: clean_type(headers.get(header::CONTENT_TYPE)),
    };
    let meta = FileMeta {
        attachment: attachment.clone(),
        uploader: key,
        created: now_ms(),
        audience: None,
        origin: format!("{}://{host}", context.scheme),
    };
    if let Err(error) = files.blobs.put(&meta, bytes, picture.map(|p| p.thumbnail), files.limits.quota_bytes).await {
        tracing::error!(%error, "an upload could not be stored");
        return refusal(StatusCode::INSUFFICIENT_STORAGE, "unavailable", "the server cannot store files right now");
    }
    files.unsent().insert(attachment.id.clone(), (meta, std::time::Instant::now()));
    (StatusCode::CREATED, Json(attachment)).into_response()
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

async fn download(
    State(context): State<Context>,
    Path((id, name)): Path<(String, String)>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    let files = &context.files;
    if !valid_id(&id) {
        return refusal(StatusCode::NOT_FOUND, "not_found", "no such file");
    }
    let meta = match files.blobs.meta(&id).await {
        Ok(Some(meta)) => meta,
        Ok(None) => return refusal(StatusCode::NOT_FOUND, "not_found", "no such file"),
        Err(error) => {
            tracing::error!(%error, "a file's record could not be read");
            return refusal(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the server cannot read files right now");
        }
    };
    if !allowed(&context, &meta, &headers, query.token.as_deref()) {
        return unauthorized();
    }
    let thumbnail = name == "thumbnail";
    if thumbnail && meta.attachment.thumbnail.is_none() {
        return refusal(StatusCode::NOT_FOUND, "not_found", "this file is not a picture");
    }
    let bytes = match files.blobs.bytes(&id, thumbnail).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return refusal(StatusCode::GONE, "gone", "this file was removed to make room for newer ones"),
        Err(error) => {
            tracing::error!(%error, "a file could not be read");
            return refusal(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the server cannot read files right now");
        }
    };
    let mut response = Response::new(Body::from(bytes));
    let out = response.headers_mut();
    // Nothing uploaded runs: no sniffing, no scripts, no same-origin powers, even opened directly.
    out.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    out.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    if thumbnail {
        out.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
        out.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline"));
    } else {
        let mime = HeaderValue::from_str(&meta.attachment.mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        out.insert(header::CONTENT_TYPE, mime);
        let encoded = utf8_percent_encode(&meta.attachment.name, NON_ALPHANUMERIC);
        if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{encoded}")) {
            out.insert(header::CONTENT_DISPOSITION, disposition);
        }
    }
    response
}

/// Whether this request may read `meta`'s file (protocol §2.11, point 4).
fn allowed(context: &Context, meta: &FileMeta, headers: &HeaderMap, query_token: Option<&str>) -> bool {
    let token = bearer(headers).or(query_token);
    let asker = token.and_then(|t| context.files.holder(t)).filter(|(sid, key)| context.chat.knows(*sid, key));
    let asker = asker.as_ref().map(|(_, key)| key.as_str());
    match &meta.audience {
        None => asker == Some(meta.uploader.as_str()),
        Some(Audience::Private { sender, recipient }) => asker.is_some_and(|a| a == sender || a == recipient),
        Some(Audience::Room) => match context.files.password() {
            None => true,
            Some(password) => {
                asker.is_some()
                    || basic_password(headers)
                        .is_some_and(|p| constant_time_eq::constant_time_eq(p.as_bytes(), password.as_bytes()))
            }
        },
    }
}

/// The password of an HTTP Basic `Authorization` (any user name).
fn basic_password(headers: &HeaderMap) -> Option<String> {
    let encoded = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':')?.1.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_folders_and_control_characters_and_types_must_look_like_types() {
        let header = |v: &str| HeaderValue::from_str(v).unwrap();
        assert_eq!(clean_name(Some(&header("..%2F..%2Fetc%2Fpasswd"))), "_.._etc_passwd");
        assert_eq!(clean_name(Some(&header("r%C3%A9sum%C3%A9.pdf"))), "résumé.pdf");
        assert_eq!(clean_name(Some(&header("a%0Ab"))), "a_b");
        assert_eq!(clean_name(None), "file");
        assert_eq!(clean_type(Some(&header("image/PNG"))), "image/png");
        assert_eq!(clean_type(Some(&header("text/html; charset=utf-8"))), "text/html");
        assert_eq!(clean_type(Some(&header("<script>"))), "application/octet-stream");
    }
}
