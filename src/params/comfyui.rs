//! ComfyUI's `prompt` text: the executed graph in its API form, an object of nodes by id, each
//! `{"class_type": ..., "inputs": {...}}`, where an input is a literal or a link `[node_id, output]`.
//!
//! The sampler node gives seed, steps, cfg, sampler_name, scheduler and denoise; its `positive`
//! and `negative` links lead (through conditioning nodes) to text encoders; its `model` link leads
//! (through LoRA and patch nodes) to the checkpoint loader. The graph and the UI `workflow` are
//! kept whole in the settings so nothing is lost.
//!
//! An image with only the UI `workflow` (no `prompt`: some tools and re-savers keep only that) is
//! read by [`parse_workflow`]: the LiteGraph document's `nodes`, each with its `widgets_values`
//! (the widgets in the order the node shows them) and `inputs` (`{"name", "link"}`), and `links`
//! (`[id, origin node, origin slot, target node, target slot, type]`, or objects with those names).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::{ImportedParams, ParamSource, ParamsError, model_name_of_checkpoint};

/// How many links are followed from the sampler before giving up (graphs can be cyclic when
/// damaged, and are never this deep when sound).
const MAX_LINK_DEPTH: usize = 16;

/// Links followed in one parse at most: a hostile graph whose nodes link to each other many ways
/// cannot make the walk take exponential time.
const MAX_LINKS_FOLLOWED: u32 = 10_000;

type Graph = Map<String, Value>;

/// The graph, and how many more links may be followed.
struct Walk<'a> {
    graph: &'a Graph,
    budget: std::cell::Cell<u32>,
}

impl<'a> Walk<'a> {
    /// The inputs of the node `link` points at, when the depth and the budget allow.
    fn follow(&self, link: &Value, depth: usize) -> Option<(String, &'a Map<String, Value>)> {
        let target = link_target(link)?;
        let left = self.budget.get();
        if depth >= MAX_LINK_DEPTH || left == 0 {
            return None;
        }
        self.budget.set(left - 1);
        let inputs = node_inputs(self.graph, &target)?;
        Some((target, inputs))
    }
}

/// Parses a `prompt` graph, with the `workflow` text when the image has one.
pub fn parse(prompt: &str, workflow: Option<&str>) -> Result<ImportedParams, ParamsError> {
    let graph: Value = serde_json::from_str(prompt)
        .map_err(|e| ParamsError::NotJson { record: "ComfyUI prompt", detail: e.to_string() })?;
    let graph = graph
        .as_object()
        .ok_or(ParamsError::Unexpected { record: "ComfyUI prompt", expected: "an object of nodes" })?;
    let walk = Walk { graph, budget: std::cell::Cell::new(MAX_LINKS_FOLLOWED) };
    let mut imported = ImportedParams::new(ParamSource::ComfyUi);
    let samplers = sampler_nodes(graph);
    let Some(sampler_id) = choose_sampler(&walk, &samplers, &mut imported.notes) else {
        imported.notes.push("the graph has no sampler node; only the graph was kept".into());
        keep_graphs(&mut imported, graph, workflow);
        return Ok(imported);
    };
    let no_inputs = Map::new();
    let inputs = node_inputs(graph, &sampler_id).unwrap_or(&no_inputs);
    let settings = &mut imported.settings;
    let literal =
        |names: &[&str]| names.iter().find_map(|name| resolve(&walk, inputs.get(*name)?, &[name], 0)).cloned();
    let seed = literal(&["seed", "noise_seed"]);
    match seed.as_ref().and_then(Value::as_u64) {
        Some(seed) => {
            settings.insert("seed".into(), json!(seed));
        }
        None => imported.notes.push(format!("sampler node {sampler_id} has no whole-number seed ({seed:?})")),
    }
    match literal(&["steps"]).as_ref().and_then(Value::as_u64) {
        Some(steps) => {
            settings.insert("steps".into(), json!(steps));
        }
        None => imported.notes.push(format!("sampler node {sampler_id} has no whole-number steps")),
    }
    if let Some(sampler) = literal(&["sampler_name"]).filter(Value::is_string) {
        settings.insert("sampler".into(), sampler);
    }
    if let Some(cfg) = literal(&["cfg"]).filter(|v| v.as_f64().is_some_and(|x| x >= 0.0)) {
        settings.insert("cfg_scale".into(), cfg);
    }
    if let Some(scheduler) = literal(&["scheduler"]).filter(Value::is_string) {
        settings.insert("scheduler".into(), scheduler);
    }
    let positive = inputs.get("positive").and_then(|link| text_of(&walk, link, 0));
    let negative = inputs.get("negative").and_then(|link| text_of(&walk, link, 0));
    imported.prompt = positive;
    if let Some(negative) = negative.filter(|n| !n.is_empty()) {
        imported.settings.insert("negative_prompt".into(), json!(negative));
    }
    if let Some(denoise) = literal(&["denoise"]).filter(Value::is_number) {
        imported.settings.insert("denoise".into(), denoise);
    }
    if let Some(size) = inputs.get("latent_image").and_then(|link| latent_size(&walk, link, 0)) {
        imported.settings.insert("size".into(), json!(size));
    }
    let checkpoint = inputs
        .get("model")
        .and_then(|link| checkpoint_of(&walk, link, 0))
        .or_else(|| any_checkpoint(graph, &mut imported.notes));
    if let Some(checkpoint) = checkpoint {
        imported.model_name = Some(model_name_of_checkpoint(&checkpoint));
        imported.settings.insert("checkpoint".into(), json!(checkpoint));
    }
    imported.settings.insert("comfyui_sampler_node".into(), json!(sampler_id));
    keep_graphs(&mut imported, graph, workflow);
    Ok(imported)
}

fn keep_graphs(imported: &mut ImportedParams, graph: &Graph, workflow: Option<&str>) {
    imported.settings.insert("comfyui_prompt".into(), Value::Object(graph.clone()));
    if let Some(workflow) = workflow {
        let value = serde_json::from_str::<Value>(workflow).unwrap_or_else(|_| json!(workflow));
        imported.settings.insert("comfyui_workflow".into(), value);
    }
}

fn node_inputs<'a>(graph: &'a Graph, id: &str) -> Option<&'a Map<String, Value>> {
    graph.get(id)?.get("inputs")?.as_object()
}

fn class_of<'a>(graph: &'a Graph, id: &str) -> &'a str {
    graph.get(id).and_then(|node| node.get("class_type")).and_then(Value::as_str).unwrap_or("")
}

/// The node a link `[id, output]` points at.
fn link_target(value: &Value) -> Option<String> {
    let link = value.as_array().filter(|a| a.len() == 2)?;
    match link.first()? {
        Value::String(id) => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// Sampler nodes by id, in numeric id order: KSampler-type nodes and anything else with a
/// `sampler_name` and `steps`.
fn sampler_nodes(graph: &Graph) -> Vec<String> {
    let mut ids: Vec<String> = graph
        .keys()
        .filter(|id| {
            let inputs = node_inputs(graph, id);
            class_of(graph, id).starts_with("KSampler")
                || inputs.is_some_and(|i| i.contains_key("sampler_name") && i.contains_key("steps"))
        })
        .cloned()
        .collect();
    ids.sort_by_key(|id| (id.parse::<u64>().unwrap_or(u64::MAX), id.clone()));
    ids
}

/// With several samplers (e.g. a base pass and a hires pass), the one that starts from an empty
/// latent made the initial noise; failing that, the first with full denoise, then the first.
fn choose_sampler(walk: &Walk<'_>, samplers: &[String], notes: &mut Vec<String>) -> Option<String> {
    let graph = walk.graph;
    let chosen = samplers
        .iter()
        .find(|id| {
            node_inputs(graph, id)
                .and_then(|inputs| inputs.get("latent_image"))
                .is_some_and(|link| latent_size(walk, link, 0).is_some())
        })
        .or_else(|| {
            samplers.iter().find(|id| {
                node_inputs(graph, id).and_then(|i| i.get("denoise")).and_then(Value::as_f64).is_none_or(|d| d >= 1.0)
            })
        })
        .or(samplers.first())?
        .clone();
    if samplers.len() > 1 {
        notes.push(format!(
            "the graph has {} sampler nodes ({}); settings come from node {chosen} ({}), the first pass; \
             the whole graph is kept in comfyui_prompt",
            samplers.len(),
            samplers.join(", "),
            class_of(graph, &chosen)
        ));
    }
    Some(chosen)
}

/// Follows links from `value` to a literal, looking at inputs named like the one asked for or
/// holding a plain value (primitive nodes: `value`, `int`, `float`, `string`, `text`).
/// The literal is borrowed, never cloned on the way: a large value met at every one of the
/// links a graph may make us follow would otherwise be copied each time.
fn resolve<'v>(walk: &Walk<'v>, value: &'v Value, names: &[&str], depth: usize) -> Option<&'v Value> {
    if link_target(value).is_none() {
        return Some(value);
    }
    let (_, inputs) = walk.follow(value, depth)?;
    names
        .iter()
        .chain(&["value", "int", "float", "seed", "number", "string", "text"])
        .find_map(|name| resolve(walk, inputs.get(*name)?, names, depth + 1))
}

/// The prompt text that a conditioning link leads to: a text encoder's `text` (or SDXL's
/// `text_g` and `text_l`), through conditioning nodes (ControlNet, combine, concat, ...).
fn text_of(walk: &Walk<'_>, link: &Value, depth: usize) -> Option<String> {
    let (_, inputs) = walk.follow(link, depth)?;
    let literal_text =
        |name: &str| resolve(walk, inputs.get(name)?, &[name, "text"], depth + 1)?.as_str().map(str::to_string);
    if let Some(text) = literal_text("text") {
        return Some(text);
    }
    let sdxl: Vec<String> = ["text_g", "text_l"].iter().filter_map(|name| literal_text(name)).collect();
    if let Some(first) = sdxl.first() {
        // Both encoders usually get the same text; keep both when they differ.
        return Some(if sdxl.iter().all(|t| t == first) { first.clone() } else { sdxl.join("\n") });
    }
    ["conditioning", "conditioning_to", "conditioning_1", "conditioning_from", "positive", "conditioning_2"]
        .iter()
        .find_map(|name| text_of(walk, inputs.get(*name)?, depth + 1))
}

/// The checkpoint file a model link leads to, through LoRA loaders and model patches.
fn checkpoint_of(walk: &Walk<'_>, link: &Value, depth: usize) -> Option<String> {
    let (_, inputs) = walk.follow(link, depth)?;
    ["ckpt_name", "unet_name", "model_name"]
        .iter()
        .find_map(|name| resolve(walk, inputs.get(*name)?, &[name], depth + 1)?.as_str().map(str::to_string))
        .or_else(|| checkpoint_of(walk, inputs.get("model")?, depth + 1))
}

fn any_checkpoint(graph: &Graph, notes: &mut Vec<String>) -> Option<String> {
    let mut ids: Vec<&String> = graph.keys().collect();
    ids.sort_by_key(|id| (id.parse::<u64>().unwrap_or(u64::MAX), (*id).clone()));
    let found =
        ids.into_iter().find_map(|id| node_inputs(graph, id)?.get("ckpt_name")?.as_str().map(str::to_string))?;
    notes.push(format!("the sampler's model link does not lead to a loader; took checkpoint {found:?} from the graph"));
    Some(found)
}

/// `WIDTHxHEIGHT` of the empty latent a link leads to.
fn latent_size(walk: &Walk<'_>, link: &Value, depth: usize) -> Option<String> {
    let (target, inputs) = walk.follow(link, depth)?;
    if !class_of(walk.graph, &target).starts_with("Empty") {
        return None;
    }
    let dimension = |name: &str| resolve(walk, inputs.get(name)?, &[name], depth + 1)?.as_u64();
    Some(format!("{}x{}", dimension("width")?, dimension("height")?))
}

/// A node's inputs looked through for a link: ComfyUI's nodes have a few dozen at most.
const MAX_NODE_INPUTS: usize = 256;

/// Control values ComfyUI puts after a seed widget.
const SEED_CONTROLS: [&str; 4] = ["fixed", "increment", "decrement", "randomize"];

/// The UI workflow's nodes (in file order, and by id) and each link's origin node. Node and link
/// lookups are hashed, and a node's inputs are looked through only up to
/// [`MAX_NODE_INPUTS`]: a hostile workflow cannot make each followed link cost a long scan.
struct Ui<'a> {
    nodes: Vec<(String, &'a Map<String, Value>)>,
    by_id: HashMap<String, &'a Map<String, Value>>,
    links: HashMap<String, String>,
    budget: std::cell::Cell<u32>,
}

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

impl<'a> Ui<'a> {
    fn new(workflow: &'a Value) -> Option<Ui<'a>> {
        let nodes: Vec<(String, &Map<String, Value>)> = workflow
            .get("nodes")?
            .as_array()?
            .iter()
            .filter_map(|node| {
                let node = node.as_object()?;
                Some((id_text(node.get("id")?)?, node))
            })
            .collect();
        // The first node, and the first link, with an id wins.
        let mut by_id = HashMap::new();
        for (id, node) in &nodes {
            by_id.entry(id.clone()).or_insert(*node);
        }
        let mut links = HashMap::new();
        for link in workflow.get("links").and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
            let found = match link {
                Value::Array(fields) => fields.first().and_then(id_text).zip(fields.get(1).and_then(id_text)),
                Value::Object(fields) => {
                    fields.get("id").and_then(id_text).zip(fields.get("origin_id").and_then(id_text))
                }
                _ => None,
            };
            if let Some((id, origin)) = found {
                links.entry(id).or_insert(origin);
            }
        }
        Some(Ui { nodes, by_id, links, budget: std::cell::Cell::new(MAX_LINKS_FOLLOWED) })
    }

    /// The node feeding input `name` of `node`, within the depth and the budget.
    fn input(&self, node: &Map<String, Value>, name: &str, depth: usize) -> Option<&'a Map<String, Value>> {
        let left = self.budget.get();
        if depth >= MAX_LINK_DEPTH || left == 0 {
            return None;
        }
        self.budget.set(left - 1);
        let input = node
            .get("inputs")?
            .as_array()?
            .iter()
            .take(MAX_NODE_INPUTS)
            .find(|i| i.get("name").and_then(Value::as_str) == Some(name))?;
        let link = id_text(input.get("link")?)?;
        self.by_id.get(self.links.get(&link)?).copied()
    }
}

fn node_type(node: &Map<String, Value>) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or("")
}

fn widgets(node: &Map<String, Value>) -> &[Value] {
    node.get("widgets_values").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Bypassed (4) and muted (2) nodes did not run.
fn is_active(node: &Map<String, Value>) -> bool {
    !matches!(node.get("mode").and_then(Value::as_u64), Some(2 | 4))
}

/// Reads a UI `workflow` without its `prompt` graph: the first active KSampler (or
/// KSamplerAdvanced) node's widgets — seed, its after-generate control, steps, cfg, sampler,
/// scheduler, denoise — and, through the links, the text encoders' text, the empty latent's size
/// and the checkpoint loader's file. The workflow is kept whole.
pub fn parse_workflow(workflow: &str) -> Result<ImportedParams, ParamsError> {
    let document: Value = serde_json::from_str(workflow)
        .map_err(|e| ParamsError::NotJson { record: "ComfyUI workflow", detail: e.to_string() })?;
    let ui = Ui::new(&document).ok_or(ParamsError::Missing { record: "ComfyUI workflow", missing: "nodes list" })?;
    let mut imported = ImportedParams::new(ParamSource::ComfyUi);
    imported.notes.push(
        "only the UI workflow was found (no prompt graph): settings are its widget values, which a \
         control such as randomize may have changed after the run"
            .into(),
    );
    let mut samplers: Vec<&(String, &Map<String, Value>)> =
        ui.nodes.iter().filter(|(_, node)| node_type(node).starts_with("KSampler") && is_active(node)).collect();
    samplers.sort_by_key(|(id, _)| (id.parse::<u64>().unwrap_or(u64::MAX), id.clone()));
    if samplers.len() > 1 {
        let ids: Vec<&str> = samplers.iter().map(|(id, _)| id.as_str()).collect();
        imported.notes.push(format!(
            "the workflow has {} sampler nodes ({}); settings come from node {}",
            ids.len(),
            ids.join(", "),
            ids.first().copied().unwrap_or_default()
        ));
    }
    let Some(&&(ref sampler_id, sampler)) = samplers.first() else {
        imported.notes.push("the workflow has no sampler node; only the workflow was kept".into());
        if let Some(checkpoint) = ui.nodes.iter().find_map(|(_, node)| loader_file(node)) {
            imported.model_name = Some(model_name_of_checkpoint(&checkpoint));
            imported.settings.insert("checkpoint".into(), json!(checkpoint));
        }
        imported.settings.insert("comfyui_workflow".into(), document);
        return Ok(imported);
    };
    let values = widgets(sampler);
    // KSamplerAdvanced starts with add_noise; a seed widget is followed by its control.
    let first = usize::from(node_type(sampler) == "KSamplerAdvanced");
    let seed = values.get(first);
    let has_control = values.get(first + 1).and_then(Value::as_str).is_some_and(|c| SEED_CONTROLS.contains(&c));
    let at = |offset: usize| values.get(first + offset + usize::from(has_control));
    let settings = &mut imported.settings;
    match seed.and_then(Value::as_u64) {
        Some(seed) => {
            settings.insert("seed".into(), json!(seed));
        }
        None => imported.notes.push(format!("sampler node {sampler_id} has no whole-number seed widget")),
    }
    match at(1).and_then(Value::as_u64) {
        Some(steps) => {
            settings.insert("steps".into(), json!(steps));
        }
        None => imported.notes.push(format!("sampler node {sampler_id} has no whole-number steps widget")),
    }
    if let Some(sampler_name) = at(3).filter(|v| v.is_string()) {
        settings.insert("sampler".into(), sampler_name.clone());
    }
    if let Some(cfg) = at(2).filter(|v| v.as_f64().is_some_and(|x| x >= 0.0)) {
        settings.insert("cfg_scale".into(), cfg.clone());
    }
    if let Some(scheduler) = at(4).filter(|v| v.is_string()) {
        settings.insert("scheduler".into(), scheduler.clone());
    }
    imported.prompt = ui.input(sampler, "positive", 0).and_then(|node| workflow_text(&ui, node, 1));
    if let Some(negative) =
        ui.input(sampler, "negative", 0).and_then(|node| workflow_text(&ui, node, 1)).filter(|n| !n.is_empty())
    {
        imported.settings.insert("negative_prompt".into(), json!(negative));
    }
    if node_type(sampler) == "KSampler"
        && let Some(denoise) = at(5).filter(|v| v.is_number())
    {
        imported.settings.insert("denoise".into(), denoise.clone());
    }
    if let Some(latent) = ui.input(sampler, "latent_image", 0).filter(|node| node_type(node).starts_with("Empty")) {
        let size = widgets(latent);
        if let (Some(width), Some(height)) = (size.first().and_then(Value::as_u64), size.get(1).and_then(Value::as_u64))
        {
            imported.settings.insert("size".into(), json!(format!("{width}x{height}")));
        }
    }
    let checkpoint = workflow_checkpoint(&ui, sampler, 0).or_else(|| {
        let found = ui.nodes.iter().find_map(|(_, node)| loader_file(node))?;
        imported.notes.push(format!(
            "the sampler's model link does not lead to a loader; took checkpoint {found:?} from the workflow"
        ));
        Some(found)
    });
    if let Some(checkpoint) = checkpoint {
        imported.model_name = Some(model_name_of_checkpoint(&checkpoint));
        imported.settings.insert("checkpoint".into(), json!(checkpoint));
    }
    if let Some(control) = has_control.then(|| values.get(first + 1)).flatten() {
        imported.settings.insert("seed_control".into(), control.clone());
    }
    imported.settings.insert("comfyui_sampler_node".into(), json!(sampler_id));
    imported.settings.insert("comfyui_workflow".into(), document.clone());
    Ok(imported)
}

/// The text a conditioning node leads to: a text encoder's first text widget, or through a
/// conditioning node's first conditioning input.
fn workflow_text(ui: &Ui<'_>, node: &Map<String, Value>, depth: usize) -> Option<String> {
    if node_type(node).starts_with("CLIPTextEncode") {
        return widgets(node).iter().find_map(Value::as_str).map(str::to_string);
    }
    ["conditioning", "conditioning_1", "conditioning_to", "positive"]
        .iter()
        .find_map(|name| workflow_text(ui, ui.input(node, name, depth)?, depth + 1))
}

/// The file a loader node names: its first text widget.
fn loader_file(node: &Map<String, Value>) -> Option<String> {
    let kind = node_type(node);
    (kind.contains("CheckpointLoader") || kind == "UNETLoader" || kind == "UnetLoaderGGUF")
        .then(|| widgets(node).iter().find_map(Value::as_str).map(str::to_string))
        .flatten()
}

/// The checkpoint a sampler's model input leads to, through LoRA loaders and model patches.
fn workflow_checkpoint(ui: &Ui<'_>, node: &Map<String, Value>, depth: usize) -> Option<String> {
    let source = ui.input(node, "model", depth)?;
    loader_file(source).or_else(|| workflow_checkpoint(ui, source, depth + 1))
}

/// One node of a ComfyUI graph, for a list: its id, class and title, and its inputs as text (a
/// link to another node's output as `-> node N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphNode {
    pub id: String,
    pub class_type: String,
    pub title: Option<String>,
    pub inputs: Vec<(String, String)>,
}

/// The most nodes listed, and the longest input text shown, so a huge graph stays a list.
const MAX_LISTED_NODES: usize = 5000;
const MAX_INPUT_CHARS: usize = 200;

fn input_text(value: &Value) -> String {
    let text = match (link_target(value), value) {
        (Some(node), _) => format!("-> node {node}"),
        (None, Value::String(text)) => text.clone(),
        (None, other) => other.to_string(),
    };
    match text.char_indices().nth(MAX_INPUT_CHARS) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
        None => text,
    }
}

/// The nodes of a `prompt` graph (what ran) or, given a UI `workflow` (`{"nodes": [...]}`), of
/// that, in id order; a workflow node's inputs are its widget values. Empty for anything else.
pub fn graph_nodes(graph: &Value) -> Vec<GraphNode> {
    let numeric = |id: &str| id.parse::<u64>().ok();
    let mut nodes: Vec<GraphNode> = if let Some(list) = graph.get("nodes").and_then(Value::as_array) {
        list.iter()
            .take(MAX_LISTED_NODES)
            .filter_map(Value::as_object)
            .map(|node| GraphNode {
                id: node.get("id").and_then(id_text).unwrap_or_default(),
                class_type: node_type(node).to_string(),
                title: node.get("title").and_then(Value::as_str).map(str::to_string),
                inputs: widgets(node)
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("widget {}", i + 1), input_text(v)))
                    .collect(),
            })
            .collect()
    } else if let Some(graph) = graph.as_object() {
        graph
            .iter()
            .take(MAX_LISTED_NODES)
            .filter_map(|(id, node)| {
                let node = node.as_object()?;
                Some(GraphNode {
                    id: id.clone(),
                    class_type: node.get("class_type").and_then(Value::as_str).unwrap_or("").to_string(),
                    title: node.get("_meta").and_then(|m| m.get("title")).and_then(Value::as_str).map(str::to_string),
                    inputs: node
                        .get("inputs")
                        .and_then(Value::as_object)
                        .map(|inputs| inputs.iter().map(|(k, v)| (k.clone(), input_text(v))).collect())
                        .unwrap_or_default(),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    nodes.sort_by(|a, b| (numeric(&a.id), &a.id).cmp(&(numeric(&b.id), &b.id)));
    nodes
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// ComfyUI's default text-to-image graph, in the API form it stores as `prompt`.
    pub(crate) const DEFAULT_GRAPH: &str = r#"{"3": {"inputs": {"seed": 156680208700286, "steps": 20, "cfg": 8, "sampler_name": "euler", "scheduler": "normal", "denoise": 1, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}, "class_type": "KSampler", "_meta": {"title": "KSampler"}}, "4": {"inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}, "class_type": "CheckpointLoaderSimple", "_meta": {"title": "Load Checkpoint"}}, "5": {"inputs": {"width": 512, "height": 512, "batch_size": 1}, "class_type": "EmptyLatentImage", "_meta": {"title": "Empty Latent Image"}}, "6": {"inputs": {"text": "beautiful scenery nature glass bottle landscape, , purple galaxy bottle,", "clip": ["4", 1]}, "class_type": "CLIPTextEncode", "_meta": {"title": "CLIP Text Encode (Prompt)"}}, "7": {"inputs": {"text": "text, watermark", "clip": ["4", 1]}, "class_type": "CLIPTextEncode", "_meta": {"title": "CLIP Text Encode (Prompt)"}}, "8": {"inputs": {"samples": ["3", 0], "vae": ["4", 2]}, "class_type": "VAEDecode", "_meta": {"title": "VAE Decode"}}, "9": {"inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}, "class_type": "SaveImage", "_meta": {"title": "Save Image"}}}"#;

    #[test]
    fn graph_nodes_list_both_forms_in_id_order() {
        let graph: Value = serde_json::from_str(DEFAULT_GRAPH).unwrap();
        let nodes = graph_nodes(&graph);
        let ids: Vec<&str> = nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["3", "4", "5", "6", "7", "8", "9"]);
        let sampler = &nodes[0];
        assert_eq!((sampler.class_type.as_str(), sampler.title.as_deref()), ("KSampler", Some("KSampler")));
        assert!(sampler.inputs.contains(&("model".into(), "-> node 4".into())), "{:?}", sampler.inputs);
        assert!(sampler.inputs.contains(&("seed".into(), "156680208700286".into())));
        let workflow: Value = serde_json::from_str(DEFAULT_WORKFLOW).unwrap();
        let from_workflow = graph_nodes(&workflow);
        assert_eq!(from_workflow.len(), 7);
        assert!(from_workflow.windows(2).all(|w| w[0].id.parse::<u64>().unwrap() < w[1].id.parse::<u64>().unwrap()));
        assert!(from_workflow.iter().any(|n| n.class_type == "KSampler" && n.inputs.len() == 7));
        // Numeric ids sort as numbers, not text; long values are cut.
        let odd =
            json!({"10": {"class_type": "A", "inputs": {"t": "x".repeat(500)}}, "9": {"class_type": "B"}, "x": 5});
        let nodes = graph_nodes(&odd);
        assert_eq!(nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["9", "10"]);
        assert_eq!(nodes[1].inputs[0].1.chars().count(), MAX_INPUT_CHARS + 1);
        assert!(graph_nodes(&json!([1, 2])).is_empty());
    }

    #[test]
    fn the_default_graph_maps_onto_the_manifest() {
        let workflow = r#"{"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"}], "links": [], "version": 0.4}"#;
        let imported = parse(DEFAULT_GRAPH, Some(workflow)).unwrap();
        assert_eq!(imported.source, ParamSource::ComfyUi);
        assert_eq!(
            imported.prompt.as_deref(),
            Some("beautiful scenery nature glass bottle landscape, , purple galaxy bottle,")
        );
        assert_eq!(imported.model_name.as_deref(), Some("v1-5-pruned-emaonly"));
        let s = &imported.settings;
        assert_eq!(s["seed"], json!(156680208700286u64));
        assert_eq!(s["steps"], json!(20));
        assert_eq!(s["sampler"], json!("euler"));
        assert_eq!(s["cfg_scale"], json!(8));
        assert_eq!(s["scheduler"], json!("normal"));
        assert_eq!(s["negative_prompt"], json!("text, watermark"));
        assert_eq!(s["denoise"], json!(1));
        assert_eq!(s["size"], json!("512x512"));
        assert_eq!(s["checkpoint"], json!("v1-5-pruned-emaonly.safetensors"));
        assert_eq!(s["comfyui_prompt"], serde_json::from_str::<Value>(DEFAULT_GRAPH).unwrap());
        assert_eq!(s["comfyui_workflow"]["last_node_id"], json!(9));
        assert!(imported.notes.is_empty(), "{:?}", imported.notes);
    }

    /// The default graph with a hires pass: a second KSampler from an upscaled latent.
    fn two_pass_graph() -> Value {
        let mut graph: Value = serde_json::from_str(DEFAULT_GRAPH).unwrap();
        let nodes = graph.as_object_mut().unwrap();
        nodes.insert(
            "10".into(),
            json!({"inputs": {"upscale_method": "nearest-exact", "scale_by": 1.5, "samples": ["3", 0]},
                   "class_type": "LatentUpscaleBy"}),
        );
        nodes.insert(
            "11".into(),
            json!({"inputs": {"seed": 99, "steps": 12, "cfg": 5, "sampler_name": "dpmpp_2m", "scheduler": "karras",
                              "denoise": 0.5, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
                              "latent_image": ["10", 0]}, "class_type": "KSampler"}),
        );
        graph
    }

    #[test]
    fn with_several_samplers_the_first_pass_is_taken_and_the_choice_noted() {
        // Ids sort numerically ("11" after "3"), and the pass from the empty latent wins even
        // when it is listed second.
        for order in [["3", "11"], ["11", "3"]] {
            let graph = two_pass_graph();
            let mut reordered = Map::new();
            for id in order.iter().chain(&["4", "5", "6", "7", "8", "9", "10"]) {
                reordered.insert(id.to_string(), graph[id].clone());
            }
            let imported = parse(&Value::Object(reordered).to_string(), None).unwrap();
            assert_eq!(imported.settings["seed"], json!(156680208700286u64));
            assert_eq!(imported.settings["steps"], json!(20));
            assert_eq!(imported.settings["comfyui_sampler_node"], json!("3"));
            assert_eq!(imported.notes.len(), 1, "{:?}", imported.notes);
            assert!(imported.notes[0].contains("2 sampler nodes (3, 11)"), "{}", imported.notes[0]);
        }
    }

    #[test]
    fn links_are_followed_through_loras_conditioning_and_primitives() {
        let graph = json!({
            "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "models/sdxl/juggernautXL_v9.safetensors"}},
            "2": {"class_type": "LoraLoader", "inputs": {"model": ["1", 0], "clip": ["1", 1], "lora_name": "detail.safetensors"}},
            "3": {"class_type": "CLIPTextEncodeSDXL", "inputs": {"text_g": ["20", 0], "text_l": ["20", 0], "clip": ["2", 1]}},
            "4": {"class_type": "ControlNetApply", "inputs": {"conditioning": ["3", 0], "strength": 0.8}},
            "5": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry,\nlow quality", "clip": ["2", 1]}},
            "6": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 1024, "height": ["21", 0], "batch_size": 1}},
            "7": {"class_type": "KSamplerAdvanced", "inputs": {
                "noise_seed": ["22", 0], "steps": 25, "cfg": 4.5, "sampler_name": "dpmpp_2m_sde", "scheduler": "karras",
                "model": ["2", 0], "positive": ["4", 0], "negative": ["5", 0], "latent_image": ["6", 0],
                "start_at_step": 0, "end_at_step": 10000}},
            "20": {"class_type": "PrimitiveString", "inputs": {"value": "a lighthouse, stormy sea,\nnight"}},
            "21": {"class_type": "PrimitiveInt", "inputs": {"value": 768}},
            "22": {"class_type": "Seed (rgthree)", "inputs": {"seed": 123456789}}
        });
        let imported = parse(&graph.to_string(), None).unwrap();
        assert_eq!(imported.prompt.as_deref(), Some("a lighthouse, stormy sea,\nnight"));
        assert_eq!(imported.model_name.as_deref(), Some("juggernautXL_v9"));
        let s = &imported.settings;
        assert_eq!(s["seed"], json!(123456789));
        assert_eq!(s["steps"], json!(25));
        assert_eq!(s["cfg_scale"], json!(4.5));
        assert_eq!(s["negative_prompt"], json!("blurry,\nlow quality"));
        assert_eq!(s["size"], json!("1024x768"));
        assert_eq!(s["checkpoint"], json!("models/sdxl/juggernautXL_v9.safetensors"));
        assert!(!s.contains_key("denoise"));
    }

    #[test]
    fn broken_graphs_give_notes_or_errors_never_panics() {
        assert!(parse("not json", None).is_err());
        assert!(parse("[1, 2]", None).is_err());
        let no_sampler = parse(r#"{"1": {"class_type": "SaveImage", "inputs": {}}}"#, None).unwrap();
        assert!(no_sampler.settings.contains_key("comfyui_prompt"));
        assert_eq!(no_sampler.notes.len(), 1);
        // A cycle of links ends at the depth limit.
        let cyclic = json!({
            "1": {"class_type": "KSampler", "inputs": {"seed": ["2", 0], "steps": 3, "sampler_name": "euler",
                  "positive": ["2", 0], "model": ["2", 0], "latent_image": ["2", 0]}},
            "2": {"class_type": "Loop", "inputs": {"value": ["1", 0], "conditioning": ["2", 0], "model": ["2", 0]}}
        });
        let imported = parse(&cyclic.to_string(), None).unwrap();
        assert_eq!(imported.prompt, None);
        assert!(!imported.settings.contains_key("seed"));
        assert_eq!(imported.settings["steps"], json!(3));
        // Every node linking to the next by every name the walk tries: the budget ends it.
        let names = ["value", "int", "float", "seed", "number", "string", "text", "conditioning", "model"];
        let mut dense = Map::new();
        for id in 0..40 {
            let inputs: Map<String, Value> =
                names.iter().map(|n| (n.to_string(), json!([(id + 1).to_string(), 0]))).collect();
            dense.insert(id.to_string(), json!({"class_type": "X", "inputs": inputs}));
        }
        dense.insert(
            "sampler".into(),
            json!({"class_type": "KSampler", "inputs": {"seed": ["0", 0], "steps": ["0", 0], "sampler_name": ["0", 0],
                   "positive": ["0", 0], "negative": ["0", 0], "model": ["0", 0]}}),
        );
        let started = std::time::Instant::now();
        let imported = parse(&Value::Object(dense).to_string(), None).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
        assert_eq!(imported.prompt, None);
    }

    /// ComfyUI's default workflow in its UI form (trimmed of layout fields): what an image that
    /// kept only `workflow` carries.
    pub(crate) const DEFAULT_WORKFLOW: &str = r#"{"last_node_id": 9, "last_link_id": 9, "nodes": [
        {"id": 7, "type": "CLIPTextEncode", "inputs": [{"name": "clip", "type": "CLIP", "link": 5}],
         "outputs": [{"name": "CONDITIONING", "type": "CONDITIONING", "links": [6]}], "widgets_values": ["text, watermark"]},
        {"id": 6, "type": "CLIPTextEncode", "inputs": [{"name": "clip", "type": "CLIP", "link": 3}],
         "outputs": [{"name": "CONDITIONING", "type": "CONDITIONING", "links": [4]}],
         "widgets_values": ["beautiful scenery nature glass bottle landscape, , purple galaxy bottle,"]},
        {"id": 5, "type": "EmptyLatentImage", "outputs": [{"name": "LATENT", "links": [2]}], "widgets_values": [512, 512, 1]},
        {"id": 3, "type": "KSampler", "inputs": [{"name": "model", "type": "MODEL", "link": 1},
            {"name": "positive", "type": "CONDITIONING", "link": 4}, {"name": "negative", "type": "CONDITIONING", "link": 6},
            {"name": "latent_image", "type": "LATENT", "link": 2}],
         "widgets_values": [156680208700286, "randomize", 20, 8, "euler", "normal", 1]},
        {"id": 4, "type": "CheckpointLoaderSimple", "outputs": [{"name": "MODEL", "links": [1]}, {"name": "CLIP", "links": [3, 5]}],
         "widgets_values": ["v1-5-pruned-emaonly.safetensors"]},
        {"id": 8, "type": "VAEDecode", "inputs": [{"name": "samples", "link": 7}, {"name": "vae", "link": 8}]},
        {"id": 9, "type": "SaveImage", "inputs": [{"name": "images", "link": 9}], "widgets_values": ["ComfyUI"]}],
      "links": [[1, 4, 0, 3, 0, "MODEL"], [2, 5, 0, 3, 3, "LATENT"], [3, 4, 1, 6, 0, "CLIP"], [4, 6, 0, 3, 1, "CONDITIONING"],
                [5, 4, 1, 7, 0, "CLIP"], [6, 7, 0, 3, 2, "CONDITIONING"], [7, 3, 0, 8, 0, "LATENT"], [8, 4, 2, 8, 1, "VAE"],
                [9, 8, 0, 9, 0, "IMAGE"]],
      "groups": [], "config": {}, "extra": {}, "version": 0.4}"#;

    #[test]
    fn a_workflow_alone_gives_the_same_settings_as_the_graph() {
        let from_workflow = parse_workflow(DEFAULT_WORKFLOW).unwrap();
        let from_graph = parse(DEFAULT_GRAPH, None).unwrap();
        assert_eq!(from_workflow.source, ParamSource::ComfyUi);
        assert_eq!(from_workflow.prompt, from_graph.prompt);
        assert_eq!(from_workflow.model_name, from_graph.model_name);
        for key in
            ["seed", "steps", "sampler", "cfg_scale", "scheduler", "negative_prompt", "denoise", "size", "checkpoint"]
        {
            assert_eq!(from_workflow.settings.get(key), from_graph.settings.get(key), "{key}");
        }
        assert_eq!(from_workflow.settings["seed_control"], json!("randomize"));
        assert_eq!(from_workflow.settings["comfyui_sampler_node"], json!("3"));
        assert_eq!(from_workflow.settings["comfyui_workflow"]["last_node_id"], json!(9));
        assert_eq!(from_workflow.notes.len(), 1, "{:?}", from_workflow.notes);
    }

    #[test]
    fn odd_workflows() {
        // Links as objects, KSamplerAdvanced, a LoRA between sampler and loader, a bypassed sampler.
        let workflow = json!({"nodes": [
            {"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["sdxl/juggernaut.safetensors"]},
            {"id": 2, "type": "LoraLoader", "inputs": [{"name": "model", "link": 10}], "widgets_values": ["detail.safetensors", 1, 1]},
            {"id": 3, "type": "CLIPTextEncode", "widgets_values": ["a lighthouse"]},
            {"id": 4, "type": "ConditioningCombine", "inputs": [{"name": "conditioning_1", "link": 12}]},
            {"id": 5, "type": "KSamplerAdvanced", "inputs": [{"name": "model", "link": 11}, {"name": "positive", "link": 13}],
             "widgets_values": ["enable", 42, "fixed", 25, 4.5, "dpmpp_2m", "karras", 0, 10000, "disable"]},
            {"id": 0, "type": "KSampler", "mode": 4, "widgets_values": [1, "fixed", 1, 1, "euler", "normal", 1]}],
          "links": [{"id": 10, "origin_id": 1, "origin_slot": 0, "target_id": 2, "target_slot": 0, "type": "MODEL"},
                    {"id": 11, "origin_id": 2, "origin_slot": 0, "target_id": 5, "target_slot": 0, "type": "MODEL"},
                    {"id": 12, "origin_id": 3, "origin_slot": 0, "target_id": 4, "target_slot": 0, "type": "CONDITIONING"},
                    {"id": 13, "origin_id": 4, "origin_slot": 0, "target_id": 5, "target_slot": 1, "type": "CONDITIONING"}]});
        let imported = parse_workflow(&workflow.to_string()).unwrap();
        assert_eq!(imported.prompt.as_deref(), Some("a lighthouse"));
        assert_eq!(imported.model_name.as_deref(), Some("juggernaut"));
        let s = &imported.settings;
        assert_eq!(s["seed"], json!(42));
        assert_eq!(s["steps"], json!(25));
        assert_eq!(s["cfg_scale"], json!(4.5));
        assert_eq!(s["sampler"], json!("dpmpp_2m"));
        assert_eq!(s["scheduler"], json!("karras"));
        assert_eq!(s["comfyui_sampler_node"], json!("5"));
        assert!(!s.contains_key("denoise"));
        assert_eq!(imported.notes.len(), 1, "{:?}", imported.notes);

        assert!(parse_workflow("not json").is_err());
        assert!(parse_workflow(r#"{"nodes": 3}"#).is_err());
        let no_sampler =
            parse_workflow(r#"{"nodes": [{"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["a.ckpt"]}]}"#)
                .unwrap();
        assert_eq!(no_sampler.model_name.as_deref(), Some("a"));
        assert_eq!(no_sampler.notes.len(), 2, "{:?}", no_sampler.notes);
        // A link cycle through conditioning nodes ends at the depth limit; odd widget values are notes.
        let cyclic = json!({"nodes": [
            {"id": 1, "type": "KSampler", "inputs": [{"name": "positive", "link": 1}, {"name": "model", "link": 1}],
             "widgets_values": ["seed?", "fixed"]},
            {"id": 2, "type": "ConditioningCombine", "inputs": [{"name": "conditioning_1", "link": 1}, {"name": "model", "link": 1}]}],
          "links": [[1, 2, 0, 1, 0, "CONDITIONING"]]});
        let imported = parse_workflow(&cyclic.to_string()).unwrap();
        assert_eq!(imported.prompt, None);
        assert_eq!(imported.notes.len(), 3, "{:?}", imported.notes);
    }
}
