//! Cursor pagination the way Sentry clients read it: the body is a bare JSON array,
//! the `Link` header holds `previous` and `next` links with `results` and `cursor`,
//! and `X-Hits` the total when known.
//!
//! Cursors look like Sentry's (`0:<offset>:<is_prev>`); clients treat them as
//! opaque.

use crate::api::Json;
use axum::http::{HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// Pagination query parameters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Opaque cursor from a `Link` header.
    pub cursor: Option<String>,
    /// Page size.
    pub limit: Option<i64>,
    /// Page size (Sentry's name for it).
    pub per_page: Option<i64>,
}

/// A page to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: i64,
    /// Rows to return.
    pub limit: i64,
}

impl PageQuery {
    /// The page asked for, with `default` and `max` sizes.
    pub fn page(&self, default: i64, max: i64) -> Page {
        let limit = self.limit.or(self.per_page).unwrap_or(default).clamp(1, max);
        let offset = self
            .cursor
            .as_deref()
            .and_then(|c| c.split(':').nth(1))
            .and_then(|o| o.parse::<i64>().ok())
            .unwrap_or(0)
            .max(0);
        Page { offset, limit }
    }
}

impl Page {
    /// Rows to fetch: one more than the page, to learn whether a next page exists.
    pub fn fetch_limit(self) -> i64 {
        self.limit + 1
    }
}

fn link(public_url: &str, uri: &Uri, cursor: &str) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .filter(|(k, _)| k != "cursor")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.push(("cursor".into(), cursor.into()));
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    format!("{public_url}{}?{query}", uri.path())
}

/// Answers a page: `items` as fetched with [`Page::fetch_limit`], trimmed to the page,
/// with `Link` and (when `hits` is known) `X-Hits`.
pub fn respond<T: Serialize>(
    public_url: &str,
    uri: &Uri,
    page: Page,
    mut items: Vec<T>,
    hits: Option<i64>,
) -> Response {
    let has_next = items.len() as i64 > page.limit;
    items.truncate(page.limit as usize);
    let prev_cursor = format!("0:{}:1", (page.offset - page.limit).max(0));
    let next_cursor = format!("0:{}:0", page.offset + page.limit);
    let header = format!(
        "<{}>; rel=\"previous\"; results=\"{}\"; cursor=\"{prev_cursor}\", <{}>; rel=\"next\"; results=\"{}\"; cursor=\"{next_cursor}\"",
        link(public_url, uri, &prev_cursor),
        page.offset > 0,
        link(public_url, uri, &next_cursor),
        has_next,
    );
    let mut response = Json(items).into_response();
    if let Ok(v) = HeaderValue::from_str(&header) {
        response.headers_mut().insert(http::header::LINK, v);
    }
    if let Some(hits) = hits {
        response.headers_mut().insert("x-hits", HeaderValue::from(hits));
        response.headers_mut().insert("x-max-hits", HeaderValue::from(hits));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_and_links() {
        let q = PageQuery { cursor: Some("0:100:0".into()), limit: Some(50), per_page: None };
        assert_eq!(q.page(25, 100), Page { offset: 100, limit: 50 });
        assert_eq!(PageQuery::default().page(25, 100), Page { offset: 0, limit: 25 });
        assert_eq!(PageQuery { limit: Some(10_000), ..PageQuery::default() }.page(25, 100).limit, 100);

        let uri: Uri = "/api/0/organizations/acme/issues/?query=is%3Aunresolved&cursor=0:0:0".parse().unwrap();
        let page = Page { offset: 0, limit: 2 };
        let response = respond("https://e.example.com", &uri, page, vec![1, 2, 3], Some(3));
        let link = response.headers()["link"].to_str().unwrap().to_string();
        assert_eq!(
            link,
            "<https://e.example.com/api/0/organizations/acme/issues/?query=is%3Aunresolved&cursor=0%3A0%3A1>; \
             rel=\"previous\"; results=\"false\"; cursor=\"0:0:1\", \
             <https://e.example.com/api/0/organizations/acme/issues/?query=is%3Aunresolved&cursor=0%3A2%3A0>; \
             rel=\"next\"; results=\"true\"; cursor=\"0:2:0\""
        );
        assert_eq!(response.headers()["x-hits"], "3");
    }
}
