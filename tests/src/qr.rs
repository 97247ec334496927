//! QR codes read back by a real decoder (`rqrr`): the Worker's SVGs (booking codes, the
//! store's poster) and grey-scale pixels a browser drew.

/// Rasterises the rectangles of the QR SVG (`M x y h w v h H x V y` runs in one path on a
/// white background) into a grey-scale bitmap, one pixel per SVG unit.
pub fn rasterise(svg: &str) -> (usize, usize, Vec<u8>) {
    let number = |s: &str, key: &str| -> usize {
        let at = s.find(key).unwrap_or_else(|| panic!("no {key} in svg")) + key.len();
        s[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("bad {key}"))
    };
    let (w, h) = (number(svg, "width=\""), number(svg, "height=\""));
    let mut pixels = vec![255u8; w * h];
    let d_at = svg.find(" d=\"").expect("a path") + 4;
    let d = &svg[d_at..svg[d_at..].find('"').map(|e| d_at + e).expect("path end")];
    for rect in d.split('M').filter(|r| !r.is_empty()) {
        let nums: Vec<usize> = rect
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().expect("number"))
            .collect();
        let (x, y, rw, rh) = (nums[0], nums[1], nums[2], nums[3]);
        for row in y..(y + rh).min(h) {
            for col in x..(x + rw).min(w) {
                pixels[row * w + col] = 0;
            }
        }
    }
    (w, h, pixels)
}

/// The one QR code in a grey-scale bitmap (row-major, `w * h` values, 0 black), decoded.
#[track_caller]
pub fn decode_pixels(w: usize, h: usize, pixels: &[u8]) -> String {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    let (_, content) = grids[0].decode().expect("decodes");
    content
}

/// The one QR code of one of the Worker's SVGs, decoded.
#[track_caller]
pub fn decode_svg(svg: &str) -> String {
    let (w, h, pixels) = rasterise(svg);
    decode_pixels(w, h, &pixels)
}

/// The text of a `data:` URL whose payload is percent-encoded (`data:image/svg+xml,%3Csvg...`).
#[track_caller]
pub fn data_url_text(url: &str) -> String {
    let (_, payload) = url
        .split_once(',')
        .unwrap_or_else(|| panic!("not a data: URL: {url}"));
    let bytes = payload.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
            out.push(u8::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("bad escape {hex}")));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8 payload")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_decode_their_escapes() {
        assert_eq!(
            data_url_text("data:text/calendar;charset=utf-8,BEGIN%3AVCALENDAR%0D%0A%C3%9F"),
            "BEGIN:VCALENDAR\r\n\u{df}"
        );
    }
}
