//! The embedded web console over real HTTP: content types, caching and 404s of `/` and `/assets/`.

use kefu::http::console;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use reqwest::StatusCode;

async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        axum::serve(listener, console::router::<()>())
            .await
            .expect("serve");
    });
    format!("http://{addr}")
}

fn header(res: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn index_is_html_that_revalidates_and_links_versioned_assets() {
    let base = serve().await;
    let client = reqwest::Client::new();
    let res = client.get(format!("{base}/")).send().await.expect("GET /");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&res, CACHE_CONTROL), "no-cache");
    assert!(header(&res, "content-security-policy".parse().unwrap()).contains("default-src 'self'"));
    let tag = header(&res, ETAG);
    let page = res.text().await.expect("body");
    let version = console::asset_version();
    for file in ["console.js", "lib.js", "console.css"] {
        assert!(
            page.contains(&format!("/assets/{file}?v={version}")),
            "index links {file}"
        );
    }

    let again = client
        .get(format!("{base}/"))
        .header(IF_NONE_MATCH, &tag)
        .send()
        .await
        .expect("conditional GET /");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.text().await.expect("body").is_empty());
}

#[tokio::test]
async fn assets_have_their_content_types_and_versioned_ones_are_immutable() {
    let base = serve().await;
    let client = reqwest::Client::new();
    let version = console::asset_version();
    for (file, ct) in [
        ("console.js", "text/javascript; charset=utf-8"),
        ("lib.js", "text/javascript; charset=utf-8"),
        ("console.css", "text/css; charset=utf-8"),
    ] {
        let res = client
            .get(format!("{base}/assets/{file}?v={version}"))
            .send()
            .await
            .expect("GET asset");
        assert_eq!(res.status(), StatusCode::OK, "{file}");
        assert_eq!(header(&res, CONTENT_TYPE), ct, "{file}");
        assert_eq!(
            header(&res, CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            header(&res, "x-content-type-options".parse().unwrap()),
            "nosniff"
        );
        assert!(!res.bytes().await.expect("body").is_empty());

        // A stale or missing version must not be cached for good: the binary may have changed.
        let res = client
            .get(format!("{base}/assets/{file}?v=old"))
            .send()
            .await
            .expect("GET asset");
        assert_eq!(header(&res, CACHE_CONTROL), "no-cache", "{file}");
        let tag = header(&res, ETAG);
        let res = client
            .get(format!("{base}/assets/{file}"))
            .header(IF_NONE_MATCH, format!("\"other\", {tag}"))
            .send()
            .await
            .expect("conditional GET asset");
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "{file}");
    }
}

#[tokio::test]
async fn unknown_assets_are_json_404s_that_name_the_files() {
    let base = serve().await;
    for path in ["/assets/nope.js", "/assets/..%2FCargo.toml", "/assets/"] {
        let res = reqwest::get(format!("{base}{path}")).await.expect("GET");
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        if path != "/assets/" {
            let body: serde_json::Value = res.json().await.expect("json error body");
            assert_eq!(body["error"]["code"], "not_found");
            assert!(body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("console.js"));
        }
    }
}
