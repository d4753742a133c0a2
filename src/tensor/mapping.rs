//! Which axes of an N-D tensor a grid of 2-D heatmaps shows, and reading slices through them.
//!
//! A mapping names the height axis, the width axis and optionally a channel axis (one heatmap
//! per index along it); every other axis is fixed at a chosen index (a slider in the UI).

#![allow(
    clippy::indexing_slicing,
    reason = "axis positions come from shapes validated by `is_valid_for`; table-tested"
)]

/// The roles an axis can play in a heatmap grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AxisRole {
    Height,
    Width,
    Channel,
    /// Fixed at one index (a slider).
    Fixed,
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

/// C-order strides, in elements.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1usize; shape.len()];
    for axis in (0..shape.len().saturating_sub(1)).rev() {
        strides[axis] = strides[axis + 1].saturating_mul(shape[axis + 1]);
    }
    strides
}

impl AxisMapping {
    /// Height and width are the last two axes and channels the one before them, which is how
    /// latents are laid out (batch, channel, height, width) and (batch, frame, channel, h, w)
    /// alike only differ in their leading axes.
    pub fn default_for(shape: &[usize]) -> AxisMapping {
        let rank = shape.len();
        let indices = vec![0; rank];
        match rank {
            0 | 1 => AxisMapping { height: None, width: 0, channel: None, indices },
            2 => AxisMapping { height: Some(0), width: 1, channel: None, indices },
            _ => AxisMapping { height: Some(rank - 2), width: rank - 1, channel: Some(rank - 3), indices },
        }
    }

    /// Whether every axis named is inside `shape`, no axis plays two roles, and every fixed
    /// index is inside its axis.
    pub fn is_valid_for(&self, shape: &[usize]) -> bool {
        let rank = shape.len();
        let named: Vec<usize> = self.height.into_iter().chain([self.width]).chain(self.channel).collect();
        let distinct = named.iter().enumerate().all(|(i, a)| !named[..i].contains(a));
        let height_needed = rank >= 2 && self.height.is_some() || rank < 2 && self.height.is_none();
        distinct
            && height_needed
            && named.iter().all(|&a| a < rank.max(1))
            && self.indices.len() == rank
            && self.indices.iter().zip(shape).all(|(&i, &n)| i < n.max(1))
    }

    /// This mapping carried over to another shape: kept when it still fits (fixed indices
    /// clamped into range), otherwise the default for that shape. Lets a user switch between
    /// latents of the same layout without losing their choice.
    pub fn adapted_to(&self, shape: &[usize]) -> AxisMapping {
        let mut adapted = self.clone();
        if adapted.indices.len() == shape.len() {
            for (index, &n) in adapted.indices.iter_mut().zip(shape) {
                *index = (*index).min(n.saturating_sub(1));
            }
        }
        if adapted.is_valid_for(shape) { adapted } else { AxisMapping::default_for(shape) }
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

    pub fn channel_count(&self, shape: &[usize]) -> usize {
        self.channel.and_then(|a| shape.get(a).copied()).unwrap_or(1)
    }

    /// (height, width) of one heatmap.
    pub fn slice_size(&self, shape: &[usize]) -> (usize, usize) {
        let height = self.height.and_then(|a| shape.get(a).copied()).unwrap_or(1);
        (height, shape.get(self.width).copied().unwrap_or(1))
    }

    /// The full index tuple of pixel (y, x) of channel `channel`'s heatmap.
    pub fn index_tuple(&self, shape: &[usize], channel: usize, y: usize, x: usize) -> Vec<usize> {
        let mut tuple = self.indices.clone();
        tuple.resize(shape.len(), 0);
        if let Some(axis) = self.height {
            tuple[axis] = y;
        }
        if let Some(slot) = tuple.get_mut(self.width) {
            *slot = x;
        }
        if let Some(axis) = self.channel {
            tuple[axis] = channel;
        }
        tuple
    }

    /// The C-order position of pixel (y, x) of channel `channel`.
    pub fn flat_index(&self, shape: &[usize], channel: usize, y: usize, x: usize) -> usize {
        self.index_tuple(shape, channel, y, x).iter().zip(strides(shape)).map(|(i, s)| i * s).sum()
    }

    /// The values of channel `channel`'s heatmap, row by row. `values` is the whole tensor in
    /// C order; `value_at` reads one element (so f16 and f32 storage share this).
    pub fn slice<T>(&self, shape: &[usize], values: &[T], channel: usize, value_at: impl Fn(&T) -> f32) -> Vec<f32> {
        self.slice_sampled(shape, values, channel, 1, value_at)
    }

    /// Every `step`-th row and column of channel `channel`'s heatmap (nearest-neighbour
    /// downsampling, for display of slices larger than a screen): `ceil(h/step) x ceil(w/step)`.
    pub fn slice_sampled<T>(
        &self,
        shape: &[usize],
        values: &[T],
        channel: usize,
        step: usize,
        value_at: impl Fn(&T) -> f32,
    ) -> Vec<f32> {
        let positions = self.slice_positions(shape, channel, step);
        positions.map(|index| values.get(index).map_or(f32::NAN, &value_at)).collect()
    }

    /// The C-order position of every `step`-th element (rows and columns) of channel
    /// `channel`'s heatmap, row by row.
    pub fn slice_positions(&self, shape: &[usize], channel: usize, step: usize) -> impl Iterator<Item = usize> {
        let step = step.max(1);
        let (height, width) = self.slice_size(shape);
        let strides = strides(shape);
        let origin = self.flat_index(shape, channel, 0, 0);
        let row_stride = self.height.map_or(0, |a| strides[a]);
        let column_stride = strides.get(self.width).copied().unwrap_or(1);
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
            assert!(mapping.is_valid_for(shape), "{shape:?}");
        }
    }

    #[test]
    fn slices_read_the_right_elements() {
        // A 2x3x4x5 tensor whose value is its own C-order position.
        let shape = [2usize, 3, 4, 5];
        let values: Vec<f32> = (0..120).map(|i| i as f32).collect();
        let mut mapping = AxisMapping::default_for(&shape);
        mapping.indices[0] = 1;
        // (channel, y, x) -> 1*60 + c*20 + y*5 + x
        for (channel, y, x) in [(0, 0, 0), (2, 3, 4), (1, 2, 0)] {
            let slice = mapping.slice(&shape, &values, channel, |v| *v);
            assert_eq!(slice.len(), 20);
            let expected = (60 + channel * 20 + y * 5 + x) as f32;
            assert_eq!(slice[y * 5 + x], expected);
            assert_eq!(mapping.flat_index(&shape, channel, y, x) as f32, expected);
            assert_eq!(mapping.index_tuple(&shape, channel, y, x), vec![1, channel, y, x]);
        }
        // Transposed: height = last axis, width = axis 2; channels along axis 0.
        let mut transposed = AxisMapping::default_for(&shape);
        transposed.assign(3, AxisRole::Height);
        transposed.assign(0, AxisRole::Channel);
        assert_eq!((transposed.height, transposed.width, transposed.channel), (Some(3), 2, Some(0)));
        assert_eq!(transposed.fixed_axes(4), vec![1]);
        transposed.indices[1] = 2;
        let slice = transposed.slice(&shape, &values, 1, |v| *v);
        assert_eq!(transposed.slice_size(&shape), (5, 4));
        // pixel (y=4, x=3) of channel 1 -> index (1, 2, 3, 4)
        assert_eq!(slice[4 * 4 + 3], (60 + 40 + 15 + 4) as f32);
    }

    #[test]
    fn sampled_slices_take_every_step_th_row_and_column() {
        let shape = [1usize, 2, 5, 7];
        let values: Vec<f32> = (0..70).map(|i| i as f32).collect();
        let mapping = AxisMapping::default_for(&shape);
        let full = mapping.slice(&shape, &values, 1, |v| *v);
        // (step, expected rows, expected columns)
        for (step, rows, columns) in [(1usize, 5usize, 7usize), (2, 3, 4), (3, 2, 3), (10, 1, 1)] {
            let sampled = mapping.slice_sampled(&shape, &values, 1, step, |v| *v);
            let expected: Vec<f32> = (0..rows)
                .flat_map(|r| (0..columns).map(move |c| (r * step, c * step)))
                .map(|(y, x)| full[y * 7 + x])
                .collect();
            assert_eq!(sampled, expected, "step {step}");
        }
    }

    #[test]
    fn one_dimensional_tensors_show_as_a_row() {
        let mapping = AxisMapping::default_for(&[6]);
        let values = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(mapping.slice_size(&[6]), (1, 6));
        assert_eq!(mapping.slice(&[6], &values, 0, |v| *v), values.to_vec());
        assert_eq!(mapping.index_tuple(&[6], 0, 0, 4), vec![4]);
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
            assert!(mapping.is_valid_for(&shape), "axis {axis} -> {role:?}");
        }
    }

    #[test]
    fn mappings_carry_over_between_shapes() {
        let mut mapping = AxisMapping::default_for(&[2, 16, 4, 32, 32]);
        mapping.indices = vec![1, 9, 0, 0, 0];
        // Same rank, fewer frames: the frame index is clamped, the rest kept.
        let carried = mapping.adapted_to(&[2, 4, 4, 32, 32]);
        assert_eq!(carried.indices, vec![1, 3, 0, 0, 0]);
        assert_eq!(carried.channel, Some(2));
        // A different rank falls back to that rank's default.
        assert_eq!(mapping.adapted_to(&[1, 4, 64, 64]), AxisMapping::default_for(&[1, 4, 64, 64]));
        // A hand-made invalid mapping (two roles on one axis) is replaced.
        let broken = AxisMapping { height: Some(1), width: 1, channel: None, indices: vec![0; 3] };
        assert!(!broken.is_valid_for(&[2, 3, 4]));
        assert_eq!(broken.adapted_to(&[2, 3, 4]), AxisMapping::default_for(&[2, 3, 4]));
    }
}
