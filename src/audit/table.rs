//! Filtering, sorting and summing up the rows of a folder verification, for the results
//! table. Pure, so that it is tested without a window.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::time::Duration;

use super::folder::FileRow;
use crate::format::Verdict;

/// Which rows are shown. Every `None` or empty field lets every row through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowFilter {
    pub verdict: Option<Verdict>,
    /// A problem code the row must have, e.g. `chunk.hash`.
    pub problem: Option<String>,
    pub model: Option<String>,
    /// Text the seed must contain.
    pub seed: String,
    /// An environment component and the value it must have (`None`: the file lacks it).
    pub environment: Option<(String, Option<String>)>,
    /// Text the path must contain (case-insensitive).
    pub path: String,
}

impl RowFilter {
    pub fn is_empty(&self) -> bool {
        *self == RowFilter::default()
    }

    pub fn matches(&self, row: &FileRow) -> bool {
        self.verdict.is_none_or(|v| row.verdict == v)
            && self.problem.as_ref().is_none_or(|p| row.problems.contains(p))
            && self.model.as_ref().is_none_or(|m| row.model_name.as_ref() == Some(m))
            && (self.seed.trim().is_empty() || row.seed.is_some_and(|s| s.to_string().contains(self.seed.trim())))
            && self
                .environment
                .as_ref()
                .is_none_or(|(component, value)| environment_value(row, component) == value.as_deref())
            && (self.path.is_empty() || row.path.to_string_lossy().to_lowercase().contains(&self.path.to_lowercase()))
    }
}

/// The value a row's environment has for `component`, if any.
pub fn environment_value<'a>(row: &'a FileRow, component: &str) -> Option<&'a str> {
    row.environment.iter().find(|(id, _)| id == component).map(|(_, value)| value.as_str())
}

/// Columns the table sorts by.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SortColumn {
    #[default]
    Path,
    Verdict,
    Problems,
    Model,
    Seed,
    /// The value of one environment component.
    Environment(String),
}

fn verdict_rank(verdict: Verdict) -> u8 {
    verdict.exit_code()
}

/// Compares two rows by a column, in either direction. Rows without a value in the column
/// (no model, no seed, no such component) go last either way; ties fall back to the path, so
/// the order is total.
pub fn compare_rows(a: &FileRow, b: &FileRow, column: &SortColumn, ascending: bool) -> Ordering {
    let direct = |order: Ordering| if ascending { order } else { order.reverse() };
    let by_column = match column {
        SortColumn::Path => direct(a.path.cmp(&b.path)),
        SortColumn::Verdict => direct(verdict_rank(a.verdict).cmp(&verdict_rank(b.verdict))),
        SortColumn::Problems => {
            direct(a.problems.len().cmp(&b.problems.len()).then_with(|| a.problems.cmp(&b.problems)))
        }
        SortColumn::Model => missing_last(a.model_name.as_ref(), b.model_name.as_ref(), ascending),
        SortColumn::Seed => missing_last(a.seed.as_ref(), b.seed.as_ref(), ascending),
        SortColumn::Environment(component) => {
            missing_last(environment_value(a, component), environment_value(b, component), ascending)
        }
    };
    by_column.then_with(|| a.path.cmp(&b.path))
}

fn missing_last<T: Ord>(a: Option<T>, b: Option<T>, ascending: bool) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) if ascending => a.cmp(&b),
        (Some(a), Some(b)) => b.cmp(&a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Positions of the rows that pass `filter`, sorted by `column`.
pub fn visible_rows(rows: &[FileRow], filter: &RowFilter, column: &SortColumn, ascending: bool) -> Vec<usize> {
    let mut shown: Vec<usize> = (0..rows.len()).filter(|&i| rows.get(i).is_some_and(|r| filter.matches(r))).collect();
    shown.sort_by(|&i, &j| match (rows.get(i), rows.get(j)) {
        (Some(a), Some(b)) => compare_rows(a, b, column, ascending),
        _ => Ordering::Equal,
    });
    shown
}

/// What the rows hold, with counts, for the filter menus.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    pub problems: BTreeMap<String, usize>,
    pub models: BTreeMap<String, usize>,
    /// Component -> value -> count; files without the component counted under `None`.
    pub environment: BTreeMap<String, BTreeMap<Option<String>, usize>>,
}

impl Facets {
    pub fn of(rows: &[FileRow]) -> Facets {
        let mut facets = Facets::default();
        for row in rows {
            facets.add(row);
        }
        // Components a file lacks are counted once every component is known.
        for values in facets.environment.values_mut() {
            let present: usize = values.values().sum();
            let missing = rows.len().saturating_sub(present);
            if missing > 0 {
                *values.entry(None).or_default() += missing;
            }
        }
        facets
    }

    fn add(&mut self, row: &FileRow) {
        for problem in &row.problems {
            *self.problems.entry(problem.clone()).or_default() += 1;
        }
        if let Some(model) = &row.model_name {
            *self.models.entry(model.clone()).or_default() += 1;
        }
        let mut seen = std::collections::HashSet::new();
        for (component, value) in &row.environment {
            // A file with two GPUs counts once per component id.
            if seen.insert(component.as_str()) {
                *self.environment.entry(component.clone()).or_default().entry(Some(value.clone())).or_default() += 1;
            }
        }
    }
}

/// "1,234 of 10,000 files · 512 files/s · about 17 s left".
pub fn progress_text(done: usize, total: usize, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 { done as f64 / seconds } else { 0.0 };
    let mut text = format!("{done} of {total} files");
    if done > 0 && seconds > 0.0 {
        text.push_str(&format!(" · {rate:.0} files/s"));
        if done < total {
            let left = (total - done) as f64 / rate;
            text.push_str(&format!(" · about {} left", duration_text(left)));
        }
    }
    text
}

fn duration_text(seconds: f64) -> String {
    let seconds = seconds.ceil().max(0.0) as u64;
    match seconds {
        0..=59 => format!("{seconds} s"),
        60..=3599 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::path::PathBuf;

    fn row(
        path: &str,
        verdict: Verdict,
        problems: &[&str],
        model: Option<&str>,
        seed: Option<u64>,
        torch: Option<&str>,
    ) -> FileRow {
        let mut environment = vec![("numpy".to_string(), "version=2.1.0".to_string())];
        if let Some(torch) = torch {
            environment.insert(0, ("torch".to_string(), torch.to_string()));
        }
        FileRow {
            path: PathBuf::from(path),
            valid: verdict == Verdict::Valid,
            verdict,
            problems: problems.iter().map(|p| p.to_string()).collect(),
            error: None,
            model_name: model.map(str::to_string),
            seed,
            environment,
            checks_run: 10,
            checks_failed: problems.len(),
        }
    }

    fn rows() -> Vec<FileRow> {
        vec![
            row("d/a.raiiaf", Verdict::Valid, &[], Some("sdxl"), Some(42), Some("version=2.5.1")),
            row("d/b.raiiaf", Verdict::Invalid, &["chunk.hash"], Some("sdxl"), Some(1042), Some("version=2.1.0")),
            row("d/c.raiiaf", Verdict::Unreadable, &["header.magic"], None, None, None),
            row("e/d.gen5", Verdict::Valid, &[], Some("sd15"), Some(7), Some("version=2.5.1")),
            row("e/e.raiiaf", Verdict::Invalid, &["chunk.hash", "envc.digest"], Some("sd15"), Some(420), None),
        ]
    }

    fn names(rows: &[FileRow], shown: &[usize]) -> Vec<String> {
        shown.iter().map(|&i| rows[i].path.file_name().unwrap().to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn filters_table() {
        let rows = rows();
        let cases: Vec<(RowFilter, Vec<&str>)> = vec![
            (RowFilter::default(), vec!["a.raiiaf", "b.raiiaf", "c.raiiaf", "d.gen5", "e.raiiaf"]),
            (RowFilter { verdict: Some(Verdict::Invalid), ..Default::default() }, vec!["b.raiiaf", "e.raiiaf"]),
            (RowFilter { problem: Some("envc.digest".into()), ..Default::default() }, vec!["e.raiiaf"]),
            (RowFilter { model: Some("sdxl".into()), ..Default::default() }, vec!["a.raiiaf", "b.raiiaf"]),
            (RowFilter { seed: "42".into(), ..Default::default() }, vec!["a.raiiaf", "b.raiiaf", "e.raiiaf"]),
            (
                RowFilter { environment: Some(("torch".into(), Some("version=2.5.1".into()))), ..Default::default() },
                vec!["a.raiiaf", "d.gen5"],
            ),
            (
                RowFilter { environment: Some(("torch".into(), None)), ..Default::default() },
                vec!["c.raiiaf", "e.raiiaf"],
            ),
            (RowFilter { path: "E/".into(), ..Default::default() }, vec!["d.gen5", "e.raiiaf"]),
            (
                RowFilter { verdict: Some(Verdict::Valid), model: Some("sdxl".into()), ..Default::default() },
                vec!["a.raiiaf"],
            ),
        ];
        for (filter, expected) in cases {
            let shown = visible_rows(&rows, &filter, &SortColumn::Path, true);
            assert_eq!(names(&rows, &shown), expected, "{filter:?}");
        }
    }

    #[test]
    fn sorting_table() {
        let rows = rows();
        let cases: Vec<(SortColumn, bool, Vec<&str>)> = vec![
            (SortColumn::Path, false, vec!["e.raiiaf", "d.gen5", "c.raiiaf", "b.raiiaf", "a.raiiaf"]),
            (SortColumn::Verdict, true, vec!["a.raiiaf", "d.gen5", "b.raiiaf", "e.raiiaf", "c.raiiaf"]),
            (SortColumn::Problems, true, vec!["a.raiiaf", "d.gen5", "b.raiiaf", "c.raiiaf", "e.raiiaf"]),
            (SortColumn::Model, true, vec!["d.gen5", "e.raiiaf", "a.raiiaf", "b.raiiaf", "c.raiiaf"]),
            (SortColumn::Seed, true, vec!["d.gen5", "a.raiiaf", "e.raiiaf", "b.raiiaf", "c.raiiaf"]),
            (
                SortColumn::Environment("torch".into()),
                true,
                vec!["b.raiiaf", "a.raiiaf", "d.gen5", "c.raiiaf", "e.raiiaf"],
            ),
            // Descending: rows without a value still last.
            (SortColumn::Seed, false, vec!["b.raiiaf", "e.raiiaf", "a.raiiaf", "d.gen5", "c.raiiaf"]),
            (SortColumn::Model, false, vec!["a.raiiaf", "b.raiiaf", "d.gen5", "e.raiiaf", "c.raiiaf"]),
        ];
        for (column, ascending, expected) in cases {
            let shown = visible_rows(&rows, &RowFilter::default(), &column, ascending);
            assert_eq!(names(&rows, &shown), expected, "{column:?} ascending={ascending}");
        }
    }

    #[test]
    fn facets_count_values_and_missing_components() {
        let facets = Facets::of(&rows());
        assert_eq!(facets.problems.get("chunk.hash"), Some(&2));
        assert_eq!(facets.problems.get("header.magic"), Some(&1));
        assert_eq!(facets.models.get("sd15"), Some(&2));
        let torch = &facets.environment["torch"];
        assert_eq!(torch.get(&Some("version=2.5.1".to_string())), Some(&2));
        assert_eq!(torch.get(&Some("version=2.1.0".to_string())), Some(&1));
        assert_eq!(torch.get(&None), Some(&2));
        assert_eq!(facets.environment["numpy"].get(&None), None, "every file has numpy");
    }

    #[test]
    fn progress_texts() {
        assert_eq!(progress_text(0, 100, Duration::ZERO), "0 of 100 files");
        assert_eq!(progress_text(50, 100, Duration::from_secs(2)), "50 of 100 files · 25 files/s · about 2 s left");
        assert_eq!(
            progress_text(100, 10_000, Duration::from_secs(1)),
            "100 of 10000 files · 100 files/s · about 1 min 39 s left"
        );
        assert_eq!(progress_text(10, 10, Duration::from_secs(5)), "10 of 10 files · 2 files/s");
    }
}
