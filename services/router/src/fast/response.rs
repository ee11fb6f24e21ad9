//! A response on the fast path: its head parsed and rewritten for the client
//! (`parse_response`), how its body ends (`Framing`), and a chunked body followed to its end
//! (`Chunks`) so the process's connection can be reused.

use super::request::{hop_by_hop, is, parse_length, trim};
use super::MAX_HEADERS;
use std::io::Write as _;

/// How a response body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// None (a HEAD request, 204, 304).
    Empty,
    Length(u64),
    Chunked,
    /// Read until the process closes; sent chunked to the client.
    UntilClose,
}

#[derive(Debug)]
pub(super) struct Response {
    pub(super) head_len: usize,
    pub(super) status: u16,
    /// 1xx (not 101): skipped, the real answer follows.
    pub(super) informational: bool,
    pub(super) content_length: Option<u64>,
    pub(super) framing: Framing,
    pub(super) upstream_keep_alive: bool,
    /// The head as the client gets it.
    pub(super) client_head: Vec<u8>,
}

#[derive(Debug)]
pub(super) enum ParsedResponse {
    Partial,
    Invalid,
    Ready(Response),
}

/// Parses a response head and writes the head the client gets: hop-by-hop headers removed
/// (`headers::strip_hop_by_hop`), chunked framing when the body is chunked or lasts until
/// close, `connection: close` when the client asked for it.
pub(super) fn parse_response(
    bytes: &[u8],
    head_request: bool,
    client_close: bool,
) -> ParsedResponse {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut headers);
    let head_len = match res.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return ParsedResponse::Partial,
        Err(_) => return ParsedResponse::Invalid,
    };
    let (Some(version), Some(status)) = (res.version, res.code) else {
        return ParsedResponse::Invalid;
    };
    if status == 101 || !(100..1000).contains(&status) {
        return ParsedResponse::Invalid;
    }
    let informational = status < 200;
    let mut keep_alive = version == 1;
    let mut chunked = None;
    let mut content_length: Option<u64> = None;
    let mut named: Vec<&[u8]> = Vec::new();
    for header in res.headers.iter() {
        if is(header.name, "connection") {
            for token in header.value.split(|&b| b == b',').map(trim) {
                if token.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if !token.is_empty() && !token.eq_ignore_ascii_case(b"keep-alive") {
                    named.push(token);
                }
            }
        } else if is(header.name, "transfer-encoding") {
            let last = header.value.rsplit(|&b| b == b',').next().map(trim);
            chunked = Some(last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked")));
        } else if is(header.name, "content-length") {
            match (parse_length(header.value), content_length) {
                (Some(n), None) => content_length = Some(n),
                (Some(n), Some(m)) if n == m => {}
                _ => return ParsedResponse::Invalid,
            }
        }
    }
    let framing = if head_request || status == 204 || status == 304 || informational {
        Framing::Empty
    } else {
        match (chunked, content_length) {
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) => Framing::UntilClose,
            (None, Some(n)) => Framing::Length(n),
            (None, None) => Framing::UntilClose,
        }
    };
    if informational {
        return ParsedResponse::Ready(Response {
            head_len,
            status,
            informational,
            content_length: None,
            framing,
            upstream_keep_alive: keep_alive,
            client_head: Vec::new(),
        });
    }
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut out = Vec::with_capacity(head_len + 64);
    let _ = write!(out, "HTTP/1.1 {status} {reason}\r\n");
    for header in res.headers.iter() {
        let name = header.name;
        if hop_by_hop(name)
            || named
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            || (chunked.is_some() && is(name, "content-length"))
        {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(header.value);
        out.extend_from_slice(b"\r\n");
    }
    if matches!(framing, Framing::Chunked | Framing::UntilClose) {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    if client_close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    let keep_alive = keep_alive && framing != Framing::UntilClose;
    ParsedResponse::Ready(Response {
        head_len,
        status,
        informational,
        content_length: if chunked.is_some() {
            None
        } else {
            content_length
        },
        framing,
        upstream_keep_alive: keep_alive,
        client_head: out,
    })
}

/// `data` as one chunk.
pub(super) fn chunk_frame(out: &mut Vec<u8>, data: &[u8]) {
    let _ = write!(out, "{:x}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Follows a chunked body as it passes, to find where it ends.
#[derive(Debug, Default)]
pub(super) struct Chunks {
    state: ChunkState,
    size: u64,
    digits: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Reading the size's hex digits.
    #[default]
    Size,
    /// After the size: extensions or spaces up to CR.
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    /// After the last chunk: a trailer line or the final CRLF.
    TrailerStart,
    Trailer,
    TrailerLf,
    EndLf,
    Done,
}

impl Chunks {
    /// Follows `data`; `Ok(Some(n))`: the body ended after `data[..n]`.
    pub(super) fn feed(&mut self, data: &[u8]) -> Result<Option<usize>, ()> {
        let mut i = 0;
        while i < data.len() {
            let b = data[i];
            match self.state {
                ChunkState::Size => match (b as char).to_digit(16) {
                    Some(d) if self.digits < 15 => {
                        self.size = self.size * 16 + u64::from(d);
                        self.digits += 1;
                    }
                    Some(_) => return Err(()),
                    None if self.digits == 0 => return Err(()),
                    None if b == b'\r' => self.state = ChunkState::SizeLf,
                    None if b == b';' || b == b' ' || b == b'\t' => {
                        self.state = ChunkState::Extension
                    }
                    None => return Err(()),
                },
                ChunkState::Extension => {
                    if b == b'\r' {
                        self.state = ChunkState::SizeLf;
                    } else if b == b'\n' {
                        return Err(());
                    }
                }
                ChunkState::SizeLf => {
                    if b != b'\n' {
                        return Err(());
                    }
                    self.state = if self.size == 0 {
                        ChunkState::TrailerStart
                    } else {
                        ChunkState::Data
                    };
                }
                ChunkState::Data => {
                    let take = usize::try_from(self.size)
                        .unwrap_or(usize::MAX)
                        .min(data.len() - i);
                    self.size -= take as u64;
                    i += take;
                    if self.size == 0 {
                        self.state = ChunkState::DataCr;
                    }
                    continue;
                }
                ChunkState::DataCr => {
                    if b != b'\r' {
                        return Err(());
                    }
                    self.state = ChunkState::DataLf;
                }
                ChunkState::DataLf => {
                    if b != b'\n' {
                        return Err(());
                    }
                    self.state = ChunkState::Size;
                    self.size = 0;
                    self.digits = 0;
                }
                ChunkState::TrailerStart => {
                    self.state = if b == b'\r' {
                        ChunkState::EndLf
                    } else if b == b'\n' {
                        return Err(());
                    } else {
                        ChunkState::Trailer
                    };
                }
                ChunkState::Trailer => {
                    if b == b'\r' {
                        self.state = ChunkState::TrailerLf;
                    }
                }
                ChunkState::TrailerLf => {
                    if b != b'\n' {
                        return Err(());
                    }
                    self.state = ChunkState::TrailerStart;
                }
                ChunkState::EndLf => {
                    if b != b'\n' {
                        return Err(());
                    }
                    self.state = ChunkState::Done;
                    return Ok(Some(i + 1));
                }
                ChunkState::Done => return Ok(Some(i)),
            }
            i += 1;
        }
        Ok((self.state == ChunkState::Done).then_some(data.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(raw: &[u8], head: bool, close: bool) -> Response {
        match parse_response(raw, head, close) {
            ParsedResponse::Ready(response) => response,
            other => panic!("{other:?}: {}", String::from_utf8_lossy(raw)),
        }
    }

    #[test]
    fn response_framing_and_headers() {
        let r = response(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-App: 1\r\n\r\nhello",
            false,
            false,
        );
        assert_eq!(r.framing, Framing::Length(5));
        assert_eq!(r.content_length, Some(5));
        assert!(r.upstream_keep_alive);
        let head = String::from_utf8(r.client_head).unwrap();
        assert_eq!(
            head,
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-App: 1\r\n\r\n"
        );

        let r = response(
            b"HTTP/1.1 404 Whatever\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n",
            false,
            true,
        );
        assert_eq!(r.framing, Framing::Chunked);
        assert_eq!(r.content_length, None);
        assert_eq!(
            String::from_utf8(r.client_head).unwrap(),
            "HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        );

        let r = response(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
            false,
            false,
        );
        assert_eq!(r.framing, Framing::UntilClose);
        assert!(!r.upstream_keep_alive);
        let r = response(
            b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
            false,
            false,
        );
        assert!(!r.upstream_keep_alive, "HTTP/1.0");
        let r = response(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", true, false);
        assert_eq!(r.framing, Framing::Empty, "HEAD");
        assert!(String::from_utf8(r.client_head)
            .unwrap()
            .contains("Content-Length: 7"));
        let r = response(b"HTTP/1.1 304 Not Modified\r\n\r\n", false, false);
        assert_eq!(r.framing, Framing::Empty);
        let r = response(b"HTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n", false, false);
        assert!(r.informational);
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"[..],
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
            b"nonsense\r\n\r\n",
        ] {
            assert!(matches!(
                parse_response(bad, false, false),
                ParsedResponse::Invalid
            ));
        }
    }

    #[test]
    fn a_chunked_body_ends_where_its_last_chunk_and_trailers_end_however_it_is_split() {
        let body =
            b"5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n";
        let extra = b"HTTP/1.1 200 OK";
        let mut all = body.to_vec();
        all.extend_from_slice(extra);
        for split in 0..=all.len() {
            let mut chunks = Chunks::default();
            let (a, b) = all.split_at(split);
            let end = match chunks.feed(a).unwrap() {
                Some(end) => end,
                None => split + chunks.feed(b).unwrap().expect("ends in the second part"),
            };
            assert_eq!(end, body.len(), "split at {split}");
        }
        assert_eq!(Chunks::default().feed(b"0\r\n\r\n").unwrap(), Some(5));
        assert_eq!(Chunks::default().feed(b"5\r\nhel").unwrap(), None);
        assert!(Chunks::default().feed(b"zz\r\n").is_err());
        assert!(Chunks::default().feed(b"5\r\nhelloXX").is_err());
    }
}
