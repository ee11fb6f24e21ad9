//! The default health check: the process answers HTTP on its port (any status counts).

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Whether an HTTP server answers at `addr` within `timeout`.
pub async fn answers_http(addr: SocketAddr, timeout: Duration) -> bool {
    tokio::time::timeout(timeout, probe(addr))
        .await
        .unwrap_or(false)
}

async fn probe(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return false;
    };
    let request =
        b"GET / HTTP/1.0\r\nHost: paas-health-check\r\nUser-Agent: paas-health-check\r\n\r\n";
    if stream.write_all(request).await.is_err() {
        return false;
    }
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).await.is_ok() && &head == b"HTTP/"
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn http_server_answers_and_silent_port_does_not() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 256];
            let _ = socket.read(&mut buf).await;
            socket
                .write_all(b"HTTP/1.0 500 Oops\r\n\r\n")
                .await
                .unwrap();
        });
        assert!(answers_http(addr, Duration::from_secs(2)).await);

        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent_addr = silent.local_addr().unwrap();
        assert!(!answers_http(silent_addr, Duration::from_millis(300)).await);
        drop(silent);
        assert!(!answers_http(silent_addr, Duration::from_millis(300)).await);
    }
}
