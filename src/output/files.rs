//! Writing files so that nothing half-written is ever seen: write a temporary file in the
//! same directory, flush it to disk, then rename it into place.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

/// Table formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated text.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
}

fn temporary(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `path` atomically through `write`.
///
/// # Errors
///
/// Any I/O error, with the path named; the target is then untouched.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<()> {
    let tmp = temporary(path);
    let result = (|| {
        let file = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut w = BufWriter::new(file);
        write(&mut w)?;
        w.flush()?;
        w.get_ref().sync_all()?;
        fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Writes `text` to `path` atomically (a page, a chart, a manifest, a small table).
///
/// # Errors
///
/// Any I/O error, with the path named; the target is then untouched.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, |w| Ok(w.write_all(text.as_bytes())?))
}

/// Writes a frame atomically in `format`.
///
/// # Errors
///
/// I/O or polars errors.
pub fn write_frame(df: &mut DataFrame, path: &Path, format: Format) -> Result<()> {
    write_atomic(path, |w| {
        match format {
            Format::Csv => write_csv_to(w, df)?,
            Format::Parquet => {
                ParquetWriter::new(w).finish(df)?;
            }
        }
        Ok(())
    })
}

/// Writes a frame as CSV (a header line, then the rows) to `w`: what [`write_frame`]
/// writes to a `.csv` file.
///
/// # Errors
///
/// I/O or polars errors.
pub fn write_csv_to(w: &mut impl Write, df: &mut DataFrame) -> Result<()> {
    CsvWriter::new(w).include_header(true).finish(df)?;
    Ok(())
}

/// Reads a table written by [`write_frame`].
///
/// # Errors
///
/// I/O or polars errors.
pub fn read_frame(path: &Path) -> Result<DataFrame> {
    let df = if path.extension().is_some_and(|e| e == "parquet") {
        ParquetReader::new(File::open(path).with_context(|| format!("cannot open {}", path.display()))?).finish()?
    } else {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(None)
            .try_into_reader_with_file_path(Some(path.to_path_buf()))?
            .finish()?
    };
    Ok(df)
}

/// Concatenates frames (read one at a time) into one file of `format`, atomically.
///
/// # Errors
///
/// I/O or polars errors, or frames whose columns differ.
pub fn concat_files(parts: &[PathBuf], path: &Path, format: Format) -> Result<()> {
    write_atomic(path, |w| {
        let Some(first) = parts.first() else { return Ok(()) };
        let schema = read_frame(first)?.schema().as_ref().clone();
        match format {
            Format::Csv => {
                let mut writer = CsvWriter::new(w).include_header(true).batched(&schema)?;
                for p in parts {
                    writer.write_batch(&read_frame(p)?)?;
                }
                writer.finish()?;
            }
            Format::Parquet => {
                let writer = ParquetWriter::new(w).batched(&schema)?;
                let mut writer = writer;
                for p in parts {
                    writer.write_batch(&read_frame(p)?)?;
                }
                writer.finish()?;
            }
        }
        Ok(())
    })
}
