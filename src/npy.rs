//! `.npy` files in and out, through the `npyz` crate.

use half::f16;
use npyz::WriterBuilder;

use crate::format::{Latent, LatentValues};

/// A tensor read from a `.npy` file, ready to pack.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyTensor {
    pub shape: Vec<usize>,
    pub values: LatentValues,
    /// Conversions made on the way in that the user should know about.
    pub notes: Vec<String>,
}

/// A file name made from a latent key: letters, digits, `-`, `_` and `.` kept, the rest `_`.
pub fn safe_file_stem(key: &str) -> String {
    let stem: String =
        key.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect();
    let stem = stem.trim_start_matches('.');
    if stem.is_empty() { "latent".into() } else { stem.to_string() }
}

/// Largest `.npy` this program loads: the format library's default latent limit.
const MAX_NPY_ELEMENTS: u64 = 1 << 28;

/// Reads float16/32/64 arrays in either byte order and either memory order; float64 becomes
/// float32 (noted), Fortran order becomes C order.
pub fn read_npy(bytes: &[u8]) -> Result<NpyTensor, String> {
    let npy = npyz::NpyFile::new(bytes).map_err(|e| format!("not a readable .npy file: {e}"))?;
    let shape_u64 = npy.shape().to_vec();
    let elements = shape_u64.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d)).unwrap_or(u64::MAX);
    if elements > MAX_NPY_ELEMENTS {
        return Err(format!("array of shape {shape_u64:?} is over the limit of {MAX_NPY_ELEMENTS} values"));
    }
    let shape: Vec<usize> = shape_u64.iter().map(|&d| d as usize).collect();
    let fortran = npy.order() == npyz::Order::Fortran;
    let npyz::DType::Plain(type_str) = npy.dtype() else {
        return Err("structured .npy arrays are not latents".into());
    };
    let mut notes = Vec::new();
    let io = |e: std::io::Error| format!("could not read the array data: {e}");
    let values = match (type_str.type_char(), type_str.size_field()) {
        (npyz::TypeChar::Float, 2) => LatentValues::F16(npy.into_vec::<f16>().map_err(io)?),
        (npyz::TypeChar::Float, 4) => LatentValues::F32(npy.into_vec::<f32>().map_err(io)?),
        (npyz::TypeChar::Float, 8) => {
            notes.push("float64 array stored as float32 (the format stores float16 or float32)".into());
            LatentValues::F32(npy.into_vec::<f64>().map_err(io)?.into_iter().map(|x| x as f32).collect())
        }
        _ => return Err(format!("dtype {type_str} is not float16, float32 or float64")),
    };
    let values = if fortran && shape.len() > 1 {
        notes.push("Fortran-order array converted to C order".into());
        to_c_order(&shape, values)?
    } else {
        values
    };
    Ok(NpyTensor { shape, values, notes })
}

fn to_c_order(shape: &[usize], values: LatentValues) -> Result<LatentValues, String> {
    use ndarray::{ArrayD, IxDyn, ShapeBuilder};
    fn convert<T: Clone>(shape: &[usize], data: Vec<T>) -> Result<Vec<T>, String> {
        let array = ArrayD::from_shape_vec(IxDyn(shape).f(), data).map_err(|e| e.to_string())?;
        Ok(array.as_standard_layout().iter().cloned().collect())
    }
    Ok(match values {
        LatentValues::F32(v) => LatentValues::F32(convert(shape, v)?),
        LatentValues::F16(v) => LatentValues::F16(convert(shape, v)?),
    })
}

/// A latent as `.npy` bytes in its stored dtype, C order.
pub fn write_npy(latent: &Latent) -> std::io::Result<Vec<u8>> {
    let shape: Vec<u64> = latent.shape.iter().map(|&d| d as u64).collect();
    let mut out = Vec::new();
    match &latent.values {
        LatentValues::F32(values) => {
            let mut writer = npyz::WriteOptions::new().default_dtype().shape(&shape).writer(&mut out).begin_nd()?;
            writer.extend(values.iter().copied())?;
            writer.finish()?;
        }
        LatentValues::F16(values) => {
            let mut writer = npyz::WriteOptions::new().default_dtype().shape(&shape).writer(&mut out).begin_nd()?;
            writer.extend(values.iter().copied())?;
            writer.finish()?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_npy_reads_back_identically() {
        for values in
            [LatentValues::F32(vec![1.0, -2.5, 3.25, 0.0, 7.0, -0.0]), LatentValues::F32(vec![0.5; 6]).to_f16()]
        {
            let latent = Latent::new("x", vec![2, 3], values.clone()).unwrap();
            let tensor = read_npy(&write_npy(&latent).unwrap()).unwrap();
            assert_eq!(tensor.shape, vec![2, 3]);
            assert_eq!(tensor.values, values);
            assert!(tensor.notes.is_empty());
        }
    }

    #[test]
    fn fortran_order_is_transposed_to_c_order() {
        // A 2x3 array [[0,1,2],[3,4,5]] stored column-major is 0,3,1,4,2,5.
        let mut bytes = Vec::new();
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[2, 3])
            .order(npyz::Order::Fortran)
            .writer(&mut bytes)
            .begin_nd()
            .unwrap();
        writer.extend([0.0f64, 3.0, 1.0, 4.0, 2.0, 5.0]).unwrap();
        writer.finish().unwrap();
        let tensor = read_npy(&bytes).unwrap();
        assert_eq!(tensor.values, LatentValues::F32(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]));
        assert_eq!(tensor.notes.len(), 2, "{:?}", tensor.notes);
    }

    #[test]
    fn integer_arrays_are_refused() {
        let mut bytes = Vec::new();
        let mut writer = npyz::WriteOptions::new().default_dtype().shape(&[2]).writer(&mut bytes).begin_nd().unwrap();
        writer.extend([1i32, 2]).unwrap();
        writer.finish().unwrap();
        assert!(read_npy(&bytes).unwrap_err().contains("not float16"));
    }
}
