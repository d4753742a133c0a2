//! Which axes of an N-D tensor a grid of 2-D heatmaps shows, and reading slices through them.
//!
//! A mapping names the height axis, the width axis and optionally a channel axis (one heatmap
//! per index along it); every other axis is fixed at a chosen index (a slider in the UI).
//!
//! [`AxisMapping`] is what the user edits and what is kept between frames; it may not fit the
//! tensor on screen (the user switched latents). [`SliceSelection`] is a mapping checked against
//! one shape, and the only thing slices are read through, so reading never trusts an unchecked
//! axis or index.

use crate::format::latent::element_count;

/// The roles an axis can play in a heatmap grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AxisRole {
    Height,
    Width,
    Channel,
    /// Fixed at one index (a slider).
    Fixed,
}

impl AxisRole {
    /// As the axis controls say it.
    pub fn name(self) -> &'static str {
        match self {
            AxisRole::Height => "height",
            AxisRole::Width => "width",
            AxisRole::Channel => "channels",
            AxisRole::Fixed => "slider",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AxisMapping {
    /// `None` only for 1-D tensors, which show as a single row.
    pub height: Option<usize>,
    pub width: usize,
    pub channel: Option<usize>,
    /// One index per axis; only the fixed axes' entries are used.
    pub indices: Vec<usize>,
}

/// Why a mapping does not fit a shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("axis {axis} ({}) is outside a {rank}-D tensor", role.name())]
    AxisOutsideShape { role: AxisRole, axis: usize, rank: usize },
    #[error("axis {axis} is given two roles")]
    AxisTwice { axis: usize },
    #[error("a {rank}-D tensor needs a height axis")]
    HeightMissing { rank: usize },
    #[error("a {rank}-D tensor has no height axis to give")]
    HeightUnexpected { rank: usize },
    #[error("the mapping has {actual} indices for a {expected}-D tensor")]
    IndexCount { expected: usize, actual: usize },
    #[error("index {index} is outside axis {axis}, of length {length}")]
    IndexOutsideAxis { axis: usize, index: usize, length: usize },
    #[error("the shape {shape:?} holds more elements than can be addressed")]
    TooManyElements { shape: Vec<usize> },
}

/// C-order strides, in elements (saturating: a shape that overflows is refused elsewhere).
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut strides: Vec<usize> = shape
        .iter()
        .rev()
        .scan(1usize, |next, &length| {
            let stride = *next;
            *next = next.saturating_mul(length);
            Some(stride)
        })
        .collect();
    strides.reverse();
    strides
}

impl AxisMapping {
    /// Height and width are the last two axes and channels the one before them, which is how
    /// latents are laid out (batch, channel, height, width) and (batch, frame, channel, h, w)
    /// alike only differ in their leading axes. Fits every shape.
    pub fn default_for(shape: &[usize]) -> AxisMapping {
        let rank = shape.len();
        let indices = vec![0; rank];
        match rank {
            0 | 1 => AxisMapping { height: None, width: 0, channel: None, indices },
            2 => AxisMapping { height: Some(0), width: 1, channel: None, indices },
            _ => AxisMapping { height: Some(rank - 2), width: rank - 1, channel: Some(rank - 3), indices },
        }
    }

    /// Whether every axis named is inside `shape`, no axis plays two roles, a height axis is
    /// named exactly when the tensor has two axes or more, and every fixed index is inside its
    /// axis. (A rank-0 tensor's one value shows as a 1x1 slice through "axis 0".)
    pub fn check(&self, shape: &[usize]) -> Result<(), MappingError> {
        let rank = shape.len();
        let named =
            [(AxisRole::Height, self.height), (AxisRole::Width, Some(self.width)), (AxisRole::Channel, self.channel)];
        let named: Vec<(AxisRole, usize)> = named.into_iter().filter_map(|(role, axis)| Some((role, axis?))).collect();
        if let Some(&(role, axis)) = named.iter().find(|(_, axis)| *axis >= rank.max(1)) {
            return Err(MappingError::AxisOutsideShape { role, axis, rank });
        }
        for (position, (_, axis)) in named.iter().enumerate() {
            if named.iter().take(position).any(|(_, earlier)| earlier == axis) {
                return Err(MappingError::AxisTwice { axis: *axis });
            }
        }
        match (rank >= 2, self.height.is_some()) {
            (true, false) => return Err(MappingError::HeightMissing { rank }),
            (false, true) => return Err(MappingError::HeightUnexpected { rank }),
            _ => {}
        }
        if self.indices.len() != rank {
            return Err(MappingError::IndexCount { expected: rank, actual: self.indices.len() });
        }
        // A zero-length axis accepts index 0: nothing is drawn from it either way.
        if let Some((axis, (index, length))) = self
            .indices
            .iter()
            .copied()
            .zip(shape.iter().copied())
            .enumerate()
            .find(|&(_, (index, length))| index >= length.max(1))
        {
            return Err(MappingError::IndexOutsideAxis { axis, index, length });
        }
        if element_count(shape).is_none() {
            return Err(MappingError::TooManyElements { shape: shape.to_vec() });
        }
        Ok(())
    }

    pub fn role_of(&self, axis: usize) -> AxisRole {
        if self.height == Some(axis) {
            AxisRole::Height
        } else if self.width == axis {
            AxisRole::Width
        } else if self.channel == Some(axis) {
            AxisRole::Channel
        } else {
            AxisRole::Fixed
        }
    }

    /// Gives `axis` the role `role`; the axis that had that role takes `axis`'s old role, so
    /// the mapping stays valid (choosing width = 1 when height is 1 swaps them).
    pub fn assign(&mut self, axis: usize, role: AxisRole) {
        let old_role = self.role_of(axis);
        if old_role == role {
            return;
        }
        let previous_holder = match role {
            AxisRole::Height => self.height,
            AxisRole::Width => Some(self.width),
            AxisRole::Channel => self.channel,
            AxisRole::Fixed => None,
        };
        // Height and width must always name an axis: giving theirs a role nobody hands back
        // (a slider, or an unused channel role) is refused.
        if matches!(old_role, AxisRole::Height | AxisRole::Width) && previous_holder.is_none() {
            return;
        }
        self.set_role(role, Some(axis));
        match (old_role, previous_holder) {
            (AxisRole::Fixed, _) => {}
            (old, Some(holder)) => self.set_role(old, Some(holder)),
            (old, None) => self.set_role(old, None),
        }
    }

    fn set_role(&mut self, role: AxisRole, axis: Option<usize>) {
        match role {
            AxisRole::Height => self.height = axis,
            AxisRole::Width => {
                if let Some(axis) = axis {
                    self.width = axis
                }
            }
            AxisRole::Channel => self.channel = axis,
            AxisRole::Fixed => {}
        }
    }

    /// Axes fixed at one index, in order (the sliders).
    pub fn fixed_axes(&self, rank: usize) -> Vec<usize> {
        (0..rank).filter(|&a| self.role_of(a) == AxisRole::Fixed).collect()
    }
}

/// An [`AxisMapping`] checked against one shape (see [`AxisMapping::check`]), with the shape's
/// strides. Every axis it names and every index it holds is inside the shape, and the shape's
/// element count fits a `usize`, so positions inside a slice are computed without overflow.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceSelection {
    mapping: AxisMapping,
    shape: Vec<usize>,
    strides: Vec<usize>,
}

impl SliceSelection {
    pub fn new(mapping: &AxisMapping, shape: &[usize]) -> Result<SliceSelection, MappingError> {
        mapping.check(shape)?;
        Ok(SliceSelection { mapping: mapping.clone(), shape: shape.to_vec(), strides: strides(shape) })
    }

    /// The default mapping for `shape` (see [`AxisMapping::default_for`]); `None` only for a
    /// shape whose element count overflows.
    pub fn default_for(shape: &[usize]) -> Option<SliceSelection> {
        SliceSelection::new(&AxisMapping::default_for(shape), shape).ok()
    }

    /// `mapping` carried over to `shape`: kept when it still fits (fixed indices clamped into
    /// range), otherwise the default for that shape. Lets a user switch between latents of the
    /// same layout without losing their choice. `None` only for a shape whose element count
    /// overflows, which no decoded latent has.
    pub fn adapted(mapping: &AxisMapping, shape: &[usize]) -> Option<SliceSelection> {
        let mut adapted = mapping.clone();
        if adapted.indices.len() == shape.len() {
            for (index, &length) in adapted.indices.iter_mut().zip(shape) {
                *index = (*index).min(length.saturating_sub(1));
            }
        }
        SliceSelection::new(&adapted, shape).ok().or_else(|| SliceSelection::default_for(shape))
    }

    pub fn mapping(&self) -> &AxisMapping {
        &self.mapping
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn length(&self, axis: Option<usize>) -> usize {
        axis.and_then(|a| self.shape.get(a).copied()).unwrap_or(1)
    }

    fn stride(&self, axis: Option<usize>) -> usize {
        axis.and_then(|a| self.strides.get(a).copied()).unwrap_or(0)
    }

    /// One heatmap per index along the channel axis, or one when there is none.
    pub fn channel_count(&self) -> usize {
        self.length(self.mapping.channel)
    }

    /// (height, width) of one heatmap.
    pub fn slice_size(&self) -> (usize, usize) {
        (self.length(self.mapping.height), self.length(Some(self.mapping.width)))
    }

    /// The full index tuple of pixel (y, x) of channel `channel`'s heatmap; `None` outside it.
    pub fn index_tuple(&self, channel: usize, y: usize, x: usize) -> Option<Vec<usize>> {
        let (height, width) = self.slice_size();
        if channel >= self.channel_count() || y >= height || x >= width {
            return None;
        }
        let mut tuple = self.mapping.indices.clone();
        for (axis, value) in [(self.mapping.height, y), (Some(self.mapping.width), x), (self.mapping.channel, channel)]
        {
            if let Some(slot) = axis.and_then(|a| tuple.get_mut(a)) {
                *slot = value;
            }
        }
        Some(tuple)
    }

    /// The C-order position of pixel (y, x) of channel `channel`; `None` outside the slice.
    pub fn flat_index(&self, channel: usize, y: usize, x: usize) -> Option<usize> {
        // In range, every product and sum stays below the element count, which fits (checked).
        Some(self.index_tuple(channel, y, x)?.iter().zip(&self.strides).map(|(i, s)| i * s).sum())
    }

    /// The values of channel `channel`'s heatmap, row by row. `values` is the whole tensor in
    /// C order; `value_at` reads one element (so f16 and f32 storage share this). Elements
    /// `values` lacks read as NaN.
    pub fn slice<T>(&self, values: &[T], channel: usize, value_at: impl Fn(&T) -> f32) -> Vec<f32> {
        self.slice_sampled(values, channel, 1, value_at)
    }

    /// Every `step`-th row and column of channel `channel`'s heatmap (nearest-neighbour
    /// downsampling, for display of slices larger than a screen): `ceil(h/step) x ceil(w/step)`.
    pub fn slice_sampled<T>(
        &self,
        values: &[T],
        channel: usize,
        step: usize,
        value_at: impl Fn(&T) -> f32,
    ) -> Vec<f32> {
        self.slice_positions(channel, step).map(|index| values.get(index).map_or(f32::NAN, &value_at)).collect()
    }

    /// The C-order position of every `step`-th element (rows and columns) of channel
    /// `channel`'s heatmap, row by row; nothing for a channel outside the tensor.
    pub fn slice_positions(&self, channel: usize, step: usize) -> impl Iterator<Item = usize> + use<> {
        let step = step.max(1);
        let origin = self.flat_index(channel, 0, 0);
        let (height, width) = if origin.is_some() { self.slice_size() } else { (0, 0) };
        let origin = origin.unwrap_or(0);
        let row_stride = self.stride(self.mapping.height);
        let column_stride = self.stride(Some(self.mapping.width));
        (0..height)
            .step_by(step)
            .flat_map(move |y| (0..width).step_by(step).map(move |x| origin + y * row_stride + x * column_stride))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_are_c_order() {
        let cases: &[(&[usize], &[usize])] =
            &[(&[], &[]), (&[5], &[1]), (&[2, 3], &[3, 1]), (&[1, 4, 8, 16], &[512, 128, 16, 1])];
        for (shape, expected) in cases {
            assert_eq!(strides(shape), *expected, "shape {shape:?}");
        }
    }

    #[test]
    fn default_mapping_per_rank() {
        // (shape, height, width, channel, fixed axes)
        type Case = (&'static [usize], Option<usize>, usize, Option<usize>, &'static [usize]);
        let cases: &[Case] = &[
            (&[7], None, 0, None, &[]),
            (&[3, 5], Some(0), 1, None, &[]),
            (&[4, 3, 5], Some(1), 2, Some(0), &[]),
            (&[1, 4, 64, 64], Some(2), 3, Some(1), &[0]),
            (&[1, 16, 4, 32, 32], Some(3), 4, Some(2), &[0, 1]),
            (&[2, 2, 2, 2, 2, 2, 2, 2], Some(6), 7, Some(5), &[0, 1, 2, 3, 4]),
        ];
        for &(shape, height, width, channel, fixed) in cases {
            let mapping = AxisMapping::default_for(shape);
            assert_eq!((mapping.height, mapping.width, mapping.channel), (height, width, channel), "{shape:?}");
            assert_eq!(mapping.fixed_axes(shape.len()), fixed, "{shape:?}");
            assert_eq!(mapping.check(shape), Ok(()), "{shape:?}");
        }
    }

    #[test]
    fn slices_read_the_right_elements() {
        // A 2x3x4x5 tensor whose value is its own C-order position.
        let shape = [2usize, 3, 4, 5];
        let values: Vec<f32> = (0..120).map(|i| i as f32).collect();
        let mut mapping = AxisMapping::default_for(&shape);
        mapping.indices[0] = 1;
        let selection = SliceSelection::new(&mapping, &shape).unwrap();
        // (channel, y, x) -> 1*60 + c*20 + y*5 + x
        for (channel, y, x) in [(0, 0, 0), (2, 3, 4), (1, 2, 0)] {
            let slice = selection.slice(&values, channel, |v| *v);
            assert_eq!(slice.len(), 20);
            let expected = 60 + channel * 20 + y * 5 + x;
            assert_eq!(slice[y * 5 + x], expected as f32);
            assert_eq!(selection.flat_index(channel, y, x), Some(expected));
            assert_eq!(selection.index_tuple(channel, y, x), Some(vec![1, channel, y, x]));
        }
        // Outside the slice or past the last channel there is no element.
        for (channel, y, x) in [(3, 0, 0), (0, 4, 0), (0, 0, 5)] {
            assert_eq!(selection.flat_index(channel, y, x), None, "({channel}, {y}, {x})");
            assert_eq!(selection.slice(&values, channel, |v| *v).len(), if channel < 3 { 20 } else { 0 });
        }
        // Transposed: height = last axis, width = axis 2; channels along axis 0.
        let mut transposed = AxisMapping::default_for(&shape);
        transposed.assign(3, AxisRole::Height);
        transposed.assign(0, AxisRole::Channel);
        assert_eq!((transposed.height, transposed.width, transposed.channel), (Some(3), 2, Some(0)));
        assert_eq!(transposed.fixed_axes(4), vec![1]);
        transposed.indices[1] = 2;
        let transposed = SliceSelection::new(&transposed, &shape).unwrap();
        let slice = transposed.slice(&values, 1, |v| *v);
        assert_eq!(transposed.slice_size(), (5, 4));
        // pixel (y=4, x=3) of channel 1 -> index (1, 2, 3, 4)
        assert_eq!(slice[4 * 4 + 3], (60 + 40 + 15 + 4) as f32);
    }

    #[test]
    fn sampled_slices_take_every_step_th_row_and_column() {
        let shape = [1usize, 2, 5, 7];
        let values: Vec<f32> = (0..70).map(|i| i as f32).collect();
        let mapping = SliceSelection::new(&AxisMapping::default_for(&shape), &shape).unwrap();
        let full = mapping.slice(&values, 1, |v| *v);
        // (step, expected rows, expected columns)
        for (step, rows, columns) in [(1usize, 5usize, 7usize), (2, 3, 4), (3, 2, 3), (10, 1, 1)] {
            let sampled = mapping.slice_sampled(&values, 1, step, |v| *v);
            let expected: Vec<f32> = (0..rows)
                .flat_map(|r| (0..columns).map(move |c| (r * step, c * step)))
                .map(|(y, x)| full[y * 7 + x])
                .collect();
            assert_eq!(sampled, expected, "step {step}");
        }
    }

    #[test]
    fn one_dimensional_tensors_show_as_a_row() {
        let mapping = SliceSelection::new(&AxisMapping::default_for(&[6]), &[6]).unwrap();
        let values = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(mapping.slice_size(), (1, 6));
        assert_eq!(mapping.slice(&values, 0, |v| *v), values.to_vec());
        assert_eq!(mapping.index_tuple(0, 0, 4), Some(vec![4]));
        // A rank-0 tensor is one value, shown as a 1x1 slice.
        let scalar = SliceSelection::new(&AxisMapping::default_for(&[]), &[]).unwrap();
        assert_eq!((scalar.slice_size(), scalar.channel_count()), ((1, 1), 1));
        assert_eq!(scalar.slice(&[7.5f32], 0, |v| *v), vec![7.5]);
    }

    #[test]
    fn assigning_a_taken_role_swaps() {
        let shape = [1usize, 4, 8, 16];
        // (axis, role) -> (height, width, channel)
        type Case = (usize, AxisRole, (Option<usize>, usize, Option<usize>));
        let cases: &[Case] = &[
            (3, AxisRole::Height, (Some(3), 2, Some(1))),
            (2, AxisRole::Width, (Some(3), 2, Some(1))),
            (1, AxisRole::Height, (Some(1), 3, Some(2))),
            (0, AxisRole::Channel, (Some(2), 3, Some(0))),
            (1, AxisRole::Fixed, (Some(2), 3, None)),
            (3, AxisRole::Fixed, (Some(2), 3, Some(1))), // width cannot become a slider
            (2, AxisRole::Fixed, (Some(2), 3, Some(1))), // nor height
        ];
        for &(axis, role, expected) in cases {
            let mut mapping = AxisMapping::default_for(&shape);
            mapping.assign(axis, role);
            assert_eq!((mapping.height, mapping.width, mapping.channel), expected, "axis {axis} -> {role:?}");
            assert_eq!(mapping.check(&shape), Ok(()), "axis {axis} -> {role:?}");
        }
    }

    #[test]
    fn mappings_carry_over_between_shapes() {
        let mut mapping = AxisMapping::default_for(&[2, 16, 4, 32, 32]);
        mapping.indices = vec![1, 9, 0, 0, 0];
        // Same rank, fewer frames: the frame index is clamped, the rest kept.
        let carried = SliceSelection::adapted(&mapping, &[2, 4, 4, 32, 32]).unwrap();
        assert_eq!(carried.mapping().indices, vec![1, 3, 0, 0, 0]);
        assert_eq!(carried.mapping().channel, Some(2));
        // A different rank falls back to that rank's default.
        let other_rank = SliceSelection::adapted(&mapping, &[1, 4, 64, 64]).unwrap();
        assert_eq!(other_rank.mapping(), &AxisMapping::default_for(&[1, 4, 64, 64]));
        // A hand-made invalid mapping (two roles on one axis) is replaced.
        let broken = AxisMapping { height: Some(1), width: 1, channel: None, indices: vec![0; 3] };
        assert_eq!(broken.check(&[2, 3, 4]), Err(MappingError::AxisTwice { axis: 1 }));
        let replaced = SliceSelection::adapted(&broken, &[2, 3, 4]).unwrap();
        assert_eq!(replaced.mapping(), &AxisMapping::default_for(&[2, 3, 4]));
        // Only a shape whose element count overflows has no selection at all.
        assert_eq!(SliceSelection::adapted(&broken, &[usize::MAX, 2, 2]), None);
    }

    #[test]
    fn mappings_that_do_not_fit_say_why() {
        let shape = [1usize, 4, 8, 16];
        let mapping = |height: Option<usize>, width: usize, channel: Option<usize>, indices: Vec<usize>| AxisMapping {
            height,
            width,
            channel,
            indices,
        };
        let cases: Vec<(AxisMapping, &[usize], MappingError)> = vec![
            (
                mapping(Some(2), 4, Some(1), vec![0; 4]),
                &shape,
                MappingError::AxisOutsideShape { role: AxisRole::Width, axis: 4, rank: 4 },
            ),
            (mapping(Some(2), 2, Some(1), vec![0; 4]), &shape, MappingError::AxisTwice { axis: 2 }),
            (mapping(Some(2), 3, Some(3), vec![0; 4]), &shape, MappingError::AxisTwice { axis: 3 }),
            (mapping(None, 3, Some(1), vec![0; 4]), &shape, MappingError::HeightMissing { rank: 4 }),
            (mapping(Some(0), 0, None, vec![0]), &[5], MappingError::AxisTwice { axis: 0 }),
            (
                mapping(Some(1), 0, None, vec![0]),
                &[5],
                MappingError::AxisOutsideShape { role: AxisRole::Height, axis: 1, rank: 1 },
            ),
            (mapping(None, 0, None, vec![]), &[5], MappingError::IndexCount { expected: 1, actual: 0 }),
            (
                mapping(Some(2), 3, Some(1), vec![1, 0, 0, 0]),
                &shape,
                MappingError::IndexOutsideAxis { axis: 0, index: 1, length: 1 },
            ),
            (
                mapping(Some(1), 2, None, vec![0; 3]),
                &[usize::MAX, 2, 2],
                MappingError::TooManyElements { shape: vec![usize::MAX, 2, 2] },
            ),
        ];
        for (mapping, shape, expected) in cases {
            assert_eq!(mapping.check(shape), Err(expected.clone()), "{mapping:?} on {shape:?}");
            assert_eq!(SliceSelection::new(&mapping, shape).err(), Some(expected), "{mapping:?} on {shape:?}");
        }
        // A zero-length axis still takes index 0 (the slice is empty, not invalid).
        assert_eq!(AxisMapping::default_for(&[1, 4, 0, 8]).check(&[1, 4, 0, 8]), Ok(()));
        let message = MappingError::AxisOutsideShape { role: AxisRole::Width, axis: 4, rank: 4 }.to_string();
        assert_eq!(message, "axis 4 (width) is outside a 4-D tensor");
    }
}
