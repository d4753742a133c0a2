//! The metadata of a pack as a person edits it: the packer's form (model, version, prompt, typed
//! generation settings, free extra settings, hardware info) with its parsing and schema checks,
//! free of any window, and the stored `model_info` read back into the writer's struct.

use serde_json::{Map, Value};

use crate::format::ModelInfo;
use crate::format::writer;
use crate::params::ImportedParams;

/// The metadata step's fields, as typed by the user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetadataForm {
    pub model_name: String,
    pub version: String,
    pub prompt: String,
    pub negative_prompt: String,
    /// Comma-separated.
    pub tags: String,
    pub seed: String,
    pub steps: String,
    pub sampler: String,
    pub cfg_scale: String,
    pub scheduler: String,
    pub eta: String,
    pub guidance: String,
    pub precision: String,
    pub deterministic: Option<bool>,
    pub extras: Vec<ExtraSetting>,
    /// `hardware_info` as JSON text.
    pub hardware: String,
    /// model_info keys this form has no field for (kept when re-packing).
    pub other_model_info: Map<String, Value>,
}

/// A generation setting without its own field: a string, or any JSON value.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraSetting {
    pub key: String,
    pub value: Value,
    /// The value as edited: the string itself, or JSON text.
    pub text: String,
}

impl ExtraSetting {
    pub fn new(key: String, value: Value) -> ExtraSetting {
        let text = value.as_str().map_or_else(|| value.to_string(), str::to_string);
        ExtraSetting { key, value, text }
    }
    /// Large JSON values (a ComfyUI graph) are kept whole and not edited in a text field.
    pub fn is_large(&self) -> bool {
        !self.value.is_string() && self.text.len() > 200
    }
    fn parsed(&self) -> Value {
        if self.value.is_string() {
            Value::from(self.text.clone())
        } else if self.is_large() {
            self.value.clone()
        } else {
            serde_json::from_str(&self.text).unwrap_or_else(|_| Value::from(self.text.clone()))
        }
    }
}

/// Keys of generation_settings that have their own field.
const TYPED_SETTINGS: [&str; 10] = [
    "seed",
    "steps",
    "sampler",
    "cfg_scale",
    "scheduler",
    "eta",
    "guidance",
    "precision",
    "deterministic",
    "negative_prompt",
];

impl MetadataForm {
    pub fn from_model_info(info: &ModelInfo) -> MetadataForm {
        let settings = info.generation_settings.clone().unwrap_or_default();
        let text = |key: &str| match settings.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        MetadataForm {
            model_name: info.model_name.clone(),
            version: info.version.clone(),
            prompt: info.prompt.clone(),
            negative_prompt: text("negative_prompt"),
            tags: info.tags.join(", "),
            seed: text("seed"),
            steps: text("steps"),
            sampler: text("sampler"),
            cfg_scale: text("cfg_scale"),
            scheduler: text("scheduler"),
            eta: text("eta"),
            guidance: text("guidance"),
            precision: text("precision"),
            deterministic: settings.get("deterministic").and_then(Value::as_bool),
            extras: settings
                .iter()
                .filter(|(key, _)| !TYPED_SETTINGS.contains(&key.as_str()))
                .map(|(key, value)| ExtraSetting::new(key.clone(), value.clone()))
                .collect(),
            hardware: info
                .hardware_info
                .as_ref()
                .and_then(|h| serde_json::to_string_pretty(h).ok())
                .unwrap_or_default(),
            other_model_info: info.extra.clone(),
        }
    }

    /// The model_info these fields make, and the problems of fields that do not parse, each
    /// with the field it belongs to.
    pub fn model_info(&self) -> (ModelInfo, Vec<(String, String)>) {
        let mut problems = Vec::new();
        let mut settings = Map::new();
        let mut typed = |key: &str, text: &str, kind: ValueKind| {
            let text = text.trim();
            if text.is_empty() {
                return;
            }
            match kind.parse(text) {
                Some(value) => {
                    settings.insert(key.to_string(), value);
                }
                None => problems.push((key.to_string(), format!("{text:?} is not {}", kind.describe()))),
            }
        };
        typed("seed", &self.seed, ValueKind::WholeNumber);
        typed("steps", &self.steps, ValueKind::WholeNumber);
        typed("sampler", &self.sampler, ValueKind::Text);
        typed("cfg_scale", &self.cfg_scale, ValueKind::Number);
        typed("scheduler", &self.scheduler, ValueKind::Text);
        typed("eta", &self.eta, ValueKind::Number);
        typed("guidance", &self.guidance, ValueKind::Text);
        typed("precision", &self.precision, ValueKind::Text);
        if let Some(deterministic) = self.deterministic {
            settings.insert("deterministic".into(), Value::from(deterministic));
        }
        if !self.negative_prompt.is_empty() {
            settings.insert("negative_prompt".into(), Value::from(self.negative_prompt.clone()));
        }
        for extra in &self.extras {
            let key = extra.key.trim();
            if key.is_empty() {
                problems.push(("extra".into(), "a setting has no name".into()));
            } else if settings.contains_key(key) {
                problems.push((format!("extra:{key}"), format!("{key:?} is set twice")));
            } else {
                settings.insert(key.to_string(), extra.parsed());
            }
        }
        let hardware_info = if self.hardware.trim().is_empty() {
            None
        } else {
            match serde_json::from_str::<Value>(&self.hardware) {
                Ok(Value::Object(map)) => Some(map),
                _ => {
                    problems.push(("hardware".into(), "hardware info must be a JSON object".into()));
                    None
                }
            }
        };
        let info = ModelInfo {
            model_name: self.model_name.trim().to_string(),
            version: self.version.trim().to_string(),
            date: writer::now_iso8601(),
            prompt: self.prompt.clone(),
            tags: self.tags.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect(),
            generation_settings: (!settings.is_empty()).then_some(settings),
            hardware_info,
            extra: self.other_model_info.clone(),
        };
        (info, problems)
    }

    /// Every problem, parse and schema alike, keyed by field (`seed`, `model_name`, `hardware`, ...).
    pub fn problems(&self) -> Vec<(String, String)> {
        let (info, mut problems) = self.model_info();
        problems.extend(model_info_problems(&info));
        problems.sort();
        problems.dedup();
        problems
    }

    /// Fills empty fields from imported parameters, and the required ones nothing filled with
    /// stand-ins (see `pack::fallback`), which show as filled fields the user can change; what
    /// the user typed stays. Returns a note for each stand-in.
    pub fn import(&mut self, imported: &ImportedParams) -> Vec<String> {
        let (mut info, _) = self.model_info();
        let hardware = self.hardware.clone();
        let typed_settings = info.generation_settings.is_some();
        imported.fill_missing(&mut info);
        let mut notes = crate::pack::fallback::fill_model(&mut info);
        // Settings the user typed stay in their fields, where a missing seed shows as a problem
        // to fix; only settings that came from the image alone are completed or kept aside.
        if !typed_settings {
            notes.extend(crate::pack::fallback::fill_settings(&mut info));
        }
        *self = MetadataForm::from_model_info(&info);
        self.hardware = hardware;
        notes
    }
}

#[derive(Clone, Copy)]
enum ValueKind {
    WholeNumber,
    Number,
    Text,
}

impl ValueKind {
    fn parse(self, text: &str) -> Option<Value> {
        match self {
            ValueKind::WholeNumber => text.parse::<u64>().ok().map(Value::from),
            ValueKind::Number => {
                let number = text.parse::<f64>().ok().filter(|x| x.is_finite())?;
                Some(text.parse::<u64>().map_or_else(|_| Value::from(number), Value::from))
            }
            ValueKind::Text => Some(Value::from(text)),
        }
    }
    fn describe(self) -> &'static str {
        match self {
            ValueKind::WholeNumber => "a whole number of 0 or more",
            ValueKind::Number => "a number",
            ValueKind::Text => "text",
        }
    }
}

/// What keeps `info` from being packed, keyed by the form's field (`model_name`, `seed`,
/// `hardware`, ...): the model name and version must not be blank, and the schema must hold. (An
/// empty prompt and no generation settings are allowed, as the schema allows them.) The packer and
/// `raiiaf pack` both refuse a request with any.
pub fn model_info_problems(info: &ModelInfo) -> Vec<(String, String)> {
    let mut problems: Vec<(String, String)> = [("model_name", &info.model_name), ("version", &info.version)]
        .iter()
        .filter(|(_, value)| value.trim().is_empty())
        .map(|(field, _)| (field.to_string(), "required".to_string()))
        .collect();
    for problem in writer::model_info_problems(info) {
        // A missing property is reported at its parent object; name the property instead.
        let missing =
            problem.message.strip_suffix(" is a required property").map(|name| name.trim_matches('"').to_string());
        let field = match (missing, problem.pointer.split('/').nth(3)) {
            (_, Some("hardware_info")) => "hardware".to_string(),
            (Some(name), _) => name,
            (None, _) => problem.pointer.rsplit('/').next().unwrap_or("").to_string(),
        };
        problems.push((field, problem.message));
    }
    problems
}

/// The manifest's `model_info` as the writer's struct (unknown keys kept in `extra`).
pub fn model_info_of_value(value: &Value) -> ModelInfo {
    let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
    let known = ["model_name", "version", "date", "prompt", "tags", "generation_settings", "hardware_info"];
    ModelInfo {
        model_name: text("model_name"),
        version: text("version"),
        date: text("date"),
        prompt: text("prompt"),
        tags: value
            .get("tags")
            .and_then(Value::as_array)
            .map(|tags| tags.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
        generation_settings: value.get("generation_settings").and_then(Value::as_object).cloned(),
        hardware_info: value.get("hardware_info").and_then(Value::as_object).cloned(),
        extra: value
            .as_object()
            .map(|map| {
                map.iter().filter(|(k, _)| !known.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
            })
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filled_form() -> MetadataForm {
        MetadataForm {
            model_name: "m".into(),
            version: "1".into(),
            prompt: "p".into(),
            seed: "42".into(),
            steps: "20".into(),
            sampler: "euler".into(),
            hardware: r#"{"os": "Linux"}"#.into(),
            ..MetadataForm::default()
        }
    }

    #[test]
    fn form_problems_are_reported_at_their_fields() {
        assert_eq!(filled_form().problems(), Vec::<(String, String)>::new());
        type Change = fn(&mut MetadataForm);
        let cases: [(Change, &str); 7] = [
            (|f| f.seed = "-1".into(), "seed"),
            (|f| f.steps = "0".into(), "steps"),
            (|f| f.cfg_scale = "high".into(), "cfg_scale"),
            (|f| f.model_name = " ".into(), "model_name"),
            (|f| f.hardware = "[1]".into(), "hardware"),
            (|f| f.hardware = r#"{"cpu": "x"}"#.into(), "hardware"),
            (|f| f.sampler = String::new(), "sampler"),
        ];
        for (change, field) in cases {
            let mut form = filled_form();
            change(&mut form);
            let problems = form.problems();
            assert!(problems.iter().any(|(f, _)| f == field), "{field}: {problems:?}");
        }
    }

    #[test]
    fn the_form_round_trips_model_info_and_imports_only_into_empty_fields() {
        let mut info = model_info_of_value(&json!({
            "model_name": "sdxl", "version": "1.0", "date": "d", "prompt": "a fox", "tags": ["a", "b"],
            "generation_settings": {"seed": 7, "steps": 30, "sampler": "euler", "cfg_scale": 6.5,
                                     "negative_prompt": "blur", "denoise": 0.5, "graph": {"1": {"class_type": "X"}}},
            "hardware_info": {"os": "Linux"},
            "lora": [{"name": "detail", "weight": 0.8}]
        }));
        let form = MetadataForm::from_model_info(&info);
        let (back, problems) = form.model_info();
        assert!(problems.is_empty(), "{problems:?}");
        info.date = back.date.clone();
        assert_eq!(back, info);
        let mut form = MetadataForm { model_name: "mine".into(), ..MetadataForm::default() };
        let imported = crate::params::a1111::parse("a cat\nSteps: 5, Sampler: Euler, Seed: 3, Model: other");
        let notes = form.import(&imported);
        assert_eq!(form.model_name, "mine");
        assert_eq!(form.prompt, "a cat");
        assert_eq!((form.seed.as_str(), form.steps.as_str(), form.sampler.as_str()), ("3", "5", "Euler"));
        // No hash recorded: the version is the name, a filled field the user can change.
        assert_eq!(form.version, "mine");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(form.problems().is_empty(), "{:?}", form.problems());
    }

    #[test]
    fn settings_the_user_typed_stay_in_their_fields_when_an_import_lacks_a_seed() {
        // The user typed a sampler; the image records a prompt and a model, no seed or steps.
        let mut form = MetadataForm { sampler: "dpmpp_2m".into(), cfg_scale: "7".into(), ..MetadataForm::default() };
        let imported = crate::params::a1111::parse("a heron\nModel: juggernaut");
        form.import(&imported);
        assert_eq!((form.sampler.as_str(), form.cfg_scale.as_str()), ("dpmpp_2m", "7"), "still in their fields");
        assert!(form.other_model_info.is_empty(), "nothing moved aside: {:?}", form.other_model_info);
        // The missing seed and steps are the user's to give, so the form says so.
        let problems: Vec<String> = form.problems().into_iter().map(|(field, _)| field).collect();
        assert!(problems.iter().any(|field| field == "seed"), "{problems:?}");
        // Settings that came from the image alone are kept aside, as `raiiaf pack` keeps them.
        let mut untouched = MetadataForm::default();
        let swarm = json!({"sui_image_params": {"prompt": "a heron", "model": "juggernaut", "cfgscale": 5}});
        let only_cfg = crate::params::swarmui::parse(swarm.as_object().unwrap()).unwrap();
        assert!(!only_cfg.settings.is_empty() && !only_cfg.settings.contains_key("seed"), "{:?}", only_cfg.settings);
        untouched.import(&only_cfg);
        assert!(untouched.other_model_info.contains_key(crate::pack::fallback::RECORDED_SETTINGS));
        assert!(untouched.problems().is_empty(), "{:?}", untouched.problems());
    }
}
