//! QR codes for the door: booking codes in QR alphanumeric mode (booking codes use only digits
//! and capital letters, which that mode stores in 5.5 bits each), and the booking page's URL
//! for the store's poster (byte mode); error correction level M, as an SVG with its quiet zone.

use qrcode::bits::Bits;
use qrcode::render::svg;
use qrcode::types::QrError;
use qrcode::{EcLevel, QrCode, Version};

/// Error correction: M recovers ~15 % of a damaged or badly lit code.
const EC: EcLevel = EcLevel::M;

/// The QR code of `code` (digits and capital letters) as SVG, the smallest version that holds
/// it; `Err` for text alphanumeric mode cannot hold.
pub fn svg(code: &str) -> Result<String, QrError> {
    Ok(render(&matrix(code)?))
}

/// The QR code of a URL (any text, in byte mode) as SVG: the booking page on the poster.
pub fn url_svg(url: &str) -> Result<String, QrError> {
    Ok(render(&QrCode::with_error_correction_level(
        url.as_bytes(),
        EC,
    )?))
}

fn render(qr: &QrCode) -> String {
    qr.render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build()
}

/// The characters QR alphanumeric mode can hold.
const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// The QR matrix of `code` in alphanumeric mode.
fn matrix(code: &str) -> Result<QrCode, QrError> {
    if !code.bytes().all(|b| ALPHANUMERIC.contains(&b)) {
        return Err(QrError::InvalidCharacter);
    }
    let mut last = QrError::DataTooLong;
    for version in 1..=40 {
        let mut bits = Bits::new(Version::Normal(version));
        let built = bits
            .push_alphanumeric_data(code.as_bytes())
            .and_then(|()| bits.push_terminator(EC));
        match built {
            Ok(()) => return QrCode::with_bits(bits, EC),
            Err(QrError::DataTooLong) => last = QrError::DataTooLong,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_booking_code_fits_version_1_as_an_svg() {
        let qr = matrix("ABCD2345").unwrap();
        assert_eq!(qr.version(), Version::Normal(1));
        assert_eq!(qr.width(), 21);
        let svg = svg("ABCD2345").unwrap();
        assert!(svg.contains("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn a_booking_page_url_is_a_byte_mode_svg() {
        let svg =
            url_svg("https://safemarket.dev/book/0b6f6f1e-1c1a-4f7e-9d3e-2f0c7c1f4a11").unwrap();
        assert!(svg.contains("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn text_outside_the_alphanumeric_set_is_refused() {
        assert!(svg("abc").is_err());
    }
}
