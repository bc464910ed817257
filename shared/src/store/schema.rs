//! The table's definition, stated once. `infra/template.yaml` must agree with
//! it (checked by `tests/tests/infra.rs`), and the test harness creates
//! DynamoDB Local tables from it.

/// A key attribute: (name, DynamoDB scalar type).
pub type KeyAttr = (&'static str, &'static str);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    pub name: &'static str,
    pub hash: KeyAttr,
    pub range: KeyAttr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub hash: KeyAttr,
    pub range: KeyAttr,
    /// Global secondary indexes, all projecting every attribute.
    pub gsis: &'static [IndexDef],
    pub ttl_attribute: &'static str,
}

pub const TABLE: TableDef = TableDef {
    hash: ("pk", "S"),
    range: ("sk", "S"),
    gsis: &[
        IndexDef {
            name: "gsi1",
            hash: ("gsi1pk", "S"),
            range: ("gsi1sk", "S"),
        },
        IndexDef {
            name: "gsi2",
            hash: ("gsi2pk", "S"),
            range: ("gsi2sk", "S"),
        },
    ],
    ttl_attribute: "ttl",
};
