//! Log output on stderr in the form whoever reads it wants.
//!
//! - `text`: tracing-subscriber's usual lines, coloured only at a terminal;
//! - `json`: one JSON object a line (`timestamp`, `level`, `target`,
//!   `message` and the event's fields at the top level), for log shippers;
//! - `journal`: for systemd-journald's stdout/stderr stream, which reads a
//!   `<N>` prefix on each line as its syslog priority (sd-daemon(3)) and
//!   adds its own timestamp: so no timestamp and no colour;
//! - `auto` (the default): `journal` when stderr is the journal stream
//!   (systemd sets `JOURNAL_STREAM=DEV:INODE` to the stream it connected, see
//!   systemd.exec(5); a child whose stderr was redirected does not match), else `text`.

use std::fmt::Write as _;
use std::sync::OnceLock;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, Full, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// The `--log-format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// `journal` when stderr is the systemd journal, else `text`.
    #[default]
    Auto,
    /// Lines for people.
    Text,
    /// One JSON object per line.
    Json,
    /// Lines with a `<N>` syslog priority prefix and no timestamp, for journald.
    Journal,
}

impl LogFormat {
    /// `Auto` made definite for this process: `Journal` or `Text`.
    pub fn resolve(self) -> Self {
        match self {
            Self::Auto if stderr_is_journal() => Self::Journal,
            Self::Auto => Self::Text,
            other => other,
        }
    }
}

/// The format [`init`] chose, for [`eprint()`].
static ACTIVE: OnceLock<LogFormat> = OnceLock::new();

/// Installs the global subscriber: `format` on stderr, filtered by a valid
/// `RUST_LOG`, else by `default_filter` (e.g. `"info"`). Returns the format
/// in use (`Auto` resolved).
pub fn init(format: LogFormat, default_filter: &str) -> LogFormat {
    let format = format.resolve();
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // Colour only for a person at a terminal: escapes are noise in a file or a journal.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let subscriber = subscriber(format, filter, ansi, std::io::stderr);
    // A second init (tests calling main twice) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(subscriber);
    ACTIVE.get_or_init(|| format);
    format
}

/// The subscriber for `format` (not `Auto`: that is [`LogFormat::resolve`]d
/// first) writing to `writer`.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    ansi: bool,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format.resolve() {
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                // The connection's span (id, peer) belongs to every line of it.
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
        LogFormat::Journal => Box::new(
            builder
                .with_ansi(false)
                .event_format(JournalFormat::default())
                .finish(),
        ),
        _ => Box::new(builder.with_ansi(ansi).finish()),
    }
}

/// The syslog priority journald files a line of `level` under (sd-daemon(3)):
/// error 3 (err), warn 4 (warning), info 6 (info), debug and trace 7 (debug).
pub fn priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// The journal's line format: `<N>target: message key=value`, every line of
/// a multi-line event prefixed (journald reads each line as its own entry).
#[derive(Debug)]
pub struct JournalFormat {
    inner: format::Format<Full, ()>,
}

impl Default for JournalFormat {
    fn default() -> Self {
        Self {
            // journald stamps each entry and shows the priority itself.
            inner: format::format()
                .without_time()
                .with_level(false)
                .with_ansi(false),
        }
    }
}

impl<S, N> FormatEvent<S, N> for JournalFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut text = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut text), event)?;
        let prio = priority(*event.metadata().level());
        for line in text.trim_end_matches('\n').split('\n') {
            writeln!(writer, "<{prio}>{line}")?;
        }
        Ok(())
    }
}

/// Whether stderr is the stream `JOURNAL_STREAM` names.
pub fn stderr_is_journal() -> bool {
    std::env::var("JOURNAL_STREAM")
        .is_ok_and(|value| fd_is_journal_stream(std::io::stderr(), &value))
}

/// Whether `fd` is the file `journal_stream` (`DEV:INODE`, decimal, as
/// systemd sets it) names.
pub fn fd_is_journal_stream(fd: impl std::os::fd::AsFd, journal_stream: &str) -> bool {
    let Some((dev, ino)) = journal_stream.trim().split_once(':') else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    nix::sys::stat::fstat(fd).is_ok_and(|st| st.st_dev == dev && st.st_ino == ino)
}

/// Prints a message the program itself ends on (its final error, a
/// warning before it starts) on stderr in the active log format: as is for
/// `text`, `<N>`-prefixed for the journal, a JSON object for `json` (so
/// that every stderr line parses). Unlike a tracing event, `RUST_LOG`
/// cannot filter it away.
pub fn eprint(level: Level, text: &str) {
    eprintln!(
        "{}",
        render(ACTIVE.get().copied().unwrap_or_default(), level, text)
    );
}

/// What [`eprint()`] writes (without the line end) in `format`.
pub fn render(format: LogFormat, level: Level, text: &str) -> String {
    match format {
        LogFormat::Json => {
            let mut timestamp = String::new();
            let _ = SystemTime.format_time(&mut Writer::new(&mut timestamp));
            serde_json::json!({
                "timestamp": timestamp,
                "level": level.as_str(),
                "message": text,
                "target": program_name(),
            })
            .to_string()
        }
        LogFormat::Journal => {
            let prio = priority(level);
            text.lines().fold(String::new(), |mut out, line| {
                if !out.is_empty() {
                    out.push('\n');
                }
                let _ = write!(out, "<{prio}>{line}");
                out
            })
        }
        LogFormat::Text | LogFormat::Auto => text.to_owned(),
    }
}

/// This executable's file name, e.g. `sstp-server`.
fn program_name() -> String {
    std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex, PoisonError};

    use super::*;

    /// A `MakeWriter` into a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner))
                .into_owned()
        }
    }

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Self;
        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    fn capture(format: LogFormat, emit: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let subscriber = subscriber(format, EnvFilter::new("trace"), false, buffer.clone());
        tracing::subscriber::with_default(subscriber, emit);
        buffer.text()
    }

    #[test]
    fn journal_priorities_follow_the_level() {
        assert_eq!(priority(Level::ERROR), 3);
        assert_eq!(priority(Level::WARN), 4);
        assert_eq!(priority(Level::INFO), 6);
        assert_eq!(priority(Level::DEBUG), 7);
        assert_eq!(priority(Level::TRACE), 7);
        let out = capture(LogFormat::Journal, || {
            tracing::error!(code = 7, "it broke");
            tracing::warn!("careful");
            tracing::info!("hello");
            tracing::debug!("detail");
            tracing::trace!("more detail");
        });
        let lines: Vec<_> = out.lines().collect();
        assert_eq!(lines.len(), 5, "{out}");
        let prefixes: Vec<_> = lines.iter().map(|l| &l[..3]).collect();
        assert_eq!(prefixes, ["<3>", "<4>", "<6>", "<7>", "<7>"], "{out}");
        // No timestamp, no level word, no escapes: journald adds and shows those.
        assert!(
            lines[0].contains("it broke") && lines[0].contains("code=7"),
            "{out}"
        );
        assert!(!out.contains("ERROR") && !out.contains('\u{1b}'), "{out}");
        assert!(
            lines[0].starts_with("<3>sstp_service::log::tests: it broke"),
            "{out}"
        );
    }

    #[test]
    fn every_line_of_a_multi_line_event_keeps_its_priority() {
        let out = capture(LogFormat::Journal, || tracing::warn!("first\nsecond"));
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(out.lines().all(|l| l.starts_with("<4>")), "{out}");
        assert_eq!(
            render(LogFormat::Journal, Level::ERROR, "a\nb"),
            "<3>a\n<3>b"
        );
    }

    #[test]
    fn json_is_one_object_per_line() {
        let out = capture(LogFormat::Json, || {
            tracing::warn!(peer = "192.0.2.1:5000", "refused");
            tracing::info!("line with \"quotes\"\nand a newline");
        });
        let objects: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(objects.len(), 2, "{out}");
        assert_eq!(objects[0]["level"], "WARN");
        assert_eq!(objects[0]["message"], "refused");
        assert_eq!(objects[0]["peer"], "192.0.2.1:5000");
        assert!(objects[0]["timestamp"].is_string());
        assert_eq!(objects[1]["message"], "line with \"quotes\"\nand a newline");
        let exit: serde_json::Value =
            serde_json::from_str(&render(LogFormat::Json, Level::ERROR, "error: no"))
                .expect("json");
        assert_eq!(exit["level"], "ERROR");
        assert_eq!(exit["message"], "error: no");
    }

    #[test]
    fn text_is_for_people() {
        let out = capture(LogFormat::Text, || tracing::warn!("careful"));
        assert!(out.contains("WARN") && out.contains("careful"), "{out}");
        assert!(!out.starts_with('<') && !out.starts_with('{'), "{out}");
        assert_eq!(
            render(LogFormat::Text, Level::ERROR, "error: x"),
            "error: x"
        );
    }

    #[test]
    fn journal_stream_matches_only_its_own_file() {
        let file = tempfile::tempfile().expect("tempfile");
        let st = nix::sys::stat::fstat(&file).expect("fstat");
        let own = format!("{}:{}", st.st_dev, st.st_ino);
        assert!(fd_is_journal_stream(&file, &own));
        let other = tempfile::tempfile().expect("tempfile");
        assert!(!fd_is_journal_stream(&other, &own));
        for bad in ["", "12", "a:b", "1:2:3", ":"] {
            assert!(!fd_is_journal_stream(&file, bad), "{bad}");
        }
        assert_eq!(LogFormat::Json.resolve(), LogFormat::Json);
        assert_eq!(LogFormat::Journal.resolve(), LogFormat::Journal);
    }
}
