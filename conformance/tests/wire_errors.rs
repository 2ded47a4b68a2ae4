//! The wire target's error paths, without Kafka: an unreachable broker, a server that sends garbage,
//! one that never answers, a fake broker missing an API version, one running another protocol. Each
//! gives a clear message and exit status 2, promptly; none hangs.

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::api_versions_response::{ApiVersion, FinalizedFeatureKey};
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse, ResponseHeader};
use kafka_protocol::protocol::{decode_request_header_from_buffer, Encodable, StrBytes};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn eos(args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_eos")).args(args).output().expect("eos runs");
    (out, started.elapsed())
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

const GOLDEN: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/traces/hanging-txn.tv1.counterexample.no_hanging_transaction.json");

/// A server on a free port that answers every connection with `answer` (run on its own thread).
fn serve(answer: impl Fn(&mut TcpStream) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("kafka://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            answer(&mut stream);
        }
    });
    url
}

/// Reads one size-prefixed request frame.
fn read_frame(stream: &mut TcpStream) -> Option<BytesMut> {
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).ok()?;
    let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
    stream.read_exact(&mut body).ok()?;
    Some(BytesMut::from(&body[..]))
}

/// A fake broker that answers ApiVersions with `apis` (key, min, max) and `transaction.version`,
/// and closes the connection on anything else.
fn fake_broker(apis: Vec<(ApiKey, i16, i16)>, transaction_version: i16) -> String {
    serve(move |stream| {
        while let Some(mut frame) = read_frame(stream) {
            let header = decode_request_header_from_buffer(&mut frame).unwrap();
            if header.request_api_key != ApiKey::ApiVersions as i16 {
                return;
            }
            let mut response = ApiVersionsResponse::default();
            response.api_keys = apis
                .iter()
                .map(|(key, min, max)| {
                    let mut v = ApiVersion::default();
                    v.api_key = *key as i16;
                    v.min_version = *min;
                    v.max_version = *max;
                    v
                })
                .collect();
            let mut feature = FinalizedFeatureKey::default();
            feature.name = StrBytes::from_static_str("transaction.version");
            feature.max_version_level = transaction_version;
            feature.min_version_level = transaction_version;
            response.finalized_features = vec![feature];
            let mut head = ResponseHeader::default();
            head.correlation_id = header.correlation_id;
            let mut payload = BytesMut::new();
            head.encode(&mut payload, 0).unwrap();
            response.encode(&mut payload, header.request_api_version).unwrap();
            let mut frame = BytesMut::new();
            frame.put_i32(payload.len() as i32);
            frame.put_slice(&payload);
            if stream.write_all(&frame).is_err() {
                return;
            }
        }
    })
}

/// Every API the harness uses, at Kafka 4.4's versions.
fn kafka_like_apis() -> Vec<(ApiKey, i16, i16)> {
    use ApiKey::*;
    vec![
        (Produce, 3, 13),
        (Fetch, 4, 18),
        (ListOffsets, 1, 10),
        (Metadata, 0, 13),
        (OffsetCommit, 2, 10),
        (OffsetFetch, 1, 10),
        (FindCoordinator, 0, 6),
        (JoinGroup, 0, 9),
        (SyncGroup, 0, 5),
        (ApiVersions, 0, 4),
        (CreateTopics, 2, 7),
        (DeleteTopics, 1, 6),
        (InitProducerId, 0, 6),
        (AddPartitionsToTxn, 0, 5),
        (AddOffsetsToTxn, 0, 4),
        (EndTxn, 0, 5),
        (TxnOffsetCommit, 0, 5),
    ]
}

/// Nobody listens: exit 2 at once, naming the address.
#[test]
fn an_unreachable_broker_exits_2() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let target = format!("kafka://{addr}");
    let (out, took) = eos(&["conformance", "basic", "--target", &target]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains(&format!("cannot connect to {addr}")), "{}", text(&out));
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let (out, _) = eos(&["replay", GOLDEN, "--target", &target]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// An HTTP server is not a Kafka broker: its answer's first four bytes read as an absurd frame size.
#[test]
fn garbage_exits_2() {
    let target = serve(|stream| {
        let mut buffer = [0u8; 512];
        let _ = stream.read(&mut buffer);
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    let (out, _) = eos(&["conformance", "basic", "--target", &target]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not a Kafka ApiVersions response"), "{}", text(&out));
}

/// A plausible frame of random bytes does not decode as the response to the request sent.
#[test]
fn an_undecodable_response_exits_2() {
    let target = serve(|stream| {
        if read_frame(stream).is_some() {
            let _ = stream.write_all(&[0, 0, 0, 6, 0xde, 0xad, 0xbe, 0xef, 0x13, 0x37]);
        }
    });
    let (out, _) = eos(&["conformance", "basic", "--target", &target]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let message = text(&out);
    assert!(message.contains("not a Kafka ApiVersions response") && message.contains("correlation id"), "{message}");
}

/// A server that accepts and never answers: the request's deadline ends it.
#[test]
fn a_silent_broker_times_out_and_exits_2() {
    let target = serve(|stream| {
        let _ = read_frame(stream);
        std::thread::sleep(Duration::from_secs(30));
    });
    let (out, took) = eos(&["conformance", "basic", "--target", &target, "--request-timeout-ms", "300"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("did not answer ApiVersions within 300 ms"), "{}", text(&out));
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

/// A broker without KIP-890 part 2's EndTxn v5 cannot run tv2 traces: the message says which API,
/// which versions and why.
#[test]
fn a_missing_api_version_exits_2() {
    let mut apis = kafka_like_apis();
    for api in apis.iter_mut().filter(|a| a.0 == ApiKey::EndTxn) {
        api.2 = 4;
    }
    let target = fake_broker(apis, 2);
    let (out, _) = eos(&["conformance", "basic", "--target", &target, "--protocol", "tv2"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("does not support EndTxn v5 (it offers v0-v4): tv2 needs"), "{}", text(&out));
}

/// A broker that reports transaction.version 2 runs tv2: asking it for tv1 traces is refused.
#[test]
fn a_broker_running_another_protocol_exits_2() {
    let target = fake_broker(kafka_like_apis(), 2);
    let (out, _) = eos(&["conformance", "basic", "--target", &target, "--protocol", "tv1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("runs tv2") && text(&out).contains("cannot realise tv1"), "{}", text(&out));
}

/// Malformed targets and inproc-only options are usage errors.
#[test]
fn usage_errors_exit_2() {
    for target in ["kafka://localhost", "kafka://:9092", "kafka://h:notaport", "tcp://127.0.0.1:9092"] {
        let (out, _) = eos(&["conformance", "basic", "--target", target]);
        assert_eq!(out.status.code(), Some(2), "{target}: {}", text(&out));
    }
    let (out, _) = eos(&["conformance", "basic", "--target", "kafka://127.0.0.1:1", "--fault", "skip-marker-retries"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("inproc only"), "{}", text(&out));
}
