//! The `Table` port's contract, run with the same cases on the embedded
//! SQLite adapter and on DynamoDB Local.

use std::sync::Arc;

use portico_core::clock::{Clock, SystemClock};
use portico_core::store::{Cond, Cursor, Index, Item, Key, Query, SkCond, StoreError, Table, Write};
use portico_tests::{Backend, fresh_table};
use serde_json::json;

async fn table(backend: Backend) -> Arc<dyn Table> {
    fresh_table(backend, Arc::new(SystemClock)).await
}

fn item(pk: &str, sk: &str, version: u64, n: i64) -> Item {
    Item::new(
        Key::new(pk, sk),
        "Thing",
        version,
        &json!({ "n": n, "name": format!("{pk}/{sk}") }),
    )
    .unwrap()
}

fn put(item: Item, cond: Cond) -> Write {
    Write::Put { item, cond }
}

async fn collect(t: &dyn Table, q: Query) -> (Vec<Item>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    let mut cursor = None;
    loop {
        let page = t.query(&q.clone().after(cursor)).await.unwrap();
        pages += 1;
        if page.next.is_some() {
            assert_eq!(page.items.len(), q.limit as usize, "every page but the last is full");
        } else {
            assert!(
                page.items.len() <= q.limit as usize,
                "a page holds at most `limit` items"
            );
        }
        out.extend(page.items);
        match page.next {
            Some(c) => cursor = Some(Cursor::parse(c.as_str()).unwrap()),
            None => break,
        }
        assert!(pages < 100, "paging does not terminate");
    }
    (out, pages)
}

pub async fn create_only_put_rejected_on_existing_item(b: Backend) {
    let t = table(b).await;
    t.transact(vec![put(item("P", "a", 1, 1), Cond::MustNotExist)])
        .await
        .unwrap();
    let err = t
        .transact(vec![put(item("P", "a", 1, 2), Cond::MustNotExist)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 0 }), "{err:?}");
    assert_eq!(
        t.get(&Key::new("P", "a")).await.unwrap().unwrap().data["n"],
        1,
        "the first write stands"
    );
}

pub async fn version_conflict_rejected(b: Backend) {
    let t = table(b).await;
    t.transact(vec![put(item("P", "v", 1, 1), Cond::MustNotExist)])
        .await
        .unwrap();
    t.transact(vec![put(item("P", "v", 2, 2), Cond::VersionIs(1))])
        .await
        .unwrap();
    let err = t
        .transact(vec![put(item("P", "v", 2, 3), Cond::VersionIs(1))])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 0 }), "{err:?}");
    let err = t
        .transact(vec![put(item("P", "missing", 2, 3), Cond::VersionIs(1))])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::ConditionFailed { index: 0 }),
        "version check on a missing item fails: {err:?}"
    );
    let got = t.get(&Key::new("P", "v")).await.unwrap().unwrap();
    assert_eq!((got.version, got.data["n"].as_i64()), (2, Some(2)));
    assert!(t.get(&Key::new("P", "missing")).await.unwrap().is_none());
}

pub async fn transaction_with_one_failing_condition_writes_nothing(b: Backend) {
    let t = table(b).await;
    t.transact(vec![
        put(item("P", "exists", 1, 1), Cond::MustNotExist),
        put(item("P", "keep", 1, 1), Cond::None),
    ])
    .await
    .unwrap();
    let err = t
        .transact(vec![
            put(item("P", "new", 1, 1), Cond::MustNotExist),
            Write::Delete {
                key: Key::new("P", "keep"),
                cond: Cond::None,
            },
            put(item("P", "exists", 1, 9), Cond::MustNotExist),
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 2 }), "{err:?}");
    assert!(
        t.get(&Key::new("P", "new")).await.unwrap().is_none(),
        "the put did not happen"
    );
    assert!(
        t.get(&Key::new("P", "keep")).await.unwrap().is_some(),
        "the delete did not happen"
    );
    assert_eq!(t.get(&Key::new("P", "exists")).await.unwrap().unwrap().data["n"], 1);

    // A failing check write also cancels the rest.
    let err = t
        .transact(vec![
            put(item("P", "new", 1, 1), Cond::MustNotExist),
            Write::Check {
                key: Key::new("P", "absent"),
                cond: Cond::MustExist,
            },
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 1 }), "{err:?}");
    assert!(t.get(&Key::new("P", "new")).await.unwrap().is_none());

    // Conditional delete.
    let err = t
        .transact(vec![Write::Delete {
            key: Key::new("P", "keep"),
            cond: Cond::VersionIs(7),
        }])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 0 }), "{err:?}");
    t.transact(vec![Write::Delete {
        key: Key::new("P", "keep"),
        cond: Cond::VersionIs(1),
    }])
    .await
    .unwrap();
    assert!(t.get(&Key::new("P", "keep")).await.unwrap().is_none());
}

async fn fill(t: &dyn Table) {
    let mut writes = Vec::new();
    for i in 0..25 {
        writes.push(put(item("Q", &format!("item#{i:02}"), 1, i), Cond::None));
    }
    for i in 0..3 {
        writes.push(put(item("Q", &format!("other#{i}"), 1, 100 + i), Cond::None));
        writes.push(put(item("Q2", &format!("item#{i:02}"), 1, 200 + i), Cond::None));
    }
    t.transact(writes).await.unwrap();
}

pub async fn prefix_queries_are_sorted_and_paged_and_the_cursor_resumes_exactly(b: Backend) {
    let t = table(b).await;
    fill(t.as_ref()).await;
    let q = Query::partition(Index::Primary, "Q")
        .sk(SkCond::BeginsWith("item#".into()))
        .limit(10);
    let (items, pages) = collect(t.as_ref(), q.clone()).await;
    let sks: Vec<_> = items.iter().map(|i| i.sk.clone()).collect();
    let expected: Vec<_> = (0..25).map(|i| format!("item#{i:02}")).collect();
    assert_eq!(sks, expected, "every item once, in order, across pages");
    assert_eq!(pages, 3, "25 items in pages of 10: 3 pages, the last without a cursor");
    let (exact, pages) = collect(t.as_ref(), q.clone().limit(5)).await;
    assert_eq!(
        (exact.len(), pages),
        (25, 5),
        "an exactly full last page carries no cursor"
    );

    let (back, _) = collect(t.as_ref(), q.backward()).await;
    let mut rev = expected.clone();
    rev.reverse();
    assert_eq!(
        back.iter().map(|i| i.sk.clone()).collect::<Vec<_>>(),
        rev,
        "descending order pages too"
    );

    let (all, _) = collect(t.as_ref(), Query::partition(Index::Primary, "Q").limit(7)).await;
    assert_eq!(all.len(), 28, "the whole partition, no other partition");
    assert!(all.windows(2).all(|w| w[0].sk < w[1].sk));
}

pub async fn range_queries(b: Backend) {
    let t = table(b).await;
    fill(t.as_ref()).await;
    let sks = |items: Vec<Item>| items.into_iter().map(|i| i.sk).collect::<Vec<_>>();
    let between = Query::partition(Index::Primary, "Q")
        .sk(SkCond::Between("item#05".into(), "item#09".into()))
        .limit(2);
    assert_eq!(
        sks(collect(t.as_ref(), between).await.0),
        ["item#05", "item#06", "item#07", "item#08", "item#09"]
    );
    let gte = Query::partition(Index::Primary, "Q").sk(SkCond::Gte("other#1".into()));
    assert_eq!(sks(collect(t.as_ref(), gte).await.0), ["other#1", "other#2"]);
    let lte = Query::partition(Index::Primary, "Q").sk(SkCond::Lte("item#01".into()));
    assert_eq!(sks(collect(t.as_ref(), lte).await.0), ["item#00", "item#01"]);
}

pub async fn index_queries(b: Backend) {
    let t = table(b).await;
    let mut writes = Vec::new();
    for i in 0..12 {
        // Two items share each index sort key: ties must still page exactly.
        let it = item(&format!("E#{i}"), "E", 1, i)
            .with_gsi1("G", format!("k#{:02}", i / 2))
            .with_gsi2("H", "same");
        writes.push(put(it, Cond::None));
    }
    writes.push(put(item("E#x", "E", 1, 99).with_gsi1("OTHER", "k#00"), Cond::None));
    writes.push(put(item("E#y", "E", 1, 98), Cond::None));
    t.transact(writes).await.unwrap();

    let (items, _) = collect(t.as_ref(), Query::partition(Index::Gsi1, "G").limit(5)).await;
    assert_eq!(items.len(), 12, "every indexed item once");
    let mut pks: Vec<_> = items.iter().map(|i| i.pk.clone()).collect();
    pks.sort();
    pks.dedup();
    assert_eq!(pks.len(), 12, "no duplicates across pages");
    assert!(
        items.windows(2).all(|w| w[0].gsi1sk <= w[1].gsi1sk),
        "sorted by the index sort key"
    );

    let (prefixed, _) = collect(
        t.as_ref(),
        Query::partition(Index::Gsi1, "G")
            .sk(SkCond::BeginsWith("k#0".into()))
            .limit(3),
    )
    .await;
    assert_eq!(prefixed.len(), 12, "k#00..k#05 hold two items each");
    let (range, _) = collect(
        t.as_ref(),
        Query::partition(Index::Gsi1, "G")
            .sk(SkCond::Between("k#01".into(), "k#03".into()))
            .limit(4),
    )
    .await;
    assert_eq!(range.len(), 6, "k#01..k#03 hold two items each");
    let (h, _) = collect(t.as_ref(), Query::partition(Index::Gsi2, "H").limit(4)).await;
    assert_eq!(h.len(), 12);
    let (none, _) = collect(t.as_ref(), Query::partition(Index::Gsi2, "nothing")).await;
    assert!(none.is_empty());
}

pub async fn expired_items_are_absent(b: Backend) {
    let t = table(b).await;
    let now = SystemClock.now().timestamp();
    t.transact(vec![
        put(item("T", "old", 1, 1).with_ttl(now - 10), Cond::None),
        put(item("T", "live", 1, 2).with_ttl(now + 3600), Cond::None),
        put(item("T", "forever", 1, 3), Cond::None),
    ])
    .await
    .unwrap();
    assert!(
        t.get(&Key::new("T", "old")).await.unwrap().is_none(),
        "an expired item reads as absent"
    );
    assert!(t.get(&Key::new("T", "live")).await.unwrap().is_some());
    let (items, _) = collect(t.as_ref(), Query::partition(Index::Primary, "T")).await;
    assert_eq!(
        items.iter().map(|i| i.sk.as_str()).collect::<Vec<_>>(),
        ["forever", "live"]
    );
    // An expired item does not block a create-only put, and fails must-exist / version checks.
    let err = t
        .transact(vec![Write::Check {
            key: Key::new("T", "old"),
            cond: Cond::MustExist,
        }])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 0 }));
    let err = t
        .transact(vec![put(item("T", "old", 2, 5), Cond::VersionIs(1))])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 0 }));
    t.transact(vec![put(item("T", "old", 1, 4), Cond::MustNotExist)])
        .await
        .unwrap();
    assert_eq!(t.get(&Key::new("T", "old")).await.unwrap().unwrap().data["n"], 4);

    // Expired items between live ones do not shorten pages.
    let mut writes = Vec::new();
    for i in 0..20 {
        let it = item("TP", &format!("{i:02}"), 1, i);
        writes.push(put(if i % 2 == 0 { it.with_ttl(now - 5) } else { it }, Cond::None));
    }
    t.transact(writes).await.unwrap();
    let (live, pages) = collect(t.as_ref(), Query::partition(Index::Primary, "TP").limit(3)).await;
    let sks: Vec<_> = live.iter().map(|i| i.sk.as_str()).collect();
    assert_eq!(sks, ["01", "03", "05", "07", "09", "11", "13", "15", "17", "19"]);
    assert_eq!(pages, 4, "10 live items in full pages of 3");
}

pub async fn bad_cursors_are_refused(b: Backend) {
    let t = table(b).await;
    fill(t.as_ref()).await;
    assert!(matches!(Cursor::parse("not a cursor!"), Err(StoreError::BadCursor)));
    let page = t.query(&Query::partition(Index::Primary, "Q").limit(2)).await.unwrap();
    let cursor = page.next.expect("more pages");
    // A cursor from one partition does not resume another.
    let err = t
        .query(&Query::partition(Index::Primary, "Q2").after(Some(cursor.clone())))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::BadCursor), "{err:?}");
    let err = t
        .query(&Query::partition(Index::Gsi1, "Q").after(Some(cursor.clone())))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::BadCursor), "{err:?}");
    // Nor a query of the same partition with a sort-key condition it falls outside.
    let other = Query::partition(Index::Primary, "Q").sk(SkCond::BeginsWith("other#".into()));
    let err = t.query(&other.after(Some(cursor))).await.unwrap_err();
    assert!(matches!(err, StoreError::BadCursor), "{err:?}");
    // Forged cursors with empty keys.
    use base64::Engine;
    for forged in [
        r#"{"pk":"","sk":""}"#,
        r#"{"pk":"Q","sk":""}"#,
        r#"{"pk":"","sk":"","ipk":"G","isk":"x"}"#,
    ] {
        let c = Cursor::parse(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged)).unwrap();
        let q = if forged.contains("ipk") {
            Query::partition(Index::Gsi1, "G")
        } else {
            Query::partition(Index::Primary, "Q")
        };
        let err = t.query(&q.after(Some(c))).await.unwrap_err();
        assert!(matches!(err, StoreError::BadCursor), "{forged}: {err:?}");
    }
}

pub async fn empty_and_unpaired_keys_are_refused(b: Backend) {
    let t = table(b).await;
    for bad in [
        item("", "a", 1, 1),
        item("P", "", 1, 1),
        item("P", "a", 1, 1).with_gsi1("", "x"),
        item("P", "a", 1, 1).with_gsi2("y", ""),
    ] {
        let err = t.transact(vec![put(bad.clone(), Cond::None)]).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidKey(_)), "{bad:?}: {err:?}");
    }
    let mut half = item("P", "a", 1, 1);
    half.gsi1pk = Some("G".into());
    assert!(matches!(
        t.transact(vec![put(half, Cond::None)]).await,
        Err(StoreError::InvalidKey(_))
    ));
    assert!(t.get(&Key::new("P", "a")).await.unwrap().is_none());
}

pub async fn items_round_trip(b: Backend) {
    let t = table(b).await;
    let data = json!({ "s": "x", "n": 42, "f": 1.5, "b": true, "null": null, "list": [1, "two"], "map": { "k": "v" }, "empty": "" });
    let it = Item::new(Key::new("R", "1"), "Thing", 3, &data)
        .unwrap()
        .with_gsi1("g", "h")
        .with_ttl(4_102_444_800);
    t.transact(vec![put(it.clone(), Cond::MustNotExist)]).await.unwrap();
    assert_eq!(t.get(&Key::new("R", "1")).await.unwrap().unwrap(), it);
}

pub async fn oversized_transactions_are_refused(b: Backend) {
    let t = table(b).await;
    let writes: Vec<_> = (0..101)
        .map(|i| put(item("O", &i.to_string(), 1, i), Cond::None))
        .collect();
    assert!(matches!(t.transact(writes).await, Err(StoreError::TooManyWrites(101))));
    assert!(matches!(t.transact(vec![]).await, Err(StoreError::TooManyWrites(0))));
    // Sizes, before the store is asked (issue 10): an item over 390 KB, a
    // transaction over 4 MB; nothing is written.
    let big = |sk: &str, kb: usize| {
        Item::new(Key::new("O", sk), "Thing", 1, &json!({ "blob": "x".repeat(kb * 1024) })).unwrap()
    };
    assert!(matches!(
        t.transact(vec![put(big("huge", 400), Cond::None)]).await,
        Err(StoreError::TooLarge(_))
    ));
    let many: Vec<_> = (0..12).map(|i| put(big(&format!("m{i}"), 350), Cond::None)).collect();
    assert!(matches!(t.transact(many).await, Err(StoreError::TooLarge(_))));
    assert!(t.get(&Key::new("O", "m0")).await.unwrap().is_none());
    t.transact(vec![put(big("fits", 380), Cond::None)]).await.unwrap();
    assert!(
        t.get(&Key::new("O", "fits")).await.unwrap().is_some(),
        "an item just under the limit is stored"
    );
    let twice = vec![
        put(item("O", "a", 1, 1), Cond::None),
        Write::Delete {
            key: Key::new("O", "a"),
            cond: Cond::None,
        },
    ];
    assert!(matches!(t.transact(twice).await, Err(StoreError::DuplicateKey(_))));
    assert!(t.get(&Key::new("O", "a")).await.unwrap().is_none());
}

pub async fn patches_set_fields_and_bump_the_version(b: Backend) {
    let t = table(b).await;
    let now = SystemClock.now().timestamp();
    t.transact(vec![
        put(item("PA", "a", 1, 1).with_gsi1("G", "a"), Cond::None),
        put(item("PA", "old", 1, 1).with_ttl(now - 1), Cond::None),
    ])
    .await
    .unwrap();
    let set = json!({ "n": 7, "state": "accepted", "nested": { "k": [1, 2] }, "gone": null });
    t.transact(vec![
        Write::patch(Key::new("PA", "a"), &set, Cond::VersionIs(1)).unwrap(),
    ])
    .await
    .unwrap();
    let got = t.get(&Key::new("PA", "a")).await.unwrap().unwrap();
    assert_eq!(got.version, 2);
    assert_eq!(got.data["version"], 2, "the entity's version follows the item's");
    assert_eq!(got.data["n"], 7);
    assert_eq!(got.data["state"], "accepted");
    assert_eq!(got.data["nested"]["k"], json!([1, 2]));
    assert_eq!(got.data["gone"], serde_json::Value::Null);
    assert_eq!(got.data["name"], "PA/a", "other fields stay");
    assert_eq!(got.gsi1sk.as_deref(), Some("a"), "keys stay");
    // Stale version, missing item, expired item: refused, nothing written.
    for (key, cond) in [
        ("a", Cond::VersionIs(1)),
        ("missing", Cond::None),
        ("old", Cond::None),
        ("missing", Cond::MustNotExist),
    ] {
        let w = Write::patch(Key::new("PA", key), &json!({ "n": 9 }), cond).unwrap();
        let err = t.transact(vec![w]).await.unwrap_err();
        assert!(
            matches!(err, StoreError::ConditionFailed { index: 0 }),
            "{key} {cond:?}: {err:?}"
        );
    }
    assert!(
        t.get(&Key::new("PA", "missing")).await.unwrap().is_none(),
        "a patch never creates an item"
    );
    assert_eq!(t.get(&Key::new("PA", "a")).await.unwrap().unwrap().data["n"], 7);
    let bad = Write::patch(Key::new("PA", "a"), &json!({ "bad field": 1 }), Cond::None).unwrap();
    assert!(matches!(t.transact(vec![bad]).await, Err(StoreError::InvalidKey(_))));
}

pub async fn get_many_reads_in_key_order(b: Backend) {
    let t = table(b).await;
    let now = SystemClock.now().timestamp();
    t.transact(vec![
        put(item("M", "a", 1, 1), Cond::None),
        put(item("M", "b", 1, 2), Cond::None),
        put(item("M", "gone", 1, 3).with_ttl(now - 1), Cond::None),
    ])
    .await
    .unwrap();
    let keys = [
        Key::new("M", "b"),
        Key::new("M", "missing"),
        Key::new("M", "a"),
        Key::new("M", "gone"),
        Key::new("M", "b"),
    ];
    let got = t.get_many(&keys).await.unwrap();
    let ns: Vec<Option<i64>> = got
        .iter()
        .map(|i| i.as_ref().and_then(|i| i.data["n"].as_i64()))
        .collect();
    assert_eq!(
        ns,
        [Some(2), None, Some(1), None, Some(2)],
        "in order, missing and expired as None, repeats allowed"
    );
    assert!(t.get_many(&[]).await.unwrap().is_empty());
    let too_many: Vec<Key> = (0..101).map(|i| Key::new("M", i.to_string())).collect();
    assert!(matches!(
        t.get_many(&too_many).await,
        Err(StoreError::TooManyReads(101))
    ));
}

pub async fn counters_stay_within_their_cap(b: Backend) {
    let t = table(b).await;
    let key = Key::new("PC", "seats");
    let count = |up: bool| Write::Count {
        key: key.clone(),
        field: "used",
        up,
        cap: "limit",
    };
    t.transact(vec![put(
        Item::new(key.clone(), "Thing", 1, &json!({ "used": 0, "limit": 2 })).unwrap(),
        Cond::None,
    )])
    .await
    .unwrap();
    // Down from 0: refused.
    let err = t.transact(vec![count(false)]).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 0 }), "{err:?}");
    // Up twice, then the cap holds; the version stays.
    t.transact(vec![count(true)]).await.unwrap();
    t.transact(vec![count(true)]).await.unwrap();
    let err = t
        .transact(vec![put(item("PC", "other", 1, 1), Cond::None), count(true)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 1 }), "{err:?}");
    assert!(
        t.get(&Key::new("PC", "other")).await.unwrap().is_none(),
        "nothing written"
    );
    let got = t.get(&key).await.unwrap().unwrap();
    assert_eq!((got.data["used"].as_i64(), got.version), (Some(2), 1));
    // Down, then up again.
    t.transact(vec![count(false)]).await.unwrap();
    t.transact(vec![count(true)]).await.unwrap();
    // A null cap (as a patch leaves it) bounds nothing, nor does a missing one.
    t.transact(vec![
        Write::patch(key.clone(), &json!({ "limit": null }), Cond::None).unwrap(),
    ])
    .await
    .unwrap();
    for _ in 0..3 {
        t.transact(vec![count(true)]).await.unwrap();
    }
    assert_eq!(t.get(&key).await.unwrap().unwrap().data["used"], 5);
    let bare = Key::new("PC", "bare");
    t.transact(vec![put(
        Item::new(bare.clone(), "Thing", 1, &json!({ "used": 0 })).unwrap(),
        Cond::None,
    )])
    .await
    .unwrap();
    t.transact(vec![Write::Count {
        key: bare.clone(),
        field: "used",
        up: true,
        cap: "limit",
    }])
    .await
    .unwrap();
    // A missing item is never created.
    let err = t
        .transact(vec![Write::Count {
            key: Key::new("PC", "missing"),
            field: "used",
            up: true,
            cap: "limit",
        }])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 0 }), "{err:?}");
    assert!(t.get(&Key::new("PC", "missing")).await.unwrap().is_none());
    // Concurrent counts against one free place: exactly one wins.
    t.transact(vec![
        Write::patch(key.clone(), &json!({ "limit": 6 }), Cond::None).unwrap(),
    ])
    .await
    .unwrap();
    let tries = (0..8).map(|_| {
        let t = t.clone();
        let w = count(true);
        async move {
            loop {
                match t.transact(vec![w.clone()]).await {
                    Err(StoreError::Conflict) => continue,
                    other => return other,
                }
            }
        }
    });
    let won = futures::future::join_all(tries)
        .await
        .into_iter()
        .filter(Result::is_ok)
        .count();
    assert_eq!(won, 1);
    assert_eq!(t.get(&key).await.unwrap().unwrap().data["used"], 6);
}

macro_rules! contract {
    ($backend_mod:ident, $backend:expr) => {
        mod $backend_mod {
            use super::*;
            #[tokio::test]
            async fn create_only_put_rejected_on_existing_item() {
                super::create_only_put_rejected_on_existing_item($backend).await
            }
            #[tokio::test]
            async fn version_conflict_rejected() {
                super::version_conflict_rejected($backend).await
            }
            #[tokio::test]
            async fn transaction_with_one_failing_condition_writes_nothing() {
                super::transaction_with_one_failing_condition_writes_nothing($backend).await
            }
            #[tokio::test]
            async fn prefix_queries_are_sorted_and_paged_and_the_cursor_resumes_exactly() {
                super::prefix_queries_are_sorted_and_paged_and_the_cursor_resumes_exactly($backend).await
            }
            #[tokio::test]
            async fn range_queries() {
                super::range_queries($backend).await
            }
            #[tokio::test]
            async fn index_queries() {
                super::index_queries($backend).await
            }
            #[tokio::test]
            async fn expired_items_are_absent() {
                super::expired_items_are_absent($backend).await
            }
            #[tokio::test]
            async fn bad_cursors_are_refused() {
                super::bad_cursors_are_refused($backend).await
            }
            #[tokio::test]
            async fn items_round_trip() {
                super::items_round_trip($backend).await
            }
            #[tokio::test]
            async fn empty_and_unpaired_keys_are_refused() {
                super::empty_and_unpaired_keys_are_refused($backend).await
            }
            #[tokio::test]
            async fn patches_set_fields_and_bump_the_version() {
                super::patches_set_fields_and_bump_the_version($backend).await
            }
            #[tokio::test]
            async fn get_many_reads_in_key_order() {
                super::get_many_reads_in_key_order($backend).await
            }
            #[tokio::test]
            async fn counters_stay_within_their_cap() {
                super::counters_stay_within_their_cap($backend).await
            }
            #[tokio::test]
            async fn oversized_transactions_are_refused() {
                super::oversized_transactions_are_refused($backend).await
            }
        }
    };
}

contract!(embedded_sqlite, Backend::Sqlite);
contract!(dynamodb_local, Backend::Dynamo);
