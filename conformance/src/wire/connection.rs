//! One TCP connection to one broker, speaking the Kafka protocol through the `kafka-protocol` crate:
//! a request header and body encoded by the crate, framed with the protocol's 4-byte size prefix,
//! and the response decoded by the crate after its correlation id is checked.
//!
//! A connection carries one request at a time (the harness waits for each response before the next
//! step, which is also the order a Kafka broker processes one connection's requests in). Every read
//! has a deadline, and a response that cannot be decoded, is implausibly large or answers another
//! request makes the connection unusable: the broker is misbehaving, and saying so beats guessing.

use super::error::WireError;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{encode_request_header_into_buffer, Decodable, HeaderVersion, Request, StrBytes};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// The largest response the harness accepts. Its fetches are a few records; anything near this is
/// not a response to them (a frame size read from garbage usually is).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// The client id the harness's requests carry (brokers log it).
pub const CLIENT_ID: &str = "eos-conformance";

/// A connection to one broker.
pub struct Connection {
    stream: TcpStream,
    addr: String,
    next_correlation_id: i32,
    timeout: Duration,
    /// Set once a response failed: what is left on the socket cannot be trusted.
    broken: Option<WireError>,
}

/// The API's name, as Kafka spells it (`Produce`, `EndTxn`, …).
pub fn api_name(key: i16) -> String {
    ApiKey::try_from(key).map_or_else(|_| format!("API {key}"), |k| format!("{k:?}"))
}

impl Connection {
    /// Connects to `addr` (host:port), giving up after `timeout`; `timeout` is also every request's
    /// deadline.
    pub fn open(addr: &str, timeout: Duration) -> Result<Connection, WireError> {
        let connect_error = |message: String| WireError::Connect { addr: addr.to_string(), message };
        let candidates: Vec<_> =
            addr.to_socket_addrs().map_err(|e| connect_error(format!("cannot resolve it: {e}")))?.collect();
        let mut last = connect_error("it resolves to no address".to_string());
        for candidate in candidates {
            match TcpStream::connect_timeout(&candidate, timeout) {
                Ok(stream) => {
                    stream.set_nodelay(true).map_err(|e| connect_error(e.to_string()))?;
                    stream.set_write_timeout(Some(timeout)).map_err(|e| connect_error(e.to_string()))?;
                    return Ok(Connection {
                        stream,
                        addr: addr.to_string(),
                        next_correlation_id: 1,
                        timeout,
                        broken: None,
                    });
                }
                Err(e) if e.kind() == ErrorKind::TimedOut => {
                    last = connect_error(format!("no answer within {} ms", timeout.as_millis()))
                }
                Err(e) => last = connect_error(e.to_string()),
            }
        }
        Err(last)
    }

    /// Whether a request on it failed, so that it cannot be used any more.
    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    /// The broker's address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends `request` as `version` and waits (at most the connection's timeout) for its response.
    pub fn call<R: Request>(&mut self, request: &R, version: i16) -> Result<R::Response, WireError> {
        if let Some(error) = &self.broken {
            return Err(error.clone());
        }
        let result = self.exchange(request, version);
        if let Err(error) = &result {
            self.broken = Some(error.clone());
        }
        result
    }

    fn exchange<R: Request>(&mut self, request: &R, version: i16) -> Result<R::Response, WireError> {
        let api = api_name(R::KEY);
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let frame = encode::<R>(request, version, correlation_id)
            .map_err(|e| WireError::Broker(format!("cannot encode {api} v{version}: {e}")))?;
        let closed = |e: std::io::Error, addr: &str| WireError::Closed {
            addr: addr.to_string(),
            api: api.clone(),
            message: e.to_string(),
        };
        self.stream.write_all(&frame).map_err(|e| closed(e, &self.addr))?;
        let deadline = Instant::now() + self.timeout;
        let mut size = [0u8; 4];
        self.read_by(&mut size, deadline, &api)?;
        let size = i32::from_be_bytes(size);
        let addr = self.addr.clone();
        let garbage = |detail: String| WireError::Garbage { addr: addr.clone(), api: api.clone(), detail };
        let Ok(size) = usize::try_from(size) else {
            return Err(garbage(format!("a negative frame size ({size})")));
        };
        if !(4..=MAX_RESPONSE_BYTES).contains(&size) {
            return Err(garbage(format!("a frame of {size} bytes")));
        }
        let mut body = vec![0u8; size];
        self.read_by(&mut body, deadline, &api)?;
        decode::<R>(Bytes::from(body), version, correlation_id).map_err(garbage)
    }

    /// Fills `buffer` from the socket before `deadline`.
    fn read_by(&mut self, buffer: &mut [u8], deadline: Instant, api: &str) -> Result<(), WireError> {
        let mut filled = 0;
        while filled < buffer.len() {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(self.timeout_error(api));
            }
            let read =
                self.stream.set_read_timeout(Some(remaining)).and_then(|()| self.stream.read(&mut buffer[filled..]));
            match read {
                Ok(0) => {
                    return Err(WireError::Closed {
                        addr: self.addr.clone(),
                        api: api.to_string(),
                        message: "end of stream".to_string(),
                    })
                }
                Ok(n) => filled += n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(self.timeout_error(api))
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(WireError::Closed {
                        addr: self.addr.clone(),
                        api: api.to_string(),
                        message: e.to_string(),
                    })
                }
            }
        }
        Ok(())
    }

    fn timeout_error(&self, api: &str) -> WireError {
        WireError::Timeout {
            addr: self.addr.clone(),
            api: api.to_string(),
            timeout_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// The size-prefixed frame of `request` as `version` with `correlation_id`.
fn encode<R: Request>(request: &R, version: i16, correlation_id: i32) -> Result<Vec<u8>, String> {
    let mut header = RequestHeader::default();
    header.request_api_key = R::KEY;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = Some(StrBytes::from_static_str(CLIENT_ID));
    let mut payload = BytesMut::new();
    encode_request_header_into_buffer(&mut payload, &header).map_err(|e| e.to_string())?;
    request.encode(&mut payload, version).map_err(|e| e.to_string())?;
    let size = i32::try_from(payload.len()).map_err(|_| "request too large".to_string())?;
    let mut frame = BytesMut::with_capacity(payload.len() + 4);
    frame.put_i32(size);
    frame.put_slice(&payload);
    Ok(frame.to_vec())
}

/// Decodes a response frame (without its size prefix) to `R`'s response as `version`.
fn decode<R: Request>(mut body: Bytes, version: i16, correlation_id: i32) -> Result<R::Response, String> {
    let header_version = R::Response::header_version(version);
    let header = ResponseHeader::decode(&mut body, header_version).map_err(|e| format!("bad header: {e}"))?;
    if header.correlation_id != correlation_id {
        return Err(format!("it answers correlation id {} (the request had {correlation_id})", header.correlation_id));
    }
    let response = R::Response::decode(&mut body, version).map_err(|e| format!("bad v{version} body: {e}"))?;
    if body.has_remaining() {
        return Err(format!("{} bytes after the v{version} body", body.remaining()));
    }
    Ok(response)
}
