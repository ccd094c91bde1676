//! The harnesses of the `cfg_string` and `settings_file` fuzz targets, shared with the
//! corpus replay in the host tests: arbitrary bytes through the config-string parsers
//! and the settings file parsers. Nothing may panic, and what a parser accepts must
//! keep the rules its documentation promises.

#![forbid(unsafe_code)]

use crate::cfgstring::{self, MAX_DEV_CONFIG_LEN, Subtype, SubtypeConfig};
use crate::settings::{self, Layer, Settings};
use std::collections::HashSet;
use std::path::{Component, Path};

/// Runs `data` (as text; invalid UTF-8 is replaced, as a D-Bus string never carries it)
/// through every config-string parser: the full `"<subtype>/<config>"` form and each
/// subtype's own parser on the whole text.
pub fn run_cfg_string(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match cfgstring::parse_dev_config(&text) {
        Ok(config) => check_dev_config(&text, &config),
        Err(e) => assert!(!e.to_string().is_empty(), "an error says why"),
    }
    for subtype in Subtype::ALL {
        match subtype.parse(&text) {
            Ok(config) => {
                assert_eq!(config.subtype(), subtype);
                check_config(subtype.name(), &text, &config);
            }
            Err(e) => assert!(!e.to_string().is_empty(), "an error says why"),
        }
    }
    for name in text.split(['+', '@', '/']) {
        if let Ok(host) = cfgstring::glfs::parse_host(name) {
            assert!(!host.to_string().is_empty());
        }
    }
}

fn check_dev_config(text: &str, config: &SubtypeConfig) {
    let (subtype, cfg) = cfgstring::split_subtype(text).expect("an accepted string splits");
    assert_eq!(subtype, config.subtype().name());
    check_config(subtype, cfg, config);
}

/// What every accepted config keeps: the kernel's and rtslib's limits, and each
/// subtype's promises about its parts.
fn check_config(subtype: &str, cfg: &str, config: &SubtypeConfig) {
    assert!(
        subtype.len() + 1 + cfg.len() <= MAX_DEV_CONFIG_LEN,
        "{cfg:?}"
    );
    assert!(cfgstring::check_shared_rules(subtype, cfg).is_ok());
    match config {
        SubtypeConfig::File(f) => {
            assert!(f.path.is_absolute(), "{:?}", f.path);
            assert!(no_parent_dir(&f.path), "{:?}", f.path);
        }
        SubtypeConfig::Glfs(g) => {
            assert!(!g.volume.is_empty() && !g.servers.is_empty());
            let distinct: HashSet<_> = g.servers.iter().collect();
            assert_eq!(distinct.len(), g.servers.len(), "no duplicate server");
            assert!(
                !g.path.is_empty() && !g.path.starts_with('/'),
                "{:?}",
                g.path
            );
            assert!(no_parent_dir(Path::new(&g.path)), "{:?}", g.path);
        }
        SubtypeConfig::Ram(_) => {}
    }
}

fn no_parent_dir(path: &Path) -> bool {
    path.components().all(|c| c != Component::ParentDir)
}

/// Runs `data` (as text) through our TOML settings file parser and tcmu-runner's
/// `tcmu.conf` parser. An accepted file must merge over the defaults, and merging the
/// same layer twice must give what merging it once gives.
pub fn run_settings_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match settings::parse_toml(Path::new("fuzz.toml"), &text) {
        Ok(layer) => check_layer(&layer),
        Err(e) => {
            let source = std::error::Error::source(&e).map(|s| s.to_string());
            assert!(!e.to_string().is_empty() && source.is_some_and(|s| !s.is_empty()));
        }
    }
    let conf = settings::parse_tcmu_conf(&text);
    assert!(conf.warnings.len() <= text.lines().count());
    check_layer(&conf.layer);
}

fn check_layer(layer: &Layer) {
    let none = Layer::default();
    let once = Settings::merge(&none, layer, &none);
    assert_eq!(
        once,
        Settings::merge(layer, layer, &none),
        "merging is idempotent"
    );
    for cpus in [0, 1, 64] {
        assert!(once.reactor.effective_threads(cpus) >= 1);
    }
}
