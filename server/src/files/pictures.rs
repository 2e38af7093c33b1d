//! Images: their size in pixels, and a small PNG made from them by the server (re-encoded: whatever
//! else the upload held, only pixels reach a page inline).

use std::io::Cursor;

use confab_protocol::limits::THUMBNAIL_PIXELS;
use image::{ImageFormat, ImageReader, Limits};

/// Pixels and decoding memory: a small file that claims a huge picture (a decompression bomb) is
/// treated as an ordinary file.
const MAX_SIDE: u32 = 16_384;
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub thumbnail: Vec<u8>,
}

/// `Some` for a PNG, JPEG, GIF or WebP picture the server can read (whatever type the uploader
/// claimed); `None` for anything else.
pub fn read(bytes: &[u8]) -> Option<Picture> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().ok()?;
    if !matches!(reader.format()?, ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP) {
        return None;
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let picture = reader.decode().ok()?;
    let (width, height) = (picture.width(), picture.height());
    // Shrunk to fit, never enlarged: a small picture (a pasted snippet) stays as sharp as it was.
    let small = if width.max(height) > THUMBNAIL_PIXELS {
        picture.thumbnail(THUMBNAIL_PIXELS, THUMBNAIL_PIXELS)
    } else {
        picture
    };
    let mut thumbnail = Vec::new();
    small.write_to(&mut Cursor::new(&mut thumbnail), ImageFormat::Png).ok()?;
    Some(Picture { width, height, thumbnail })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        image::RgbImage::new(width, height).write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).unwrap();
        bytes
    }

    #[test]
    fn a_picture_gets_its_size_and_a_bounded_png_thumbnail() {
        let picture = read(&png(1000, 500)).expect("a PNG is read");
        assert_eq!((picture.width, picture.height), (1000, 500));
        let small = image::load_from_memory_with_format(&picture.thumbnail, ImageFormat::Png).unwrap();
        assert_eq!((small.width(), small.height()), (320, 160));
    }

    #[test]
    fn a_small_picture_is_not_enlarged() {
        let picture = read(&png(200, 100)).expect("a PNG is read");
        let small = image::load_from_memory_with_format(&picture.thumbnail, ImageFormat::Png).unwrap();
        assert_eq!((small.width(), small.height()), (200, 100), "it was 320 × 160, blurred");
    }

    #[test]
    fn svg_html_and_garbage_are_not_pictures() {
        assert!(read(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>").is_none());
        assert!(read(b"<html><script>alert(1)</script></html>").is_none());
        assert!(read(&[0x89, b'P', b'N', b'G', 0, 1, 2]).is_none());
    }
}
