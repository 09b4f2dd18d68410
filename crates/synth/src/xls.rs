//! Legacy Excel 97–2003 workbooks (BIFF8 in a Compound File), as 2000s–2010s portals
//! published them. Only what readers need: shared globals, one BOUNDSHEET per sheet, LABEL
//! and NUMBER cells (serials as floats, dates as numbers with a date format), merged title rows.

use std::io::{Cursor, Write};
use std::path::Path;

use crate::error::{Result, SynthError};
use crate::sink::{Attachment, Cell, Shape};
use crate::text::Date;

const XF_GENERAL: u16 = 16;
const XF_DATE: u16 = 17;

fn record(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
    out.extend_from_slice(&typ.to_le_bytes());
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(data);
}

fn bof(kind: u16) -> Vec<u8> {
    let mut d = Vec::with_capacity(16);
    d.extend_from_slice(&0x0600u16.to_le_bytes()); // BIFF8
    d.extend_from_slice(&kind.to_le_bytes());
    d.extend_from_slice(&0x0DBBu16.to_le_bytes()); // build
    d.extend_from_slice(&0x07CCu16.to_le_bytes()); // year
    d.extend_from_slice(&0u32.to_le_bytes());
    d.extend_from_slice(&0x06u32.to_le_bytes());
    d
}

fn xf(format: u16, flags: u16) -> Vec<u8> {
    let mut d = vec![0u8; 20];
    d[2..4].copy_from_slice(&format.to_le_bytes());
    d[4..6].copy_from_slice(&flags.to_le_bytes());
    d
}

/// `XLUnicodeString` with the high-byte flag set: UTF-16LE characters.
fn unicode(text: &str, short: bool) -> Vec<u8> {
    // A BIFF8 label holds at most 255 characters.
    let units: Vec<u16> = text.encode_utf16().take(255).collect();
    let mut d = Vec::with_capacity(3 + units.len() * 2);
    if short {
        d.push(units.len() as u8);
    } else {
        d.extend_from_slice(&(units.len() as u16).to_le_bytes());
    }
    d.push(1);
    for u in units {
        d.extend_from_slice(&u.to_le_bytes());
    }
    d
}

fn serial(d: Date) -> f64 {
    d.excel_serial()
}

fn cell_header(row: usize, col: usize, xf: u16) -> Vec<u8> {
    let mut d = Vec::with_capacity(6);
    d.extend_from_slice(&(row as u16).to_le_bytes());
    d.extend_from_slice(&(col as u16).to_le_bytes());
    d.extend_from_slice(&xf.to_le_bytes());
    d
}

fn sheet_stream(sheet: &crate::sink::Sheet) -> Vec<u8> {
    let mut s = Vec::new();
    record(&mut s, 0x0809, &bof(0x0010));
    let mut dims = Vec::with_capacity(14);
    dims.extend_from_slice(&0u32.to_le_bytes());
    dims.extend_from_slice(&(sheet.rows.len() as u32).to_le_bytes());
    dims.extend_from_slice(&0u16.to_le_bytes());
    dims.extend_from_slice(&(sheet.width as u16).to_le_bytes());
    dims.extend_from_slice(&0u16.to_le_bytes());
    record(&mut s, 0x0200, &dims);
    let mut merges: Vec<usize> = Vec::new();
    for (r, (shape, _)) in sheet.rows.iter().enumerate() {
        match shape {
            Shape::Span(text) => {
                let mut d = cell_header(r, 0, XF_GENERAL);
                d.extend(unicode(text, false));
                record(&mut s, 0x0204, &d);
                if sheet.width > 1 {
                    merges.push(r);
                }
            }
            Shape::Cells(cells) => {
                for (c, cell) in cells.iter().enumerate() {
                    match cell {
                        Cell::Text(t) if !t.is_empty() => {
                            let mut d = cell_header(r, c, XF_GENERAL);
                            d.extend(unicode(t, false));
                            record(&mut s, 0x0204, &d);
                        }
                        Cell::Num(n) => {
                            let mut d = cell_header(r, c, XF_GENERAL);
                            d.extend_from_slice(&n.to_le_bytes());
                            record(&mut s, 0x0203, &d);
                        }
                        Cell::Date(date) => {
                            let mut d = cell_header(r, c, XF_DATE);
                            d.extend_from_slice(&serial(*date).to_le_bytes());
                            record(&mut s, 0x0203, &d);
                        }
                        Cell::Text(_) | Cell::Empty => {}
                    }
                }
            }
        }
    }
    // MERGEDCELLS holds at most 1026 ranges per record.
    for chunk in merges.chunks(1026) {
        let mut d = (chunk.len() as u16).to_le_bytes().to_vec();
        for r in chunk {
            d.extend_from_slice(&(*r as u16).to_le_bytes());
            d.extend_from_slice(&(*r as u16).to_le_bytes());
            d.extend_from_slice(&0u16.to_le_bytes());
            d.extend_from_slice(&((sheet.width - 1) as u16).to_le_bytes());
        }
        record(&mut s, 0x00E5, &d);
    }
    record(&mut s, 0x000A, &[]);
    s
}

/// The bytes of the `Workbook` stream.
pub fn workbook_stream(att: &Attachment) -> Vec<u8> {
    let mut g = Vec::new();
    record(&mut g, 0x0809, &bof(0x0005));
    record(&mut g, 0x0042, &1200u16.to_le_bytes()); // CODEPAGE: UTF-16
    record(&mut g, 0x0022, &0u16.to_le_bytes()); // DATEMODE: 1900
    for _ in 0..16 {
        record(&mut g, 0x00E0, &xf(0, 0xFFF5)); // style XFs
    }
    record(&mut g, 0x00E0, &xf(0, 0x0001)); // 16: General
    record(&mut g, 0x00E0, &xf(14, 0x0001)); // 17: built-in date format 14
    let mut patches = Vec::new();
    for sheet in &att.sheets {
        let mut d = vec![0u8; 6];
        let name: String = sheet.name.chars().take(31).collect();
        d.extend(unicode(&name, true));
        patches.push(g.len() + 4);
        record(&mut g, 0x0085, &d);
    }
    record(&mut g, 0x000A, &[]);
    let mut offset = g.len();
    let mut streams = Vec::new();
    for (sheet, patch) in att.sheets.iter().zip(&patches) {
        g[*patch..*patch + 4].copy_from_slice(&(offset as u32).to_le_bytes());
        let s = sheet_stream(sheet);
        offset += s.len();
        streams.push(s);
    }
    for s in streams {
        g.extend(s);
    }
    g
}

/// Writes an `.xls` file.
pub fn write_xls(att: &Attachment, path: &Path) -> Result<()> {
    let io = |source| SynthError::Write {
        path: path.to_path_buf(),
        source,
    };
    let stream = workbook_stream(att);
    // Version 3 (512-byte sectors), as Excel writes it.
    let mut comp =
        cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new()))
            .map_err(io)?;
    {
        let mut w = comp.create_stream("/Workbook").map_err(io)?;
        w.write_all(&stream).map_err(io)?;
    }
    // The root's timestamps would otherwise be "now": fix them for byte-identical output.
    comp.set_created_time("/", std::time::UNIX_EPOCH)
        .map_err(io)?;
    comp.set_modified_time("/", std::time::UNIX_EPOCH)
        .map_err(io)?;
    comp.flush().map_err(io)?;
    let bytes = comp.into_inner().into_inner();
    std::fs::write(path, bytes).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_follow_the_1900_system() {
        assert_eq!(
            serial(Date {
                y: 1900,
                m: 3,
                d: 1
            }),
            61.0
        );
        assert_eq!(
            serial(Date {
                y: 2015,
                m: 10,
                d: 20
            }),
            42297.0
        );
    }
}
