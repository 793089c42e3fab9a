//! RGB pixels to a PNG file (the one encoder: `png`, fdeflate's fast mode).

use crate::RenderError;

/// Encodes `width` × `height` RGB8 pixels.
pub(crate) fn png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, RenderError> {
    let mut out = Vec::with_capacity(64 * 1024);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Balanced);
    let mut writer = encoder
        .write_header()
        .map_err(|e| RenderError::Encoding(e.to_string()))?;
    writer
        .write_image_data(rgb)
        .map_err(|e| RenderError::Encoding(e.to_string()))?;
    writer
        .finish()
        .map_err(|e| RenderError::Encoding(e.to_string()))?;
    Ok(out)
}
