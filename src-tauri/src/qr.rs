//! The hosting bar's QR code of the join URL, as SVG text made here (no network, no image crates), so
//! a phone on the same network opens the chat in its browser by pointing its camera at the screen.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// An SVG image of `text` as a QR code (dark on white, with the quiet zone), or `None` when the text
/// is too long for a QR code.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color>()
            .min_dimensions(200, 200)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_url_becomes_a_self_contained_svg_of_its_qr_code() {
        let url = "https://192.168.1.20:7878/";
        let image = svg(url).unwrap();
        assert!(
            image.starts_with("<?xml") && image.contains("<svg") && image.trim_end().ends_with("</svg>"),
            "{image}"
        );
        // Nothing the image would fetch, and nothing of the text in it as markup.
        assert!(!image.contains("href") && !image.contains("<script") && !image.contains(url));
        // The modules drawn are the code's: a different URL draws a different image.
        assert_ne!(image, svg("https://192.168.1.21:7878/").unwrap());
        let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M).unwrap();
        let dark = code.to_colors().iter().filter(|c| **c == qrcode::Color::Dark).count();
        assert!(dark > 100, "a real code has many dark modules: {dark}");
        assert_eq!(image.matches('M').count(), dark, "one path square per dark module");
    }

    #[test]
    fn text_too_long_for_a_qr_code_has_none() {
        assert!(svg(&"x".repeat(5000)).is_none());
    }
}
