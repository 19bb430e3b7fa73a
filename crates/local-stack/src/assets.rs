//! `/assets/{key}`: the product images, as CloudFront serves them from the images bucket in
//! AWS. The files are the repository's `crates/domain/seed/images` (what an operator uploads to
//! the bucket); a key is accepted only if the catalogue would accept it (a slug with an image
//! extension), so no request can name a path outside that directory.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Where the images live, relative to the workspace root.
pub const IMAGES_DIR: &str = "crates/domain/seed/images";

/// The content type of an image key by its extension (the keys are checked before).
pub fn content_type(key: &str) -> &'static str {
    match key.rsplit_once('.').map(|(_, ext)| ext) {
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg") => "image/jpeg",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    }
}

pub async fn serve(Path(key): Path<String>) -> Response {
    let not_found = || {
        let body = json!({ "message": format!("No image {key}") });
        (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
    };
    if !domain::catalog::is_image_key(&key) {
        return not_found();
    }
    let path = local::workspace_root().join(IMAGES_DIR).join(&key);
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, content_type(&key)),
                (header::CACHE_CONTROL, "public, max-age=86400"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => not_found(),
    }
}
