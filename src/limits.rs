//! Reading the small files kitnotes takes from outside (config, keymap, templates, protocol
//! profiles, a passphrase file) with a size limit, so a huge or endless file is refused after
//! reading at most the limit, never loaded whole; and their text as UTF-8 with the line and
//! column of the first invalid byte.
//!
//! Errors are `std::io::Error`s whose message leaves the path out: every caller already says
//! "cannot read <path>: ...", so the user reads "cannot read keymap.toml: it is 104857600 bytes;
//! kitnotes reads at most 1048576 bytes from a keymap file".

use std::fmt;
use std::io::{self, Read};
use std::path::Path;

/// The most kitnotes reads from a config, keymap, template or protocol file: the shipped ones are
/// a few kilobytes, so anything near a mebibyte is a wrong file, not a settings file.
pub const MAX_SETTINGS_FILE_BYTES: u64 = 1024 * 1024;

/// The most kitnotes reads from a passphrase file: only its first line is used.
pub const MAX_PASSPHRASE_FILE_BYTES: u64 = 64 * 1024;

/// A file over its limit. `size` is the file's length when the file system knows it (a regular
/// file), else `None` (a pipe, a device): then all that is known is that it holds more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    pub size: Option<u64>,
    pub limit: u64,
    /// What the file is, with its article: "a keymap file".
    pub what: String,
}

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.size {
            Some(size) => write!(f, "it is {size} bytes")?,
            None => write!(f, "it holds more than {} bytes", self.limit)?,
        }
        write!(
            f,
            "; kitnotes reads at most {} bytes from {}",
            self.limit, self.what
        )
    }
}

impl std::error::Error for TooLarge {}

/// Text that is not UTF-8: where its first bad byte is (1-based line and column in characters,
/// as an editor shows them) and what the byte is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotUtf8 {
    pub line: usize,
    pub column: usize,
    pub byte: u8,
}

impl fmt::Display for NotUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: the text is not valid UTF-8 (byte 0x{:02X}); save the file as \
             UTF-8",
            self.line, self.column, self.byte
        )
    }
}

impl std::error::Error for NotUtf8 {}

/// A path that is not a regular file: a directory, a FIFO, a device or a socket. Refused before
/// anything is read from it: a FIFO with no writer would block the read for ever, a device such
/// as `/dev/zero` never ends, and neither is a settings file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAFile {
    /// What the path is instead, with its article: "a directory", "a FIFO (named pipe)".
    pub is: &'static str,
    /// What it should have been, with its article: "a keymap file".
    pub what: String,
}

impl fmt::Display for NotAFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "it is {}, not a regular file; kitnotes reads {} only from a regular file",
            self.is, self.what
        )
    }
}

impl std::error::Error for NotAFile {}

/// What a file type is, for [`NotAFile`]; `None` for a regular file.
fn not_regular(t: std::fs::FileType) -> Option<&'static str> {
    #[cfg(unix)]
    use std::os::unix::fs::FileTypeExt;
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_char_device() || t.is_block_device() {
            return Some("a device");
        }
        if t.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// Opens `path` for reading only if it is a regular file (a symbolic link to one is followed):
/// a directory, a FIFO, a device or a socket is an error of kind `InvalidInput` carrying a
/// [`NotAFile`], before anything is read. The type is checked before opening, and again on the
/// open file; on Unix the open itself never waits (`O_NONBLOCK`), so a FIFO swapped in between
/// cannot hang kitnotes either. Every outside file kitnotes reads comes through here.
pub fn open_regular(path: &Path, what: &str) -> io::Result<std::fs::File> {
    let refuse = |is: &'static str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            NotAFile {
                is,
                what: what.to_owned(),
            },
        )
    };
    if let Some(is) = not_regular(std::fs::metadata(path)?.file_type()) {
        return Err(refuse(is));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Only changes how the open waits: reading a regular file is unaffected.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    if let Some(is) = not_regular(file.metadata()?.file_type()) {
        return Err(refuse(is));
    }
    Ok(file)
}

/// Reads at most `limit` bytes of `path`, a regular file ([`open_regular`]); a longer file is an
/// error of kind `FileTooLarge` (carrying a [`TooLarge`]) after reading `limit + 1` bytes at
/// most. `what` names the kind of file for the message, with its article ("a template file").
pub fn read(path: &Path, limit: u64, what: &str) -> io::Result<Vec<u8>> {
    let file = open_regular(path, what)?;
    let known = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let too_large = |size: Option<u64>| {
        io::Error::new(
            io::ErrorKind::FileTooLarge,
            TooLarge {
                size,
                limit,
                what: what.to_owned(),
            },
        )
    };
    if let Some(size) = known.filter(|&s| s > limit) {
        return Err(too_large(Some(size)));
    }
    // Sized up front so that reading a secret does not leave copies behind in freed buffers.
    let expected = known.unwrap_or(0).min(limit);
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0).saturating_add(1));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        // The file grew since it was measured, or is not a regular file.
        return Err(too_large(known.filter(|&s| s > limit)));
    }
    Ok(bytes)
}

/// Like [`read`], as UTF-8 text; text that is not UTF-8 is an error of kind `InvalidData`
/// carrying a [`NotUtf8`] with the line and column of the first bad byte.
pub fn read_to_string(path: &Path, limit: u64, what: &str) -> io::Result<String> {
    let bytes = read(path, limit, what)?;
    text(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// `bytes` as text, or where the first byte that is not UTF-8 is. A byte order mark at the start
/// is kept: the parsers treat it as they treat any other character.
pub fn text(bytes: Vec<u8>) -> Result<String, NotUtf8> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let byte = bytes.get(at).copied().unwrap_or(0);
        // The bytes before the bad one are valid, so they give the line and column.
        let before = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
        let (line, column) = crate::config::line_column(before, before.len());
        NotUtf8 { line, column, byte }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_within_the_limit_reads_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        std::fs::write(&path, "x = 1\n").unwrap();
        assert_eq!(read_to_string(&path, 6, "a test file").unwrap(), "x = 1\n");
    }

    #[test]
    fn a_file_over_the_limit_names_its_size_and_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        std::fs::write(&path, "x = 1\n").unwrap();
        let e = read_to_string(&path, 5, "a test file").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(
            e.to_string(),
            "it is 6 bytes; kitnotes reads at most 5 bytes from a test file"
        );
    }

    #[test]
    fn invalid_utf8_names_line_column_and_byte() {
        let e = text(b"ok\n\xC3\xA9t\xFFe".to_vec()).unwrap_err();
        assert_eq!(
            e,
            NotUtf8 {
                line: 2,
                column: 3,
                byte: 0xFF
            }
        );
        assert_eq!(
            e.to_string(),
            "line 2, column 3: the text is not valid UTF-8 (byte 0xFF); save the file as UTF-8"
        );
        // A character cut off at the end of the file.
        assert_eq!(text(b"ab\xC3".to_vec()).unwrap_err().column, 3);
    }

    #[test]
    fn a_device_a_fifo_and_a_directory_are_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        // /dev/zero never ends and has no length to refuse it by.
        let e = read(Path::new("/dev/zero"), 1024, "a test file").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            e.to_string(),
            "it is a device, not a regular file; kitnotes reads a test file only from a regular file"
        );
        let e = read(dir.path(), 1024, "a test file").unwrap_err();
        assert!(e.to_string().starts_with("it is a directory, not"), "{e}");
        // A FIFO with no writer: opening it to read would wait for one for ever.
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let e = read(&fifo, 1024, "a test file").unwrap_err();
            assert!(
                e.to_string().starts_with("it is a FIFO (named pipe), not"),
                "{e}"
            );
        }
    }
}
