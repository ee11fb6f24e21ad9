//! The proxy over real TCP: a client whose chunked request body is malformed gets 400 from the
//! router (not 503, which would blame the app), while a well-formed body reaches the app.

use axum::body::Body;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::Request;
use paas_router::{AppRoute, Backend, Proxy, ProxyConfig, RouteTable, RouteTableHandle};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod support;
use support::serve;

/// The app: reads the whole body and answers with its length.
async fn app(req: Request<Incoming>, _peer: SocketAddr) -> hyper::Response<Body> {
    match req.into_body().collect().await {
        Ok(body) => hyper::Response::new(Body::from(format!("{}", body.to_bytes().len()))),
        Err(e) => hyper::Response::builder()
            .status(500)
            .body(Body::from(format!("app saw a broken body: {e}")))
            .unwrap(),
    }
}

async fn router_in_front_of_app() -> SocketAddr {
    let backend = serve(app).await;
    let table = RouteTableHandle::new();
    table.publish(RouteTable {
        apps: [(
            "hello".to_string(),
            AppRoute {
                backends: vec![Backend {
                    addr: backend,
                    dyno: "web.1".to_string(),
                }],
                web_wanted: 1,
                maintenance: None,
            },
        )]
        .into(),
        ..Default::default()
    });
    let proxy = Proxy::new(table, ProxyConfig::default());
    serve(move |req: Request<Incoming>, peer| {
        let proxy = proxy.clone();
        async move {
            let req = req.map(|b| Body::new(b.map_err(axum::Error::new)));
            proxy.handle("hello", req, peer, 8080).await
        }
    })
    .await
}

/// Sends raw bytes and returns everything the server answers before closing.
async fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            if String::from_utf8_lossy(&answer).contains("</html>") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer in time");
    String::from_utf8_lossy(&answer).to_string()
}

#[tokio::test]
async fn a_malformed_chunked_body_is_the_clients_fault() {
    let router = router_in_front_of_app().await;
    let answer = exchange(
        router,
        b"POST / HTTP/1.1\r\nHost: hello.localhost\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\nnot-a-chunk-size\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("Bad request"), "{answer}");
}

#[tokio::test]
async fn a_well_formed_chunked_body_reaches_the_app() {
    let router = router_in_front_of_app().await;
    let answer = exchange(
        router,
        b"POST / HTTP/1.1\r\nHost: hello.localhost\r\nTransfer-Encoding: chunked\r\n\
          Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n5"), "{answer}");
}
