//! Reading an interchange file line by line with a hard cap on line length, accepting a UTF-8 BOM
//! and CRLF endings, and naming the line and byte of any invalid UTF-8.

use super::ImportError;
use std::io::{BufRead, Read};

/// The UTF-8 byte order mark some Windows editors put at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Yields the file's lines as text, with their 1-based numbers. One buffer is reused for every
/// line, so reading costs no allocation per line once the longest line has been seen.
pub(crate) struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    number: usize,
    max: usize,
    /// Every byte read so far, hashed: a second reading of the file can tell it changed.
    digest: blake3::Hasher,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(reader: R, max: usize) -> Self {
        Self {
            reader,
            buf: Vec::new(),
            number: 0,
            max,
            digest: blake3::Hasher::new(),
        }
    }

    /// The hash of every byte read so far.
    pub(crate) fn digest(&self) -> [u8; 32] {
        *self.digest.finalize().as_bytes()
    }

    /// How many lines have been read so far.
    pub(crate) fn count(&self) -> usize {
        self.number
    }

    /// The next line without its line ending, or `None` at the end of the file.
    pub(crate) fn next_line(&mut self) -> Result<Option<(usize, &str)>, ImportError> {
        self.buf.clear();
        let number = self.number + 1;
        // Room for the longest allowed line plus "\r\n": anything that fills it without ending is
        // too long, and is refused without reading the rest of it.
        let cap = u64::try_from(self.max)
            .unwrap_or(u64::MAX)
            .saturating_add(2);
        let read = (&mut self.reader)
            .take(cap)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| ImportError::at_line(number, format!("cannot read the file: {e}")))?;
        if read == 0 {
            return Ok(None);
        }
        self.digest.update(&self.buf);
        self.number = number;
        let mut content: &[u8] = &self.buf;
        if let Some(rest) = content.strip_suffix(b"\n") {
            content = rest.strip_suffix(b"\r").unwrap_or(rest);
        }
        if content.len() > self.max {
            return Err(ImportError::at_line(
                number,
                format!(
                    "the line is longer than {} bytes; kitnotes refuses lines that long",
                    self.max
                ),
            ));
        }
        let mut skipped = 0;
        if number == 1
            && let Some(rest) = content.strip_prefix(BOM)
        {
            content = rest;
            skipped = BOM.len();
        }
        match std::str::from_utf8(content) {
            Ok(text) => Ok(Some((number, text))),
            Err(e) => {
                let at = e.valid_up_to();
                let byte = content.get(at).copied().unwrap_or(0);
                Err(ImportError::at_line(
                    number,
                    format!(
                        "the text is not valid UTF-8 (byte {} of the line is 0x{byte:02X}); save \
                         the file as UTF-8",
                        at + skipped + 1
                    ),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], max: usize) -> Result<Vec<(usize, String)>, ImportError> {
        let mut lines = Lines::new(input, max);
        let mut out = Vec::new();
        while let Some((n, text)) = lines.next_line()? {
            out.push((n, text.to_owned()));
        }
        Ok(out)
    }

    #[test]
    fn lf_crlf_bom_and_a_missing_final_newline_all_read_the_same() {
        let expect = vec![(1, "a".to_string()), (2, "b".into()), (3, "".into())];
        assert_eq!(all(b"a\nb\n\n", 10).unwrap(), expect);
        assert_eq!(all(b"a\r\nb\r\n\r\n", 10).unwrap(), expect);
        assert_eq!(all(b"\xEF\xBB\xBFa\nb\n\n", 10).unwrap(), expect);
        assert_eq!(
            all(b"a\nb", 10).unwrap(),
            vec![(1, "a".into()), (2, "b".into())]
        );
    }

    #[test]
    fn a_bom_counts_only_at_the_start_of_the_file() {
        let lines = all(b"a\n\xEF\xBB\xBFb\n", 10).unwrap();
        assert_eq!(lines[1].1, "\u{feff}b");
    }

    #[test]
    fn the_line_limit_excludes_the_line_ending() {
        assert!(all(b"12345\r\n", 5).is_ok());
        assert!(all(b"12345", 5).is_ok());
        let e = all(b"ok\n123456\n", 5).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(
            e.message,
            "the line is longer than 5 bytes; kitnotes refuses lines that long"
        );
        assert_eq!(all(b"123456", 5).unwrap_err().line, Some(1));
    }

    #[test]
    fn invalid_utf8_names_the_line_and_the_byte() {
        let e = all(b"fine\nab\xFFc\n", 100).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: the text is not valid UTF-8 (byte 3 of the line is 0xFF); save the file as \
             UTF-8"
        );
        // Byte numbers count the BOM, as an editor showing the raw file would.
        let e = all(b"\xEF\xBB\xBF\xC3", 100).unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("byte 4 of the line is 0xC3"), "{e}");
    }
}
