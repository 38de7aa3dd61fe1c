//! Saving text as a file the browser downloads.

use wasm_bindgen::{JsCast, JsValue};

/// Offers `contents` as a download named `file_name`.
pub fn save(file_name: &str, mime: &str, contents: &str) -> Result<(), String> {
    let fail = |e: JsValue| {
        let reason = e
            .as_string()
            .unwrap_or_else(|| "the browser refused".into());
        format!("could not save {file_name}: {reason}")
    };
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let parts = js_sys::Array::of1(&JsValue::from_str(contents));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(fail)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(fail)?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(fail)?
        .dyn_into()
        .map_err(|_| "not an anchor".to_owned())?;
    link.set_href(&url);
    link.set_download(file_name);
    link.click();
    web_sys::Url::revoke_object_url(&url).map_err(fail)
}
