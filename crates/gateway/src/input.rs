//! Getting the image out of a request: a raw body, a multipart field `image`, or JSON
//! `{"image_base64": …}`.

use crate::error::{ApiError, ApiResult};
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use base64::Engine as _;
use bytes::Bytes;
use infergate_runtime::ImageFormatKind;

/// Reads a whole body, answering 413 past `limit` bytes (checked against `Content-Length`
/// first, then while reading).
pub async fn read_body(req: Request, limit: usize) -> ApiResult<Bytes> {
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::too_large(limit));
    }
    body_bytes(req.into_body(), limit).await
}

async fn body_bytes(body: Body, limit: usize) -> ApiResult<Bytes> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        if is_length_limit(&e) {
            ApiError::too_large(limit)
        } else {
            ApiError::bad_request("body_read_failed", format!("could not read the request body: {e}"))
        }
    })
}

fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The image bytes of a classification request and their (sniffed) format.
pub async fn image_from_request(req: Request, limit: usize) -> ApiResult<(Bytes, ImageFormatKind)> {
    let content_type =
        req.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap_or("").to_ascii_lowercase()).unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or("").trim().to_string();
    let bytes = match essence.as_str() {
        "multipart/form-data" => from_multipart(req).await?,
        "application/json" => from_json(&read_body(req, limit).await?)?,
        // Raw image bodies; an absent type, octet-stream or curl's default form type are sniffed.
        "" | "application/octet-stream" | "application/x-www-form-urlencoded" => read_body(req, limit).await?,
        t if ImageFormatKind::from_mime(t).is_some() => read_body(req, limit).await?,
        t if t.starts_with("image/") => {
            return Err(ApiError::unsupported_media(format!(
                "{t} is not supported: send image/jpeg, image/png or image/webp"
            )))
        }
        t => {
            return Err(ApiError::unsupported_media(format!(
                "content type {t} is not accepted: send the image bytes (image/jpeg, image/png, image/webp), a \
                 multipart form with an `image` field, or JSON {{\"image_base64\": ...}}"
            )))
        }
    };
    if bytes.is_empty() {
        return Err(ApiError::bad_request("empty_body", "the request has no image: the body is empty"));
    }
    let format = check_format(&bytes)?;
    Ok((bytes, format))
}

/// 415 for image formats we do not take, 400 for bytes that are no image at all.
pub fn check_format(bytes: &[u8]) -> ApiResult<ImageFormatKind> {
    if let Some(kind) = ImageFormatKind::sniff(bytes) {
        return Ok(kind);
    }
    let other_image = [&b"GIF8"[..], b"BM", b"II*\0", b"MM\0*", b"\0\0\x01\0"].iter().any(|m| bytes.starts_with(m))
        || (bytes.len() >= 12 && &bytes[4..8] == b"ftyp");
    if other_image {
        Err(ApiError::unsupported_media("this image format is not supported: send JPEG, PNG or WebP"))
    } else {
        Err(ApiError::bad_request("invalid_image", "the body is not a JPEG, PNG or WebP image"))
    }
}

async fn from_multipart(req: Request) -> ApiResult<Bytes> {
    let mut form = Multipart::from_request(req, &())
        .await
        .map_err(|e| ApiError::bad_request("bad_multipart", format!("malformed multipart body: {e}")))?;
    let mut image = None;
    // Every part is read (within the body limit) so that a second `image` part is refused
    // rather than silently ignored: one request classifies one image.
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("image") {
            field.bytes().await.map_err(multipart_error)?;
            continue;
        }
        if image.is_some() {
            return Err(ApiError::bad_request(
                "duplicate_image",
                "the multipart form has more than one `image` part: send one image per request",
            ));
        }
        if let Some(t) = field.content_type() {
            let t = t.to_ascii_lowercase();
            if t.starts_with("image/") && ImageFormatKind::from_mime(&t).is_none() {
                return Err(ApiError::unsupported_media(format!("{t} is not supported: send JPEG, PNG or WebP")));
            }
        }
        image = Some(field.bytes().await.map_err(multipart_error)?);
    }
    image.ok_or_else(|| ApiError::bad_request("missing_image", "the multipart form has no `image` field"))
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(e.status(), "payload_too_large", format!("request body is over the limit: {e}"))
    } else {
        ApiError::bad_request("bad_multipart", format!("malformed multipart body: {e}"))
    }
}

fn from_json(body: &[u8]) -> ApiResult<Bytes> {
    #[derive(serde::Deserialize)]
    struct ImageJson {
        image_base64: Option<String>,
    }
    let parsed: ImageJson = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("bad_json", format!("the JSON body is invalid: {e}")))?;
    let text = parsed
        .image_base64
        .ok_or_else(|| ApiError::bad_request("missing_image", "the JSON body has no `image_base64` field"))?;
    decode_base64(&text).map(Bytes::from)
}

/// Decodes standard or URL-safe base64, with or without padding or a `data:…;base64,` prefix.
pub fn decode_base64(text: &str) -> ApiResult<Vec<u8>> {
    let text = text.trim();
    let payload = match text.strip_prefix("data:") {
        Some(rest) => rest.split_once(";base64,").map(|(_, p)| p).unwrap_or(rest),
        None => text,
    };
    let cleaned: String = payload.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(&cleaned).ok())
        .ok_or_else(|| ApiError::bad_request("bad_base64", "`image_base64` is not valid base64"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_variants() {
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64("aGk").unwrap(), b"hi");
        assert_eq!(decode_base64("data:image/png;base64,aGk=").unwrap(), b"hi");
        assert!(decode_base64("!!!").is_err());
    }

    #[test]
    fn formats() {
        assert!(check_format(b"GIF89a").unwrap_err().status == axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(check_format(b"hello world").unwrap_err().status == axum::http::StatusCode::BAD_REQUEST);
        assert!(check_format(&[0xFF, 0xD8, 0xFF, 0xE0]).is_ok());
    }
}
