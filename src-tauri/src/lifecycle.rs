//! The app's start and end: quitting (window closed, app exit, SIGTERM/SIGINT from a logout or
//! `kill`) closes a hosted chat properly, so everyone is told and the port is freed.

use tauri::AppHandle;

/// SIGTERM / SIGINT quit the app the normal way (through `RunEvent::Exit`) instead of killing it.
pub fn quit_on_signals(app: &AppHandle) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
                tracing::warn!("cannot listen for SIGTERM/SIGINT: a hosted chat is not closed when killed");
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!("asked to quit by a signal");
            app.exit(0);
        });
    }
    #[cfg(not(unix))]
    let _ = app;
}

/// Runs once when the app quits.
pub fn on_exit(app: &AppHandle) {
    crate::commands::on_exit(app);
}
