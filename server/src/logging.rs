//! Logging for `confab-server` and the desktop app: to stderr, level from `RUST_LOG`, and never a
//! password or a chat text at any level. Our own code logs names, ids, codes and sizes only; the
//! socket.io and websocket libraries log whole packets (handshake `auth` included) at debug and
//! trace, so their targets are capped at `warn` whatever `RUST_LOG` asks for.

use tracing_subscriber::{fmt::MakeWriter, EnvFilter};

/// Library targets that log packet contents below `warn`.
const PAYLOAD_LOGGING_TARGETS: [&str; 6] =
    ["socketioxide", "engineioxide", "rust_socketio", "rust_engineio", "tungstenite", "tokio_tungstenite"];

/// `RUST_LOG` (or `default` when unset or invalid), with the payload-logging libraries capped.
pub fn filter(rust_log: Option<&str>, default: &str) -> EnvFilter {
    let requested = rust_log.and_then(|spec| EnvFilter::try_new(spec).ok().map(|_| spec)).unwrap_or(default);
    let caps: Vec<String> = PAYLOAD_LOGGING_TARGETS.iter().map(|target| format!("{target}=warn")).collect();
    // Later directives for the same target win, so the caps come last.
    EnvFilter::new(format!("{requested},{}", caps.join(",")))
}

/// Installs the global subscriber (stderr). Call once, first thing in `main`.
pub fn init(default: &str) {
    init_with(default, std::io::stderr);
}

fn init_with<W: for<'a> MakeWriter<'a> + Send + Sync + 'static>(default: &str, writer: W) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter(rust_log.as_deref(), default)).with_writer(writer).try_init();
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn library_packets_stay_out_even_when_everything_is_asked_for() {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter(Some("trace,socketioxide=trace,rust_socketio=trace"), "info"))
            .with_writer(captured.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "socketioxide::client", "packet 40{{\"password\":\"hunter2\"}}");
            tracing::trace!(target: "rust_socketio::socket", "42[\"message\",{{\"message\":\"secret text\"}}]");
            tracing::warn!(target: "engineioxide::engine", "a library warning still shows");
            tracing::debug!(target: "confab_server::room", "our own debug shows");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("hunter2") && !text.contains("secret text"), "{text}");
        assert!(text.contains("a library warning still shows") && text.contains("our own debug shows"), "{text}");
    }

    #[test]
    fn an_invalid_rust_log_falls_back_to_the_default() {
        assert_eq!(filter(Some("=[nonsense"), "info").to_string(), filter(None, "info").to_string());
    }

    #[test]
    fn init_with_a_writer_does_not_panic_when_called_twice() {
        init_with("info", Captured::default());
        init_with("info", Captured::default());
    }
}
