//! The stylesheet and script, embedded in the binary and served under names that
//! carry a hash of their content, so browsers may cache them forever.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::AppState;

const CSS: &[u8] = include_bytes!("../../assets/app.css");
const JS: &[u8] = include_bytes!("../../assets/app.js");

/// URLs of the embedded assets.
#[derive(Debug, Clone)]
pub struct Assets {
    /// The stylesheet.
    pub css: String,
    /// The script.
    pub js: String,
}

/// FNV-1a, enough to tell versions of a file apart.
fn fingerprint(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:012x}", hash & 0xffff_ffff_ffff)
}

fn names() -> &'static (String, String) {
    static NAMES: OnceLock<(String, String)> = OnceLock::new();
    NAMES.get_or_init(|| (format!("app.{}.css", fingerprint(CSS)), format!("app.{}.js", fingerprint(JS))))
}

impl Assets {
    /// The URLs below `base_path`.
    pub fn urls(base_path: &str) -> Assets {
        let (css, js) = names();
        Assets { css: format!("{base_path}/static/{css}"), js: format!("{base_path}/static/{js}") }
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/static/{name}", get(serve))
}

async fn serve(Path(name): Path<String>) -> Response {
    let (css, js) = names();
    let (body, content_type) = if name == *css {
        (CSS, "text/css; charset=utf-8")
    } else if name == *js {
        (JS, "application/javascript; charset=utf-8")
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(http::header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    response
}
