//! AUTOMATIC1111/Forge's `parameters` text:
//!
//! ```text
//! the prompt, possibly over several lines
//! Negative prompt: the negative prompt, possibly over several lines
//! Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234, Size: 512x512, ...
//! ```
//!
//! The last line holds `Key: value` pairs separated by commas; a value holding commas is quoted
//! JSON-style. The last line counts as that line only when at least three pairs parse, as in
//! the web UI's own reader, so a prompt line with a colon is not mistaken for it.
//!
//! Civitai's downloads add unquoted JSON values (`Civitai resources: [{"type":"checkpoint", ...}]`,
//! `Civitai metadata: {...}`): a value opening with `[` or `{` runs to its matching bracket, commas
//! inside included. Any value (quoted or not) that is a JSON array or object is kept as that JSON
//! (AUTOMATIC1111's own `Hashes: "{...}"` too).

use serde_json::{Value, json};

use super::fields::{number_text, whole_number_text};
use super::{ImportedParams, ParamSource, model_name_of_checkpoint, settings_key};

const NEGATIVE_PREFIX: &str = "Negative prompt:";

/// Parses a `parameters` text. Never fails: what does not parse stays in the prompt or becomes
/// a note.
pub fn parse(text: &str) -> ImportedParams {
    let mut imported = ImportedParams::new(ParamSource::Automatic1111);
    let mut lines: Vec<&str> = text.trim().lines().collect();
    let pairs = match lines.last().map(|last| key_value_pairs(last)) {
        Some(pairs) if pairs.len() >= 3 => {
            lines.pop();
            pairs
        }
        _ => Vec::new(),
    };
    let mut prompt = Vec::new();
    let mut negative: Option<Vec<&str>> = None;
    for line in lines {
        let line = line.trim();
        match (&mut negative, line.strip_prefix(NEGATIVE_PREFIX)) {
            (None, Some(rest)) => negative = Some(vec![rest.trim()]),
            (Some(negative), _) => negative.push(line),
            (None, None) => prompt.push(line),
        }
    }
    let prompt = prompt.join("\n");
    if !prompt.is_empty() {
        imported.prompt = Some(prompt);
    }
    let negative = negative.map(|lines| lines.join("\n")).filter(|n| !n.is_empty());
    if pairs.is_empty() {
        imported.notes.push("no `Steps: …, Sampler: …` line: only the prompt was imported".into());
    }
    let settings = &mut imported.settings;
    let mut extras = Vec::new();
    for (label, value) in pairs {
        match label.as_str() {
            "Steps" => typed(&mut imported.notes, settings, "steps", &label, &value, whole_number_text),
            "Seed" => typed(&mut imported.notes, settings, "seed", &label, &value, whole_number_text),
            "CFG scale" => typed(&mut imported.notes, settings, "cfg_scale", &label, &value, number_text),
            "Sampler" => {
                settings.insert("sampler".into(), json!(value));
            }
            "Schedule type" => {
                settings.insert("scheduler".into(), json!(value));
            }
            "Model" => imported.model_name = Some(model_name_of_checkpoint(&value)),
            "Model hash" => {
                imported.model_version = Some(value.clone());
                extras.push(("model_hash".to_string(), json!(value)));
            }
            _ => extras.push((settings_key(&label), json_or_text(&value))),
        }
    }
    if imported.model_version.is_some() {
        imported.notes.push("model version taken from the model hash".into());
    }
    if let Some(negative) = negative {
        imported.settings.insert("negative_prompt".into(), json!(negative));
    }
    for (key, value) in extras {
        if imported.settings.contains_key(&key) {
            imported.notes.push(format!("{key:?} appears twice; the first is kept"));
        } else {
            imported.settings.insert(key, value);
        }
    }
    imported
}

/// A value that is a JSON array or object as that JSON, anything else as text.
fn json_or_text(value: &str) -> Value {
    if value.trim_start().starts_with(['[', '{'])
        && let Ok(parsed @ (Value::Array(_) | Value::Object(_))) = serde_json::from_str::<Value>(value)
    {
        return parsed;
    }
    json!(value)
}

fn typed(
    notes: &mut Vec<String>,
    settings: &mut serde_json::Map<String, Value>,
    key: &str,
    label: &str,
    value: &str,
    parse: fn(&str) -> Option<Value>,
) {
    match parse(value) {
        Some(parsed) => {
            settings.insert(key.into(), parsed);
        }
        None => notes.push(format!("{label}: {value:?} is not a valid {key}; left out")),
    }
}

/// The most `Key: value` pairs read from a line: the web UI writes a few dozen; a line of
/// millions would take far more memory than its text as pairs, settings and notes.
const MAX_PAIRS: usize = 1000;

/// The `Key: value` pairs of a line, in order (the first [`MAX_PAIRS`]); segments that are not a
/// pair are skipped.
fn key_value_pairs(line: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() && pairs.len() < MAX_PAIRS {
        let (pair, after) = next_pair(rest);
        if let Some(pair) = pair {
            pairs.push(pair);
        }
        rest = after.trim_start();
    }
    pairs
}

/// Reads one `Key: value` segment from the start of `text`, returning it (when it is one) and
/// the text after its separating comma.
fn next_pair(text: &str) -> (Option<(String, String)>, &str) {
    // A comma before any colon ends a segment that is no pair: skip it without looking for a
    // colon past it (which would make a line of many commas quadratic).
    match text.find([':', ',']) {
        None => return (None, ""),
        Some(at) if text.as_bytes().get(at) == Some(&b',') => return (None, text.get(at + 1..).unwrap_or("")),
        Some(_) => {}
    }
    let Some((label, after_colon)) = text.split_once(':') else {
        return (None, "");
    };
    let label_ok = label.chars().next().is_some_and(|c| c.is_alphanumeric() || c == '_')
        && label.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | ' ' | '-' | '/'))
        && !label.contains(',');
    if !label_ok {
        return (None, text.split_once(',').map_or("", |(_, after)| after));
    }
    let value_text = after_colon.trim_start();
    if value_text.starts_with('"')
        && let Some(end) = closing_quote(value_text)
    {
        let quoted = value_text.get(..=end).unwrap_or(value_text);
        let value = serde_json::from_str::<String>(quoted).unwrap_or_else(|_| quoted.trim_matches('"').to_string());
        let after = value_text.get(end + 1..).unwrap_or("");
        let after = after.trim_start().strip_prefix(',').unwrap_or(after);
        return (Some((label.trim().to_string(), value)), after);
    }
    if value_text.starts_with(['[', '{'])
        && let Some(end) = closing_bracket(value_text)
    {
        let value = value_text.get(..=end).unwrap_or(value_text);
        let after = value_text.get(end + 1..).unwrap_or("");
        // Only when the bracket closes the value: `[a], b` yes, `[a] b, c` no.
        if let Some(after) = after.trim_start().strip_prefix(',').or(after.trim().is_empty().then_some("")) {
            return (Some((label.trim().to_string(), value.to_string())), after);
        }
    }
    let (value, after) = value_text.split_once(',').unwrap_or((value_text, ""));
    (Some((label.trim().to_string(), value.trim().to_string())), after)
}

/// Byte index of the bracket closing the `[` or `{` that opens `text`, skipping brackets inside
/// JSON strings. `None` when it never closes (or nests deeper than anything sound would).
fn closing_bracket(text: &str) -> Option<usize> {
    const MAX_DEPTH: usize = 128;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return None;
                }
            }
            ']' | '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(index);
                }
            }
            _ => {}
        }
    }
    None
}

/// Byte index of the quote closing the string that opens `text`, skipping escaped quotes.
fn closing_quote(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (index, c) in text.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(index),
            _ => escaped = false,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A parameters text as the web UI writes it, with a negative prompt and many keys.
    const FULL: &str = "masterpiece, best quality, (a red fox:1.2), sitting in snow,\n\
        looking at viewer, <lora:detail:0.8>\n\
        Negative prompt: lowres, bad anatomy, text,\nwatermark\n\
        Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 3551078465, \
        Size: 832x1216, Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Denoising strength: 0.35, \
        Clip skip: 2, Hires upscale: 1.5, Hires upscaler: 4x-UltraSharp, \
        Lora hashes: \"detail: 3a2b1c0d9e8f, other: 0f1e2d3c\", Version: v1.10.1";

    #[test]
    fn full_parameters_map_onto_the_manifest() {
        let imported = parse(FULL);
        assert_eq!(
            imported.prompt.as_deref(),
            Some("masterpiece, best quality, (a red fox:1.2), sitting in snow,\nlooking at viewer, <lora:detail:0.8>")
        );
        assert_eq!(imported.model_name.as_deref(), Some("sd_xl_base_1.0"));
        assert_eq!(imported.model_version.as_deref(), Some("31e35c80fc"));
        let s = &imported.settings;
        assert_eq!(s["steps"], json!(30));
        assert_eq!(s["sampler"], json!("DPM++ 2M"));
        assert_eq!(s["scheduler"], json!("Karras"));
        assert_eq!(s["cfg_scale"], json!(6.5));
        assert_eq!(s["seed"], json!(3551078465u64));
        assert_eq!(s["negative_prompt"], json!("lowres, bad anatomy, text,\nwatermark"));
        assert_eq!(s["size"], json!("832x1216"));
        assert_eq!(s["model_hash"], json!("31e35c80fc"));
        assert_eq!(s["denoising_strength"], json!("0.35"));
        assert_eq!(s["clip_skip"], json!("2"));
        assert_eq!(s["hires_upscaler"], json!("4x-UltraSharp"));
        assert_eq!(s["lora_hashes"], json!("detail: 3a2b1c0d9e8f, other: 0f1e2d3c"));
        assert_eq!(s["version"], json!("v1.10.1"));
        let keys: Vec<&str> = s.keys().map(String::as_str).collect();
        assert_eq!(&keys[..6], ["steps", "sampler", "scheduler", "cfg_scale", "seed", "negative_prompt"]);
        assert_eq!(s.len(), 14, "every key but Model (the model name) kept: {keys:?}");
    }

    #[test]
    fn odd_parameter_texts() {
        struct Case {
            text: &'static str,
            prompt: Option<&'static str>,
            negative: Option<&'static str>,
            seed: Option<Value>,
            notes: usize,
        }
        let cases = [
            // No negative prompt.
            Case {
                text: "a cat, sitting\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5",
                prompt: Some("a cat, sitting"),
                negative: None,
                seed: Some(json!(5)),
                notes: 0,
            },
            // Prompt over several lines, with colons and commas, and an empty negative prompt.
            Case {
                text: "style: watercolor, soft\nsubject: a boat, at dawn\nNegative prompt: \nSteps: 8, Sampler: LCM, CFG scale: 1, Seed: 0",
                prompt: Some("style: watercolor, soft\nsubject: a boat, at dawn"),
                negative: None,
                seed: Some(json!(0)),
                notes: 0,
            },
            // A last line with only two pairs is prompt, not parameters.
            Case {
                text: "a dog\ncolor: brown, size: big",
                prompt: Some("a dog\ncolor: brown, size: big"),
                negative: None,
                seed: None,
                notes: 1,
            },
            // Negative prompt only, no prompt.
            Case {
                text: "Negative prompt: blurry\nSteps: 4, Sampler: Euler, Seed: 9",
                prompt: None,
                negative: Some("blurry"),
                seed: Some(json!(9)),
                notes: 0,
            },
            // A seed that is not a whole number is left out, with a note.
            Case {
                text: "x\nSteps: 4, Sampler: Euler, Seed: -1",
                prompt: Some("x"),
                negative: None,
                seed: None,
                notes: 1,
            },
            // Windows line endings.
            Case {
                text: "a\r\nNegative prompt: b\r\nSteps: 1, Sampler: s, Seed: 2\r\n",
                prompt: Some("a"),
                negative: Some("b"),
                seed: Some(json!(2)),
                notes: 0,
            },
        ];
        for case in cases {
            let imported = parse(case.text);
            assert_eq!(imported.prompt.as_deref(), case.prompt, "{:?}", case.text);
            assert_eq!(
                imported.settings.get("negative_prompt").and_then(Value::as_str),
                case.negative,
                "{:?}",
                case.text
            );
            assert_eq!(imported.settings.get("seed").cloned(), case.seed, "{:?}", case.text);
            assert_eq!(imported.notes.len(), case.notes, "{:?}: {:?}", case.text, imported.notes);
        }
    }

    #[test]
    fn civitai_json_values_are_kept_as_json() {
        let text = "a castle, <lora:detail:0.6>\nNegative prompt: fog\n\
            Steps: 25, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 42, Size: 512x768, \
            Civitai resources: [{\"type\":\"checkpoint\",\"modelVersionId\":128713,\"modelName\":\"Dream, Shaper\"},\
            {\"type\":\"lora\",\"weight\":0.6,\"modelVersionId\":62833,\"modelName\":\"Detail [x]\"}], \
            Civitai metadata: {\"remixOfId\":1}, Hashes: {\"model\": \"879db523c3\"}, Odd: [not json], Version: v1.10.1";
        let imported = parse(text);
        let s = &imported.settings;
        assert_eq!(s["seed"], json!(42));
        assert_eq!(s["civitai_resources"][0]["modelName"], json!("Dream, Shaper"));
        assert_eq!(s["civitai_resources"][1]["weight"], json!(0.6));
        assert_eq!(s["civitai_metadata"], json!({"remixOfId": 1}));
        assert_eq!(s["hashes"], json!({"model": "879db523c3"}));
        assert_eq!(s["odd"], json!("[not json]"));
        assert_eq!(s["version"], json!("v1.10.1"));
        assert!(imported.notes.is_empty(), "{:?}", imported.notes);
        // A bracket that does not close the value, or never closes, splits at the comma as before.
        let pairs = key_value_pairs("A: [x] y, B: [unclosed, C: {\"a\": \"]\"}");
        assert_eq!(
            pairs,
            vec![
                ("A".to_string(), "[x] y".to_string()),
                ("B".to_string(), "[unclosed".to_string()),
                ("C".to_string(), "{\"a\": \"]\"}".to_string()),
            ]
        );
        // Nested past the depth limit, even when balanced, is not taken for a value.
        assert_eq!(closing_bracket(&format!("{}{}", "[".repeat(200), "]".repeat(200))), None);
        assert_eq!(closing_bracket(&format!("{}{}", "[".repeat(100), "]".repeat(100))), Some(199));
    }

    #[test]
    fn hostile_lines_are_read_in_linear_time_and_bounded_memory() {
        // A comma before every colon made each segment scan to the line's end (quadratic: hours
        // at this size).
        let commas = format!("a cat\nSteps: 5, Sampler: Euler, {} Seed: 7", ",".repeat(2_000_000));
        let imported = parse(&commas);
        assert_eq!((imported.settings.get("steps"), imported.settings.get("seed")), (Some(&json!(5)), Some(&json!(7))));
        // Millions of pairs: only the first MAX_PAIRS are read.
        let many: String = (0..MAX_PAIRS * 3).map(|i| format!("K{i}: {i}, ")).collect();
        assert_eq!(key_value_pairs(&many).len(), MAX_PAIRS);
    }

    #[test]
    fn quoted_values_keep_commas_colons_and_escapes() {
        let pairs = key_value_pairs(r#"A: "x, y: z", B: "say \"hi\"", C: plain, D:"""#);
        assert_eq!(
            pairs,
            vec![
                ("A".to_string(), "x, y: z".to_string()),
                ("B".to_string(), "say \"hi\"".to_string()),
                ("C".to_string(), "plain".to_string()),
                ("D".to_string(), "".to_string()),
            ]
        );
        // Segments that are not pairs are skipped, not fatal.
        let pairs = key_value_pairs("(weird:1.2), Steps: 3, junk, Seed: 4");
        assert_eq!(pairs, vec![("Steps".to_string(), "3".to_string()), ("Seed".to_string(), "4".to_string())]);
    }
}
