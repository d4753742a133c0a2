//! The ENVC snapshot: components with canonical strings and their sha256 digests.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// One component, e.g. `torch` with `name=torch;version=2.5.1;cuda=None`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EnvComponent {
    pub component_id: String,
    /// Spelled `cononical_str` in every file.
    #[serde(rename = "cononical_str")]
    pub canonical: String,
    /// Lower-case hex sha256 of `canonical`, as stored.
    #[serde(rename = "component_sha256_digest")]
    pub digest: String,
}

impl EnvComponent {
    /// A component with the digest the reference computes.
    pub fn new(component_id: impl Into<String>, canonical: impl Into<String>) -> EnvComponent {
        let canonical = canonical.into();
        let digest = sha256_hex(canonical.as_bytes());
        EnvComponent { component_id: component_id.into(), canonical, digest }
    }

    pub fn digest_ok(&self) -> bool {
        self.digest.eq_ignore_ascii_case(&sha256_hex(self.canonical.as_bytes()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Environment {
    pub env_version: u64,
    pub components: Vec<EnvComponent>,
}

impl Default for Environment {
    fn default() -> Environment {
        Environment::new(Vec::new())
    }
}

/// Why an `ENVC` chunk's text is not an environment snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvironmentError {
    #[error("ENVC is not JSON: {0}")]
    NotJson(String),
    #[error("ENVC JSON has an unexpected shape: {0}")]
    UnexpectedShape(String),
}

impl Environment {
    pub fn new(components: Vec<EnvComponent>) -> Environment {
        Environment { env_version: 1, components }
    }

    pub fn from_json_bytes(bytes: &[u8]) -> Result<Environment, EnvironmentError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| EnvironmentError::NotJson(e.to_string()))?;
        Environment::from_json(&value)
    }

    pub fn from_json(value: &Value) -> Result<Environment, EnvironmentError> {
        serde_json::from_value(value.clone()).map_err(|e| EnvironmentError::UnexpectedShape(e.to_string()))
    }

    /// The JSON text the reference writes (indent 2, keys in its order).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut root = Map::new();
        root.insert("env_version".into(), Value::from(self.env_version));
        let components = self
            .components
            .iter()
            .map(|c| {
                let mut m = Map::new();
                m.insert("component_id".into(), Value::from(c.component_id.clone()));
                m.insert("cononical_str".into(), Value::from(c.canonical.clone()));
                m.insert("component_sha256_digest".into(), Value::from(c.digest.clone()));
                Value::Object(m)
            })
            .collect();
        root.insert("components".into(), Value::Array(components));
        python_json_pretty(&Value::Object(root)).into_bytes()
    }
}

/// How a component of a file relates to the same component on another environment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    Same,
    Differs,
    OnlyInFile,
    OnlyHere,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ComponentComparison {
    pub component_id: String,
    pub file: Option<String>,
    pub other: Option<String>,
    pub status: ComponentStatus,
}

/// Pairs components by id (the n-th `gpu` of one side with the n-th of the other) and says how
/// each pair differs, in the file's order followed by components only the other side has.
pub fn compare(file: &[EnvComponent], other: &[EnvComponent]) -> Vec<ComponentComparison> {
    let mut used = vec![false; other.len()];
    let mut rows = Vec::new();
    for component in file {
        let partner = other
            .iter()
            .enumerate()
            .find(|(i, o)| !used.get(*i).copied().unwrap_or(true) && o.component_id == component.component_id);
        let (status, other_canonical) = match partner {
            Some((i, o)) => {
                if let Some(slot) = used.get_mut(i) {
                    *slot = true;
                }
                let status =
                    if o.canonical == component.canonical { ComponentStatus::Same } else { ComponentStatus::Differs };
                (status, Some(o.canonical.clone()))
            }
            None => (ComponentStatus::OnlyInFile, None),
        };
        rows.push(ComponentComparison {
            component_id: component.component_id.clone(),
            file: Some(component.canonical.clone()),
            other: other_canonical,
            status,
        });
    }
    for (o, _) in other.iter().zip(&used).filter(|(_, used)| !**used) {
        rows.push(ComponentComparison {
            component_id: o.component_id.clone(),
            file: None,
            other: Some(o.canonical.clone()),
            status: ComponentStatus::OnlyHere,
        });
    }
    rows
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Serialises JSON the way Python's `json.dumps(value, indent=2)` does: two-space indent,
/// `", "`-free line ends, `": "` after keys, and non-ASCII characters escaped as `\uXXXX`.
pub fn python_json_pretty(value: &Value) -> String {
    let mut out = String::new();
    write_python_json(value, 0, &mut out);
    out
}

fn write_python_json(value: &Value, depth: usize, out: &mut String) {
    let indent = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n("  ", depth));
    };
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                write_python_json(item, depth + 1, out);
            }
            indent(out, depth);
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                write_python_string(key, out);
                out.push_str(": ");
                write_python_json(item, depth + 1, out);
            }
            indent(out, depth);
            out.push('}');
        }
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
        Value::String(s) => write_python_string(s, out),
        Value::Number(n) => match n.as_f64() {
            // Python prints integral floats with a trailing `.0`; serde_json keeps that already
            // for numbers parsed or built as floats.
            Some(f) if n.is_f64() && f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 => {
                out.push_str(&format!("{f:.1}"))
            }
            _ => out.push_str(&n.to_string()),
        },
        other => out.push_str(&other.to_string()),
    }
}

fn write_python_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha256_of_canonical_string() {
        let component = EnvComponent::new("numpy", "name=numpy;version=2.1.0");
        assert_eq!(component.digest, format!("{:x}", Sha256::digest(b"name=numpy;version=2.1.0")));
        assert!(component.digest_ok());
        let tampered = EnvComponent { canonical: "name=numpy;version=2.1.1".into(), ..component };
        assert!(!tampered.digest_ok());
    }

    #[test]
    fn python_style_json_matches_json_dumps_indent_2() {
        let value = serde_json::json!({"a": [1, 2.0, "é\n"], "b": {}, "c": [], "d": {"x": null, "y": true}});
        let expected = "{\n  \"a\": [\n    1,\n    2.0,\n    \"\\u00e9\\n\"\n  ],\n  \"b\": {},\n  \"c\": [],\n  \"d\": {\n    \"x\": null,\n    \"y\": true\n  }\n}";
        assert_eq!(python_json_pretty(&value), expected);
    }

    #[test]
    fn comparison_pairs_repeated_gpu_components_in_order() {
        let file = vec![
            EnvComponent::new("torch", "name=torch;version=2.5.1;cuda=12.4"),
            EnvComponent::new("gpu", "name=gpu;model=A;driver=1"),
            EnvComponent::new("gpu", "name=gpu;model=B;driver=1"),
        ];
        let here = vec![
            EnvComponent::new("gpu", "name=gpu;model=A;driver=1"),
            EnvComponent::new("torch", "name=torch;version=2.1.0;cuda=12.4"),
            EnvComponent::new("os", "name=os;version=Linux 6.1"),
        ];
        let rows = compare(&file, &here);
        let statuses: Vec<_> = rows.iter().map(|r| (r.component_id.as_str(), r.status.clone())).collect();
        assert_eq!(
            statuses,
            vec![
                ("torch", ComponentStatus::Differs),
                ("gpu", ComponentStatus::Same),
                ("gpu", ComponentStatus::OnlyInFile),
                ("os", ComponentStatus::OnlyHere),
            ]
        );
    }
}
