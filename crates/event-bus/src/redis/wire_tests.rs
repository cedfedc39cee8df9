//! Tests of the wire format and of reply parsing: examples, and proptests that fuzz what a server may send
//! (any reply shape, any stream entry) — never a panic; always an error, a message, or a readable
//! dead-letter entry.

use super::*;
use proptest::prelude::*;

fn bulk(b: &[u8]) -> Value {
    Value::BulkString(b.to_vec())
}

fn entry_value(id: &str, fields: &[(Vec<u8>, Vec<u8>)]) -> Value {
    Value::Array(vec![
        bulk(id.as_bytes()),
        Value::Array(
            fields
                .iter()
                .flat_map(|(f, v)| [bulk(f), bulk(v)])
                .collect(),
        ),
    ])
}

fn raw(id: &str, fields: &[(&[u8], &[u8])]) -> RawEntry {
    RawEntry {
        id: id.into(),
        fields: fields
            .iter()
            .map(|(f, v)| (f.to_vec(), v.to_vec()))
            .collect(),
        broken: None,
    }
}

/// Parses the RESP array of bulk strings [`resp_fields`] writes (the format documented for consumers).
fn parse_resp_fields(mut b: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    fn line(b: &mut &[u8], tag: u8) -> Option<usize> {
        let end = b.windows(2).position(|w| w == b"\r\n")?;
        let (head, rest) = b.split_at(end);
        *b = &rest[2..];
        (head.first() == Some(&tag))
            .then(|| std::str::from_utf8(&head[1..]).ok()?.parse().ok())
            .flatten()
    }
    let n = line(&mut b, b'*')?;
    let mut parts = Vec::with_capacity(n);
    for _ in 0..n {
        let len = line(&mut b, b'$')?;
        parts.push(b.get(..len)?.to_vec());
        if b.get(len..len + 2)? != b"\r\n" {
            return None;
        }
        b = &b[len + 2..];
    }
    if !b.is_empty() || n % 2 == 1 {
        return None;
    }
    let mut it = parts.into_iter();
    Some(std::iter::from_fn(|| Some((it.next()?, it.next()?))).collect())
}

const WHY: DeadLetter<'static> = DeadLetter {
    topic: "orders",
    group: "billing",
    last_error: "boom",
    attempts: 3,
};

fn check_dead_letter(entry: &RawEntry) {
    let fields = dead_letter_fields(entry, &WHY);
    let dlq = RawEntry {
        id: "9-9".into(),
        fields: fields.clone(),
        broken: None,
    };
    let (_, m) = match decode(dlq) {
        Ok(ok) => ok,
        Err((_, reason)) => panic!("a dead-letter entry must be readable: {reason}: {fields:?}"),
    };
    let h = &m.headers;
    assert_eq!(h[HEADER_ORIGINAL_TOPIC], "orders");
    assert_eq!(h[HEADER_GROUP], "billing");
    assert_eq!(h[HEADER_LAST_ERROR], "boom");
    assert_eq!(h[HEADER_ATTEMPTS], "3");
    match decode(entry.clone()) {
        Ok((_, original)) => {
            assert_eq!(
                (&m.id, &m.key, &m.payload),
                (&original.id, &original.key, &original.payload)
            );
            for (name, value) in &original.headers {
                if !name.starts_with("avb-dlq-") {
                    assert_eq!(h.get(name), Some(value), "header {name} kept");
                }
            }
            assert!(!h.contains_key(HEADER_FOREIGN_ENTRY));
        }
        Err(_) => {
            assert_eq!(h.get(HEADER_FOREIGN_ENTRY), Some(&entry.id));
            assert_eq!(
                parse_resp_fields(&m.payload).as_ref(),
                Some(&entry.fields),
                "the payload holds the original fields"
            );
        }
    }
}

#[test]
fn a_message_round_trips_through_its_fields() {
    let m = Message::new(vec![0xff, 0, 1])
        .with_key("k")
        .with_header("traceparent", "00-ab-cd-01")
        .with_header("", "empty name");
    let entry = RawEntry {
        id: "1-0".into(),
        fields: encode(&m),
        broken: None,
    };
    assert_eq!(decode(entry).ok(), Some(("1-0".into(), m)));
}

#[test]
fn entries_avb_cannot_read_say_why() {
    for (fields, why) in [
        (
            vec![(&b"p"[..], &b"x"[..])],
            "fields i (id) and p (payload) are required",
        ),
        (
            vec![(b"i", b"1")],
            "fields i (id) and p (payload) are required",
        ),
        (vec![(b"i", b"\xff"), (b"p", b"")], "field i is not UTF-8"),
        (
            vec![(b"i", b"1"), (b"p", b""), (b"k", b"\xff")],
            "field k is not UTF-8",
        ),
        (
            vec![(b"i", b"1"), (b"p", b""), (b"p", b"")],
            "field i, p or k appears twice",
        ),
        (
            vec![(b"i", b"1"), (b"p", b""), (b"h:\xff", b"v")],
            "a header (h:*) name or value is not UTF-8",
        ),
        (
            vec![(b"i", b"1"), (b"p", b""), (b"h:a", b"1"), (b"h:a", b"2")],
            "a header (h:*) appears twice",
        ),
    ] {
        let entry = raw("1-0", &fields);
        match decode(entry.clone()) {
            Err((back, reason)) => {
                assert_eq!(back, entry, "given back untouched");
                assert_eq!(reason, format!("not an avb message: {why}"));
            }
            Ok(m) => panic!("{fields:?} decoded as {m:?}"),
        }
        check_dead_letter(&entry);
    }
    // Unknown fields are ignored.
    assert!(decode(raw("1-0", &[(b"i", b"1"), (b"p", b""), (b"x", b"\xff")])).is_ok());
}

#[test]
fn a_dead_lettered_message_keeps_its_fields_and_replaces_old_dead_letter_headers() {
    let m = Message::new(&b"x"[..])
        .with_header("avb-dlq-group", "older")
        .with_header("keep", "me");
    let entry = RawEntry {
        id: "5-1".into(),
        fields: encode(&m),
        broken: None,
    };
    let out = dead_letter_fields(&entry, &WHY);
    let headers = headers_of(&out);
    assert_eq!(headers["avb-dlq-group"], "billing");
    assert_eq!(headers["keep"], "me");
    check_dead_letter(&entry);
    // An entry trimmed away before it could be dead-lettered: no fields, still a readable tombstone.
    check_dead_letter(&RawEntry {
        id: "7-0".into(),
        ..RawEntry::default()
    });
}

#[test]
fn replies_of_every_documented_shape_parse() {
    let fields = vec![
        (b"i".to_vec(), b"1".to_vec()),
        (b"p".to_vec(), b"x".to_vec()),
    ];
    let stream = Value::Array(vec![entry_value("1-0", &fields), Value::Nil]);
    let resp2 = Value::Array(vec![Value::Array(vec![bulk(b"key"), stream.clone()])]);
    let resp3 = Value::Map(vec![(bulk(b"key"), stream.clone())]);
    let want = vec![RawEntry {
        id: "1-0".into(),
        fields,
        broken: None,
    }];
    assert_eq!(read_reply(resp2), Ok(want.clone()));
    assert_eq!(read_reply(resp3), Ok(want.clone()));
    assert_eq!(read_reply(Value::Nil), Ok(Vec::new()));
    let claimed = Value::Array(vec![bulk(b"0-0"), stream, Value::Array(vec![bulk(b"3-0")])]);
    assert_eq!(autoclaim_reply(claimed), Ok(("0-0".into(), want)));
    let row = Value::Array(vec![bulk(b"1-0"), bulk(b"c"), Value::Int(5), Value::Int(2)]);
    assert_eq!(pending_count(Value::Array(vec![row])), Ok(Some(2)));
    assert_eq!(pending_count(Value::Array(vec![])), Ok(None));
    assert!(
        read_reply(Value::Int(3))
            .unwrap_err()
            .contains("XREADGROUP")
    );
    assert!(autoclaim_reply(Value::Array(vec![])).is_err());
}

#[test]
fn a_broken_entry_is_dead_lettered_not_an_error() {
    let odd = Value::Array(vec![bulk(b"1-0"), Value::Array(vec![bulk(b"i")])]);
    let nested = Value::Array(vec![
        bulk(b"2-0"),
        Value::Array(vec![
            bulk(b"i"),
            Value::Array(vec![]),
            bulk(b"p"),
            bulk(b""),
        ]),
    ]);
    let got = entries("XRANGE", Value::Array(vec![odd, nested])).unwrap();
    assert_eq!(got.len(), 2);
    for e in got {
        assert!(e.broken.is_some(), "{e:?}");
        assert!(decode(e.clone()).is_err());
        check_dead_letter(&e);
    }
}

fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<i64>().prop_map(Value::Int),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(Value::BulkString),
        prop_oneof![
            Just("i"),
            Just("p"),
            Just("k"),
            Just("h:x"),
            Just("1-0"),
            Just("0-0")
        ]
        .prop_map(|s| bulk(s.as_bytes())),
        "[ -~]{0,6}".prop_map(Value::SimpleString),
        Just(Value::Okay),
        any::<f64>().prop_map(Value::Double),
        any::<bool>().prop_map(Value::Boolean),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Set),
            proptest::collection::vec((inner.clone(), inner.clone()), 0..3).prop_map(Value::Map),
            (
                inner.clone(),
                proptest::collection::vec((inner.clone(), inner), 0..2)
            )
                .prop_map(|(data, attributes)| Value::Attribute {
                    data: Box::new(data),
                    attributes,
                }),
        ]
    })
}

fn field_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"i".to_vec()),
        Just(b"p".to_vec()),
        Just(b"k".to_vec()),
        "h:[a-z-]{0,4}".prop_map(String::into_bytes),
        Just(b"h:avb-dlq-group".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..4),
    ]
}

fn field_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        ".{0,6}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..6),
    ]
}

fn any_fields() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    proptest::collection::vec((field_name(), field_value()), 0..7)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any reply, of any shape: the parsers return an error or entries, never panic.
    #[test]
    fn no_reply_makes_the_parsers_panic(v in any_value()) {
        let _ = read_reply(v.clone());
        let _ = autoclaim_reply(v.clone());
        let _ = pending_count(v.clone());
        if let Ok(entries) = entries("XRANGE", v) {
            for e in entries {
                if let Err((e, _)) = decode(e) {
                    check_dead_letter(&e);
                }
            }
        }
    }

    /// Any stream entry read through `XREADGROUP`: parsed with its fields in order, then either a message
    /// that re-encodes to itself or a dead-letter entry avb can read, holding the original.
    #[test]
    fn every_entry_is_a_message_or_a_readable_dead_letter(
        entries in proptest::collection::vec(("[0-9]{1,3}-[0-9]", any_fields()), 0..4),
    ) {
        let stream = Value::Array(entries.iter().map(|(id, f)| entry_value(id, f)).collect());
        let reply = Value::Array(vec![Value::Array(vec![bulk(b"key"), stream])]);
        let parsed = read_reply(reply).map_err(TestCaseError::fail)?;
        prop_assert_eq!(parsed.len(), entries.len());
        for (entry, (id, fields)) in parsed.into_iter().zip(&entries) {
            prop_assert_eq!(&entry.id, id);
            prop_assert_eq!(&entry.fields, fields);
            if let Ok((_, m)) = decode(entry.clone()) {
                let again = RawEntry { id: id.clone(), fields: encode(&m), broken: None };
                prop_assert_eq!(decode(again).ok().map(|(_, m)| m), Some(m));
            }
            check_dead_letter(&entry);
        }
    }

    /// Any message survives encode → decode byte for byte.
    #[test]
    fn any_message_round_trips(
        id in ".{0,12}",
        key in proptest::option::of(".{0,8}"),
        headers in proptest::collection::btree_map(".{0,6}", ".{0,6}", 0..4),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let m = Message { id: MessageId::new(id), key, headers, payload: payload.into() };
        let entry = RawEntry { id: "1-0".into(), fields: encode(&m), broken: None };
        prop_assert_eq!(decode(entry).ok().map(|(_, m)| m), Some(m));
    }
}
