//! Files in the chat over HTTP (docs/PROTOCOL.md §2.11): uploads with progress (and cancel, by
//! dropping the future), downloads streamed to a path, thumbnails as `data:` URLs for the webview.
//! Done here and not in the webview: its CSP allows no network, and it could not trust a LAN chat's
//! own certificate; this uses the same trust as the chat connection (a pin, or the system's roots).

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use confab_protocol::FilesOffer;
use futures_util::StreamExt as _;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::client::{tls_connector, Trust};

/// The body is sent in pieces of this size, so progress moves smoothly and memory is not copied.
const CHUNK: usize = 256 * 1024;
/// Connecting and each pause in a transfer; a transfer as a whole may take as long as it needs.
const STALL_LIMIT: Duration = Duration::from_secs(30);
/// Images shown inline are thumbnails; a full image is shown larger only up to this size.
pub const MAX_IMAGE_BYTES: u64 = 16 * 1024 * 1024;

/// The server's answer to an upload: the file as it took it (`201`, §2.11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedFile {
    pub id: String,
    pub name: String,
    pub size: u64,
    #[serde(rename = "type")]
    pub mime: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

/// Why a transfer did not happen, in words; crosses to the webview as `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("This chat does not take files.")]
    Unavailable,
    /// Refused before anything was sent.
    #[error("“{name}” is {size}: files can be at most {max} in this chat.")]
    TooLarge { name: String, size: String, max: String },
    /// The server refused it (`{error, reason}`), or answered something else.
    #[error("The server refused the file: {reason}")]
    Refused { status: u16, code: String, reason: String },
    #[error("The transfer failed: {0}")]
    Network(String),
    #[error("The file could not be written: {0}")]
    Disk(String),
    #[error("Cancelled.")]
    Cancelled,
}

impl FileError {
    pub fn code(&self) -> &str {
        match self {
            Self::Unavailable => "files_off",
            Self::TooLarge { .. } => "too_large",
            Self::Refused { code, .. } => code,
            Self::Network(_) => "network",
            Self::Disk(_) => "disk",
            Self::Cancelled => "cancelled",
        }
    }
}

impl Serialize for FileError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("FileError", 2)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

fn network(error: reqwest::Error) -> FileError {
    FileError::Network(error.without_url().to_string())
}

/// Sizes as the UI says them (ui/js/files.js formatSize: binary units).
pub fn format_size(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let trimmed =
        |v: f64| if v >= 100.0 { format!("{v:.0}") } else { format!("{v:.1}").trim_end_matches(".0").to_owned() };
    match bytes {
        0..1024 => format!("{bytes} byte{}", if bytes == 1 { "" } else { "s" }),
        1024..1_048_576 => format!("{} KB", trimmed(bytes as f64 / KB)),
        _ => format!("{} MB", trimmed(bytes as f64 / KB / KB)),
    }
}

/// One chat server's file endpoints, for the current registration's token.
#[derive(Clone)]
pub struct FileServer {
    base: Url,
    offer: FilesOffer,
    http: reqwest::Client,
}

impl FileServer {
    /// For the chat at `server` (its normalised URL) that made `offer`, trusting what the chat
    /// connection trusts. A pinned certificate is checked (fingerprint) before any byte is sent.
    pub async fn new(server: &str, offer: FilesOffer, trust: &Trust) -> Result<Self, FileError> {
        let base = Url::parse(server).map_err(|e| FileError::Network(e.to_string()))?;
        let mut builder = reqwest::Client::builder().connect_timeout(STALL_LIMIT).read_timeout(STALL_LIMIT);
        if base.scheme() == "https" {
            let host = base.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned();
            let port = base.port_or_known_default().unwrap_or(443);
            builder = match tls_connector(&host, port, trust, STALL_LIMIT).await {
                Ok(Some(pinned)) => builder.use_preconfigured_tls(pinned),
                Ok(None) => builder.use_native_tls(),
                Err(e) => return Err(FileError::Network(e.to_string())),
            };
        }
        let http = builder.build().map_err(network)?;
        Ok(FileServer { base, offer, http })
    }

    /// The largest file the server takes.
    pub fn max_bytes(&self) -> u64 {
        self.offer.max_bytes
    }

    fn url(&self, path: &str) -> Result<Url, FileError> {
        // Only paths of this server: an attachment's URL is relative (§2.11).
        if !path.starts_with('/') || path.starts_with("//") {
            return Err(FileError::Network(format!("“{path}” is not a file of this chat")));
        }
        self.base.join(path).map_err(|e| FileError::Network(e.to_string()))
    }

    /// Uploads `bytes` as `name` (`mime`: its type); `progress(sent, total)` as it goes. A file over
    /// the server's limit is refused before anything is sent. Cancel by dropping the future.
    pub async fn upload(
        &self,
        name: &str,
        mime: &str,
        bytes: Bytes,
        progress: impl Fn(u64, u64) + Send + Sync + 'static,
    ) -> Result<UploadedFile, FileError> {
        let total = bytes.len() as u64;
        if total > self.offer.max_bytes {
            return Err(FileError::TooLarge {
                name: name.to_owned(),
                size: format_size(total),
                max: format_size(self.offer.max_bytes),
            });
        }
        let len = bytes.len();
        // Counted as each piece is handed to the connection, which takes the next only when it has room.
        let body = futures_util::stream::iter((0..len).step_by(CHUNK)).map(move |start| {
            let piece = bytes.slice(start..(start + CHUNK).min(len));
            progress((start + piece.len()) as u64, total);
            Ok::<_, std::io::Error>(piece)
        });
        let response = self
            .http
            .post(self.url(&self.offer.upload)?)
            .header(AUTHORIZATION, format!("Bearer {}", self.offer.token))
            .header(CONTENT_LENGTH, total)
            .header(CONTENT_TYPE, if mime.is_empty() { "application/octet-stream" } else { mime })
            .header("X-Confab-File-Name", utf8_percent_encode(name, NON_ALPHANUMERIC).to_string())
            .body(reqwest::Body::wrap_stream(body))
            .send()
            .await
            .map_err(network)?;
        if response.status() != StatusCode::CREATED {
            return Err(refusal(response).await);
        }
        response.json::<UploadedFile>().await.map_err(network)
    }

    /// Downloads the file at `path` (an attachment's `url`) to `dest`: written beside it first, so a
    /// broken transfer never leaves a partial file under the chosen name. Returns the bytes written.
    pub async fn download_to(&self, path: &str, dest: &Path) -> Result<u64, FileError> {
        let mut response = self.get(path).await?;
        let partial = partial_path(dest);
        let mut file = tokio::fs::File::create(&partial).await.map_err(|e| FileError::Disk(e.to_string()))?;
        let written = async {
            let mut written = 0u64;
            while let Some(piece) = response.chunk().await.map_err(network)? {
                file.write_all(&piece).await.map_err(|e| FileError::Disk(e.to_string()))?;
                written += piece.len() as u64;
            }
            file.flush().await.map_err(|e| FileError::Disk(e.to_string()))?;
            Ok(written)
        }
        .await;
        drop(file);
        match written {
            Ok(written) => {
                tokio::fs::rename(&partial, dest).await.map_err(|e| FileError::Disk(e.to_string()))?;
                Ok(written)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(e)
            }
        }
    }

    /// The image at `path` (a thumbnail, or a full image up to `MAX_IMAGE_BYTES`) as a `data:` URL,
    /// the only kind of image the webview's CSP lets in besides its own files. `mime` is what it is
    /// shown as: thumbnails are PNG (the server re-encodes them).
    pub async fn image_data_url(&self, path: &str, mime: &str) -> Result<String, FileError> {
        let mut response = self.get(path).await?;
        let mut bytes = Vec::new();
        while let Some(piece) = response.chunk().await.map_err(network)? {
            bytes.extend_from_slice(&piece);
            if bytes.len() as u64 > MAX_IMAGE_BYTES {
                return Err(FileError::Network("the image is too large to show".into()));
            }
        }
        Ok(format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes)))
    }

    async fn get(&self, path: &str) -> Result<reqwest::Response, FileError> {
        let response = self
            .http
            .get(self.url(path)?)
            .header(AUTHORIZATION, format!("Bearer {}", self.offer.token))
            .send()
            .await
            .map_err(network)?;
        if !response.status().is_success() {
            return Err(refusal(response).await);
        }
        Ok(response)
    }
}

/// A refusal's `{error, reason}` (§2.11), or the status in words.
async fn refusal(response: reqwest::Response) -> FileError {
    #[derive(Deserialize)]
    struct Body {
        error: String,
        reason: Option<String>,
    }
    let status = response.status();
    let body = response.json::<Body>().await.ok();
    let code = body.as_ref().map_or_else(|| format!("http_{}", status.as_u16()), |b| b.error.clone());
    let reason = body
        .and_then(|b| b.reason)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("unexpected answer").to_lowercase());
    FileError::Refused { status: status.as_u16(), code, reason }
}

/// `dest` with `.part` added: the name a download has until it is complete.
fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".part");
    dest.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_said_as_the_ui_says_them() {
        assert_eq!(format_size(1), "1 byte");
        assert_eq!(format_size(512), "512 bytes");
        assert_eq!(format_size(1536), "1.5 KB");
        assert_eq!(format_size(25 * 1024 * 1024), "25 MB");
        assert_eq!(format_size(20 * 1024 * 1024 + 300 * 1024), "20.3 MB");
    }

    #[test]
    fn a_download_is_written_beside_its_name_first() {
        assert_eq!(partial_path(Path::new("/tmp/a/cat.png")), Path::new("/tmp/a/cat.png.part"));
    }
}
