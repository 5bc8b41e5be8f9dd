//! The web console: plain HTML, CSS and JS from `web/`, embedded in the binary and served at `/`
//! and `/assets/{file}`. Nothing is fetched from elsewhere at run time.
//!
//! Caching: the page links its assets as `/assets/<file>?v=<hash of all assets>`, so a request
//! carrying the current hash may be cached for good, while the page itself and any other asset
//! request revalidate (ETag, 304) and pick up a new binary's files at once.

use std::sync::LazyLock;

use axum::extract::{Path, RawQuery};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../web/console.css"),
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../web/console.js"),
    },
    Asset {
        name: "lib.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../web/lib.js"),
    },
];

const INDEX_TEMPLATE: &str = include_str!("../../web/index.html");
const VERSION_PLACEHOLDER: &str = "__ASSET_VERSION__";

/// Everything the page may load comes from this origin; the API is same-origin too.
const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

struct Built {
    version: String,
    index: String,
    index_etag: String,
    asset_etags: Vec<String>,
}

fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(bytes))[..32])
}

static BUILT: LazyLock<Built> = LazyLock::new(|| {
    let mut all = Sha256::new();
    for a in ASSETS {
        all.update(a.name.as_bytes());
        all.update([0]);
        all.update(a.body);
    }
    let version = hex::encode(all.finalize())[..16].to_string();
    let index = INDEX_TEMPLATE.replace(VERSION_PLACEHOLDER, &version);
    Built {
        index_etag: etag(index.as_bytes()),
        asset_etags: ASSETS.iter().map(|a| etag(a.body)).collect(),
        index,
        version,
    }
});

/// The hash in the page's asset links: it changes whenever any embedded asset does.
pub fn asset_version() -> &'static str {
    &BUILT.version
}

/// `/` and `/assets/{file}`. Merge it into the app router; it needs no state and no auth
/// (the page signs in with a token itself).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{file}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    let built = &*BUILT;
    let mut response = respond(
        &headers,
        &built.index_etag,
        REVALIDATE,
        "text/html; charset=utf-8",
        built.index.clone().into_bytes(),
    );
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn asset(
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.name == file) else {
        return (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": {
                "code": "not_found",
                "message": format!("no console asset `{file}`; the console's files are {}",
                    ASSETS.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")),
            }})),
        )
            .into_response();
    };
    let a = &ASSETS[i];
    let current = query.as_deref().is_some_and(|q| {
        q.split('&')
            .any(|kv| kv.strip_prefix("v=") == Some(asset_version()))
    });
    let cache = if current { IMMUTABLE } else { REVALIDATE };
    respond(
        &headers,
        &BUILT.asset_etags[i],
        cache,
        a.content_type,
        a.body.to_vec(),
    )
}

/// 304 when the client already holds this exact body, else 200 with it.
fn respond(
    headers: &HeaderMap,
    tag: &str,
    cache: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
) -> Response {
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == tag || t == "*");
    let common: [(HeaderName, HeaderValue); 3] = [
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (
            header::ETAG,
            HeaderValue::from_str(tag).unwrap_or_else(|_| HeaderValue::from_static("\"\"")),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        StatusCode::OK,
        common,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_every_asset_with_the_current_version() {
        let page = &BUILT.index;
        assert!(!page.contains(VERSION_PLACEHOLDER));
        for a in ASSETS {
            let link = format!("/assets/{}?v={}", a.name, asset_version());
            assert!(page.contains(&link), "index.html does not link {link}");
        }
    }

    #[test]
    fn page_loads_nothing_from_another_origin() {
        for text in std::iter::once(INDEX_TEMPLATE.as_bytes()).chain(ASSETS.iter().map(|a| a.body))
        {
            let text = String::from_utf8_lossy(text);
            assert!(
                !text.contains("http://") && !text.contains("https://"),
                "an embedded file names an external URL"
            );
        }
    }
}
