//! `GET /healthz`: answers 200 once paasd serves requests.

pub async fn healthz() -> &'static str {
    "ok\n"
}
