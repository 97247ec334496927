//! `GET /api/openapi.json` and `GET /api/docs`: the OpenAPI document and Swagger UI.
//!
//! Neither is compiled into the Worker: `make site` copies `openapi/openapi.json`, the Swagger UI
//! files of the npm package `swagger-ui-dist` and a small initialiser into the static assets
//! under [`ASSET_DIR`], and these handlers read them through the `ASSETS` binding. The page's
//! scripts and styles load from the same origin (no CDN), so the page works under a strict
//! Content-Security-Policy.

use worker::{Headers, Response};

use crate::context::{bindings, origin_of, Ctx};
use crate::error::ApiError;

/// Where the build puts the documentation assets (served as they are outside `/api`).
pub const ASSET_DIR: &str = "/api-docs/";

/// What the Swagger UI page may load: everything from this origin. Swagger UI sets inline
/// styles and renders its icons as `data:` images, hence those two allowances.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// `GET /api/openapi.json`.
pub async fn openapi(ctx: Ctx) -> Result<Response, ApiError> {
    // A public read (`router::ROUTES`): browsers on other origins (tools, partner dashboards)
    // may read the document; the edge adds the CORS headers.
    asset(&ctx, "openapi.json", "application/json").await
}

/// `GET /api/docs`: the Swagger UI page.
pub async fn ui(ctx: Ctx) -> Result<Response, ApiError> {
    let resp = asset(&ctx, "", "text/html; charset=utf-8").await?;
    // The page's own policy; the edge adds the headers every response gets (`crate::headers`).
    resp.headers().set("content-security-policy", DOCS_CSP)?;
    Ok(resp)
}

/// The asset `ASSET_DIR` + `name` of this deployment with `content_type`; 503 when the build
/// did not include the documentation.
async fn asset(ctx: &Ctx, name: &str, content_type: &str) -> Result<Response, ApiError> {
    let path = format!("{ASSET_DIR}{name}");
    let url = format!("{}{path}", origin_of(&ctx.req.inner().url()));
    let mut found = ctx.env.assets(bindings::ASSETS)?.fetch(url, None).await?;
    if found.status_code() != 200 {
        worker::console_error!(
            "{}",
            serde_json::json!({"level": "error", "msg": "documentation asset missing",
                "asset": path, "status": found.status_code()})
        );
        return Err(ApiError::Unavailable(
            "The API documentation is not part of this deployment.".into(),
        ));
    }
    let body = found.bytes().await?;
    let headers = Headers::new();
    headers.set("content-type", content_type)?;
    // Revalidate on every load: the document changes with each deploy.
    headers.set("cache-control", "no-cache")?;
    Ok(Response::from_bytes(body)?.with_headers(headers))
}
