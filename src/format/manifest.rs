//! The manifest (META chunk): schema validation and the typed view of its chunk records.

use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::header::Format;

const SCHEMA_TEXT: &str = include_str!("../../assets/manifest.schema.json");

/// One schema problem, at the JSON pointer of the offending field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SchemaProblem {
    pub pointer: String,
    pub message: String,
}

static RAIIAF_SCHEMA: LazyLock<Result<jsonschema::Validator, String>> =
    LazyLock::new(|| compile_schema(Format::Raiiaf));
static GEN5_SCHEMA: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| compile_schema(Format::Gen5));

/// The shipped schema, adapted to a format (gen5 differs only in its root key and magic).
fn schema_for(format: Format) -> Result<Value, String> {
    let mut schema: Value =
        serde_json::from_str(SCHEMA_TEXT).map_err(|e| format!("shipped schema is not JSON: {e}"))?;
    if format == Format::Gen5 {
        let rename = |v: &mut Value| -> Option<()> {
            let props = v.get_mut("properties")?.as_object_mut()?;
            let body = props.shift_remove("raiiaf_metadata")?;
            props.insert("gen5_metadata".into(), body);
            *v.get_mut("required")? = Value::from(vec!["gen5_metadata"]);
            let file_info = "/properties/gen5_metadata/properties/file_info/properties";
            *v.pointer_mut(&format!("{file_info}/magic/const"))? = Value::from("GEN5");
            // gen5 writers may record version 0.x.
            *v.pointer_mut(&format!("{file_info}/version_major/minimum"))? = Value::from(0);
            Some(())
        };
        rename(&mut schema).ok_or("shipped schema lacks raiiaf_metadata")?;
    }
    Ok(schema)
}

fn compile_schema(format: Format) -> Result<jsonschema::Validator, String> {
    let schema = schema_for(format)?;
    jsonschema::draft7::new(&schema).map_err(|e| format!("shipped schema does not compile: {e}"))
}

/// Validates a whole manifest document against the schema; an empty list means valid.
pub fn validate(format: Format, manifest: &Value) -> Vec<SchemaProblem> {
    let validator = match format {
        Format::Raiiaf => &*RAIIAF_SCHEMA,
        Format::Gen5 => &*GEN5_SCHEMA,
    };
    match validator {
        Ok(validator) => validator
            .iter_errors(manifest)
            .map(|error| SchemaProblem {
                pointer: error.instance_path().as_str().to_string(),
                message: error.to_string(),
            })
            .collect(),
        Err(problem) => vec![SchemaProblem { pointer: String::new(), message: problem.clone() }],
    }
}

/// The typed fields of one record of the manifest's `chunks` list. Fields the file lacks or
/// mistypes are `None`; the reader turns those into failed checks.
/// The record key this program adds to compressed chunks' records (the reference ignores it).
pub const STORED_HASH_KEY: &str = "stored_sha256";

/// Why an entry of the manifest's chunk list is not a chunk record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record is not an object")]
    NotAnObject,
    #[error("`compressed` is {value}, not a boolean")]
    CompressedNotBoolean { value: String },
    #[error("`extra.shape` holds something other than non-negative integers")]
    ShapeNotIntegers,
    #[error("`extra.shape` is not a list")]
    ShapeNotList,
    #[error("record has no `type` string")]
    NoType,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChunkRecord {
    /// Position in the `chunks` list.
    pub position: usize,
    pub index: Option<u64>,
    pub kind: String,
    pub flags: String,
    pub offset: Option<u64>,
    pub compressed_size: Option<u64>,
    pub uncompressed_size: Option<u64>,
    pub hash: Option<String>,
    /// sha256 of the chunk's bytes as stored (this program writes it for compressed chunks).
    pub stored_sha256: Option<String>,
    /// The reference treats a missing `compressed` as true.
    pub compressed: bool,
    pub len_header: Option<u64>,
    pub len_data: Option<u64>,
    pub shape: Option<Vec<u64>>,
    pub dtype: Option<String>,
    pub key: Option<String>,
    pub extra: Map<String, Value>,
}

impl ChunkRecord {
    pub fn from_json(position: usize, value: &Value) -> Result<ChunkRecord, RecordError> {
        let object = value.as_object().ok_or(RecordError::NotAnObject)?;
        let uint = |name: &str| object.get(name).and_then(Value::as_u64);
        let text = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_string);
        let extra = object.get("extra").and_then(Value::as_object).cloned().unwrap_or_default();
        let compressed = match object.get("compressed") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(RecordError::CompressedNotBoolean { value: other.to_string() }),
        };
        let shape = match extra.get("shape") {
            None => None,
            Some(Value::Array(dims)) => Some(
                dims.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>().ok_or(RecordError::ShapeNotIntegers)?,
            ),
            Some(_) => return Err(RecordError::ShapeNotList),
        };
        Ok(ChunkRecord {
            position,
            index: uint("index"),
            kind: text("type").ok_or(RecordError::NoType)?,
            flags: text("flags").unwrap_or_default(),
            offset: uint("offset"),
            compressed_size: uint("compressed_size"),
            uncompressed_size: uint("uncompressed_size"),
            hash: text("hash"),
            stored_sha256: text(STORED_HASH_KEY),
            compressed,
            len_header: uint("len_header"),
            len_data: uint("len_data"),
            dtype: extra.get("dtype").and_then(Value::as_str).map(str::to_string),
            key: extra.get("key").and_then(Value::as_str).map(str::to_string),
            shape,
            extra,
        })
    }

    /// Byte range of the chunk in the file, when the record states it.
    pub fn span(&self) -> Option<(u64, u64)> {
        let offset = self.offset?;
        Some((offset, offset.checked_add(self.compressed_size?)?))
    }
}

/// The body of a manifest (the object under its root key).
pub fn body(format: Format, manifest: &Value) -> Option<&Map<String, Value>> {
    manifest.get(format.manifest_root())?.as_object()
}

/// Reads a dotted path such as `model_info.generation_settings.seed` out of the body.
pub fn lookup<'a>(body: &'a Map<String, Value>, dotted: &str) -> Option<&'a Value> {
    let mut parts = dotted.split('.');
    let mut current = body.get(parts.next()?)?;
    for part in parts {
        current = current.get(part)?;
    }
    Some(current)
}
