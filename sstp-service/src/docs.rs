//! Shell completions (clap_complete) and man pages (clap_mangen) from the
//! clap definition, so both say what `--help` says.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub use clap_complete::Shell;

/// Writes the completion script for `shell` to `out`.
pub fn completions(mut command: clap::Command, shell: Shell, out: &mut dyn Write) {
    let name = command.get_name().to_owned();
    clap_complete::generate(shell, &mut command, name, out);
}

/// Writes `NAME.1` and one page per visible subcommand (`NAME-SUB.1`,
/// `NAME-SUB-SUBSUB.1`, named like git's) into `dir`, which must exist.
/// Returns the files written.
pub fn man_pages(mut command: clap::Command, dir: &Path) -> io::Result<Vec<PathBuf>> {
    // Global flags (-v, --log-format) reach the subcommands' pages too.
    command.build();
    let name = command.get_name().to_owned();
    let mut written = Vec::new();
    write_page(command, &name, &name, dir, &mut written)?;
    Ok(written)
}

fn write_page(
    command: clap::Command,
    page: &str,
    bin: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> io::Result<()> {
    let command = command
        .disable_help_subcommand(true)
        .display_name(page.to_owned())
        .bin_name(bin.to_owned());
    let path = dir.join(format!("{page}.1"));
    let mut text = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut text)?;
    std::fs::write(&path, text)?;
    written.push(path);
    for sub in command.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        write_page(
            sub.clone(),
            &format!("{page}-{}", sub.get_name()),
            &format!("{bin} {}", sub.get_name()),
            dir,
            written,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> clap::Command {
        clap::Command::new("sstp-demo")
            .version("1.2.3")
            .about("A demo")
            .arg(
                clap::Arg::new("verbose")
                    .short('v')
                    .long("verbose")
                    .global(true)
                    .action(clap::ArgAction::Count),
            )
            .subcommand(
                clap::Command::new("ca")
                    .about("The CA")
                    .subcommand(clap::Command::new("init").about("Make the root")),
            )
            .subcommand(clap::Command::new("secret").hide(true))
    }

    #[test]
    fn completions_name_the_subcommands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut out = Vec::new();
            completions(example(), shell, &mut out);
            let text = String::from_utf8(out).expect("utf-8");
            assert!(text.contains("sstp-demo"), "{shell}: {text}");
            assert!(
                text.contains("ca") && text.contains("init"),
                "{shell}: {text}"
            );
        }
    }

    #[test]
    fn a_page_per_visible_subcommand() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pages = man_pages(example(), dir.path()).expect("pages");
        let names: Vec<_> = pages
            .iter()
            .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["sstp-demo.1", "sstp-demo-ca.1", "sstp-demo-ca-init.1"]
        );
        let init = std::fs::read_to_string(&pages[2]).expect("read");
        assert!(init.contains(".TH sstp-demo-ca-init 1"), "{init}");
        assert!(init.contains("sstp\\-demo ca init"), "{init}");
        assert!(init.contains("verbose"), "the global flag: {init}");
    }
}
