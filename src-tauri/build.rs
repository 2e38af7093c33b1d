fn main() {
    // Listing the app's commands makes Tauri generate one permission per command, so the capability
    // file can grant the webview exactly these and nothing else.
    let manifest = tauri_build::AppManifest::new().commands(&[
        "connect",
        "send",
        "rejoin",
        "set_typing",
        "disconnect",
        "cancel_connect",
        "recent_servers",
        "server_answers",
        "forget_server",
        "set_title",
        "notify",
        "host_chat",
        "stop_hosting",
        "default_host_port",
        "watch_nearby",
        "copy_text",
        "has_saved_password",
        "load_older",
        "upload_file",
        "cancel_upload",
        "file_image",
        "save_file",
        "local_history",
        "search_messages",
        "get_settings",
        "set_settings",
        "watch_desktop",
        "set_tray_status",
        "share_join_url",
    ]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)).expect("tauri-build failed");
}
