//! The scanner's configuration: rules and allowlists, built in or read from a gitleaks-style
//! TOML rule file (`[[rules]]` with `id`, `regex`, `secretGroup`, `entropy`, `keywords`,
//! `path`, `[[rules.allowlists]]`; global `[allowlist]` / `[[allowlists]]`; `[extend]
//! useDefault` to keep the built-in rules beside the file's).

use std::path::{Path, PathBuf};

use regex::bytes::Regex;
use serde::Deserialize;
use toml::Spanned;

use crate::rule::{Check, Rule};
use crate::{Allowlist, Error, RegexTarget};

/// Rules and allowlists.
#[derive(Debug, Clone)]
pub struct Config {
    /// The rules, in order.
    pub rules: Vec<Rule>,
    /// Allowlists that apply to every rule (or to their `rules`).
    pub allow: Vec<Allowlist>,
}

impl Default for Config {
    fn default() -> Config {
        Config::builtin()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    #[serde(default)]
    extend: Option<RawExtend>,
    #[serde(default)]
    rules: Vec<RawRule>,
    #[serde(default)]
    allowlist: Option<RawAllow>,
    #[serde(default)]
    allowlists: Vec<RawAllow>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawExtend {
    #[serde(default)]
    use_default: bool,
    #[serde(default)]
    disabled_rules: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRule {
    id: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    regex: Option<Spanned<String>>,
    #[serde(default)]
    secret_group: Option<usize>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    path: Option<Spanned<String>>,
    #[serde(default)]
    allowlist: Option<RawAllow>,
    #[serde(default)]
    allowlists: Vec<RawAllow>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAllow {
    #[serde(default)]
    condition: Option<Spanned<String>>,
    #[serde(default)]
    regex_target: Option<Spanned<String>>,
    #[serde(default)]
    regexes: Vec<Spanned<String>>,
    #[serde(default)]
    paths: Vec<Spanned<String>>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    fingerprints: Vec<String>,
    #[serde(default)]
    target_rules: Vec<String>,
}

impl Config {
    /// The built-in rules and no allowlist.
    pub fn builtin() -> Config {
        Config {
            rules: crate::builtins(),
            allow: Vec::new(),
        }
    }

    /// Reads a gitleaks-style rule file. Its rules replace the built-in ones unless it says
    /// `[extend] useDefault = true` (or has no rules, only allowlists). Errors name the file,
    /// line and column.
    pub fn from_file(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml(&text, path)
    }

    /// As [`Config::from_file`], from the file's text; `path` is named in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, Error> {
        let at = |span: std::ops::Range<usize>, message: String| {
            let (line, column) = line_col(text, span.start);
            Error::Config {
                file: path.to_owned(),
                line,
                column,
                message,
            }
        };
        let raw: RawConfig = toml::from_str(text)
            .map_err(|e| at(e.span().unwrap_or(0..0), e.message().trim_end().to_owned()))?;
        let extend = raw.extend.as_ref();
        let mut rules = if raw.rules.is_empty() || extend.is_some_and(|e| e.use_default) {
            crate::builtins()
        } else {
            Vec::new()
        };
        if let Some(e) = extend {
            rules.retain(|r| !e.disabled_rules.contains(&r.id));
        }
        for r in raw.rules {
            if r.regex.is_none() && r.path.is_none() {
                return Err(at(
                    r.id.span(),
                    format!("rule `{}` needs a `regex` or a `path`", r.id.get_ref()),
                ));
            }
            let regex = match r.regex {
                Some(re) => {
                    compile(&re, &at)?;
                    Some(re.into_inner())
                }
                None => None,
            };
            let path_re = match r.path {
                Some(p) => {
                    compile(&p, &at)?;
                    Some(p.into_inner())
                }
                None => None,
            };
            let mut allow = Vec::new();
            for a in r.allowlist.into_iter().chain(r.allowlists) {
                allow.push(allowlist(a, &at)?);
            }
            let id = r.id.into_inner();
            rules.retain(|old| old.id != id);
            rules.push(Rule {
                description: r.description.unwrap_or_else(|| id.clone()),
                id,
                regex,
                secret_group: r.secret_group,
                keywords: r.keywords,
                entropy: r.entropy,
                path: path_re,
                reach: 512,
                check: Check::None,
                generic: false,
                allow,
            });
        }
        let mut allow = Vec::new();
        for a in raw.allowlist.into_iter().chain(raw.allowlists) {
            allow.push(allowlist(a, &at)?);
        }
        Ok(Config { rules, allow })
    }
}

fn compile(
    re: &Spanned<String>,
    at: &impl Fn(std::ops::Range<usize>, String) -> Error,
) -> Result<Regex, Error> {
    Regex::new(re.get_ref()).map_err(|e| {
        let first = e.to_string();
        let last = first.lines().last().unwrap_or_default().trim().to_owned();
        at(re.span(), format!("invalid regex: {last}"))
    })
}

fn allowlist(
    a: RawAllow,
    at: &impl Fn(std::ops::Range<usize>, String) -> Error,
) -> Result<Allowlist, Error> {
    let all = match &a.condition {
        None => false,
        Some(c) => match c.get_ref().to_ascii_uppercase().as_str() {
            "OR" => false,
            "AND" => true,
            other => {
                return Err(at(
                    c.span(),
                    format!("condition `{other}`: expected \"OR\" or \"AND\""),
                ));
            }
        },
    };
    let target = match &a.regex_target {
        None => RegexTarget::Secret,
        Some(t) => match t.get_ref().as_str() {
            "secret" => RegexTarget::Secret,
            "match" => RegexTarget::Match,
            "line" => RegexTarget::Line,
            other => {
                return Err(at(
                    t.span(),
                    format!("regexTarget `{other}`: expected \"secret\", \"match\" or \"line\""),
                ));
            }
        },
    };
    Ok(Allowlist {
        paths: a
            .paths
            .iter()
            .map(|p| compile(p, at))
            .collect::<Result<_, _>>()?,
        globs: None,
        regexes: a
            .regexes
            .iter()
            .map(|p| compile(p, at))
            .collect::<Result<_, _>>()?,
        target,
        stopwords: a.stopwords,
        fingerprints: a.fingerprints.into_iter().collect(),
        rules: a.target_rules,
        all,
    })
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// A glob allowlist over paths (the probe's `allow`, the command's `--allow`).
pub fn glob_allowlist(globs: &[String]) -> Result<Allowlist, Error> {
    let mut set = globset::GlobSetBuilder::new();
    for g in globs {
        let glob = globset::Glob::new(g).map_err(|e| Error::Config {
            file: PathBuf::from("--allow"),
            line: 1,
            column: 1,
            message: format!("invalid glob `{g}`: {e}"),
        })?;
        set.add(glob);
    }
    Ok(Allowlist {
        globs: Some(set.build().map_err(|e| Error::Config {
            file: PathBuf::from("--allow"),
            line: 1,
            column: 1,
            message: e.to_string(),
        })?),
        ..Allowlist::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_regex_is_named_at_its_line_and_column() {
        let text = "[[rules]]\nid = \"x\"\nregex = '''(unclosed'''\n";
        let err = Config::from_toml(text, Path::new("rules.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("rules.toml:3:9: invalid regex"), "{msg}");
    }

    #[test]
    fn file_rules_replace_the_builtins_unless_extended() {
        let own = "[[rules]]\nid = \"own\"\nregex = 'own_[a-z]{8}'\nkeywords = [\"own_\"]\n";
        let c = Config::from_toml(own, Path::new("r.toml")).unwrap();
        assert_eq!(c.rules.len(), 1);
        let c = Config::from_toml(
            &format!("[extend]\nuseDefault = true\n{own}"),
            Path::new("r.toml"),
        )
        .unwrap();
        assert_eq!(c.rules.len(), crate::builtins().len() + 1);
    }
}
