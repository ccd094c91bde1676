//! The man page (packaging/gluster-tcmu.8) is written by hand; these tests keep it from
//! falling behind the code. Every subcommand and long option the binary's `--help` lists,
//! and every settings-file section and key the settings parser accepts, must be named on
//! the page.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The page's text with roff's escapes for hyphens and fonts taken out, so that
/// `\-\-reactor\-threads` and `\fBlist\fR` read as typed.
fn page_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/gluster-tcmu.8");
    let roff = std::fs::read_to_string(&path).expect("packaging/gluster-tcmu.8");
    let mut text = roff.replace("\\-", "-").replace("\\c", "");
    for font in ["\\fB", "\\fI", "\\fR", "\\fP"] {
        text = text.replace(font, "");
    }
    text
}

/// `gluster-tcmu ARGS... --help`.
fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gluster-tcmu"))
        .args(args)
        .arg("--help")
        .output()
        .expect("gluster-tcmu runs");
    assert!(out.status.success(), "{args:?} --help: {out:?}");
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

/// The lines of the help's section `heading` ("Commands:", "Options:").
fn section<'a>(help: &'a str, heading: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| l.trim() != heading)
        .skip(1)
        .take_while(|l| l.starts_with(' ') || l.is_empty())
        .collect()
}

/// The subcommands a help text lists, clap's own `help` aside.
fn subcommands(help: &str) -> Vec<String> {
    section(help, "Commands:")
        .iter()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// The long options a help text lists (the lines that start with `-`, not the
/// descriptions), `--help` and `--version` aside.
fn long_options(help: &str) -> Vec<String> {
    section(help, "Options:")
        .iter()
        .filter(|l| l.trim_start().starts_with('-'))
        .flat_map(|l| l.split_whitespace().take(2))
        .filter(|w| w.starts_with("--"))
        .map(|w| w.trim_end_matches(',').to_owned())
        .filter(|o| o != "--help" && o != "--version")
        .collect()
}

/// Every command path (`[]`, `["run"]`, `["export", "create"]`, ...) of the binary.
fn command_paths() -> Vec<Vec<String>> {
    let mut paths = vec![Vec::new()];
    let mut i = 0;
    while i < paths.len() {
        let path: Vec<String> = paths[i].clone();
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        for sub in subcommands(&help(&args)) {
            let mut child = path.clone();
            child.push(sub);
            paths.push(child);
        }
        i += 1;
    }
    paths
}

#[test]
fn the_page_names_every_subcommand_and_long_option() {
    let page = page_text();
    let mut missing = BTreeSet::new();
    let paths = command_paths();
    assert!(paths.len() > 8, "too few commands found: {paths:?}");
    for path in &paths {
        if let Some(last) = path.last() {
            // An export command is named on the page as "export create".
            let name = if path.len() > 1 {
                path.join(" ")
            } else {
                last.clone()
            };
            if !page.contains(&name) {
                missing.insert(format!("command `{name}`"));
            }
        }
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        for option in long_options(&help(&args)) {
            if !page.contains(&option) {
                missing.insert(format!("option {option} of `{}`", path.join(" ")));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "packaging/gluster-tcmu.8 does not mention: {missing:?}"
    );
}

/// The keys serde accepts where `probe` (TOML with one unknown key, `zz_unknown`) puts
/// it: the parser refuses unknown keys and its message lists the ones it expects.
fn accepted_keys(probe: &str) -> Vec<String> {
    let err = gluster_tcmu::settings::parse_toml(Path::new("probe.toml"), probe)
        .expect_err("an unknown key is refused");
    let why = std::error::Error::source(&err)
        .map(ToString::to_string)
        .unwrap_or_default();
    let expected = why
        .split_once("expected")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no list of expected keys in {why:?}"));
    let keys: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    assert!(!keys.is_empty(), "no keys in {why:?}");
    keys
}

#[test]
fn the_page_names_every_settings_section_and_key() {
    let page = page_text();
    let mut missing = BTreeSet::new();
    let sections = accepted_keys("zz_unknown = 1\n");
    assert!(sections.contains(&"exports".to_owned()), "{sections:?}");
    for section in &sections {
        let heading = format!(".SS [{section}]\n");
        let Some((_, from_heading)) = page.split_once(&heading) else {
            missing.insert(format!("section [{section}] (a `.SS [{section}]` heading)"));
            continue;
        };
        let body = from_heading.split("\n.S").next().unwrap_or_default();
        for key in accepted_keys(&format!("[{section}]\nzz_unknown = 1\n")) {
            // Each key is a tagged paragraph of its section: `.TP` then `.B key`.
            if !body.contains(&format!(".TP\n.B {key}\n")) {
                missing.insert(format!("key {key} of [{section}]"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "packaging/gluster-tcmu.8 does not describe: {missing:?}"
    );
}
