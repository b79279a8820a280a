//! [`ChildEnv`]: the environment of a process phasegate starts (a gate, a service, a hook).

use std::collections::{BTreeMap, BTreeSet};

/// The environment a child process gets: phasegate's own environment **minus** `withheld`,
/// plus `set`. Every process phasegate starts is configured through [`ChildEnv::apply`], so
/// that what is kept from children (phasegate's own secrets, secrets declared by other
/// gates) is decided in one place.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ChildEnv {
    /// Variables set for the child, on top of what it inherits.
    pub set: BTreeMap<String, String>,
    /// Variables removed from what the child inherits (a name also in `set` is set).
    pub withheld: BTreeSet<String>,
}

impl ChildEnv {
    /// Inherits everything but `withheld`, sets nothing.
    pub fn withholding<S: Into<String>>(withheld: impl IntoIterator<Item = S>) -> Self {
        ChildEnv {
            set: BTreeMap::new(),
            withheld: withheld.into_iter().map(Into::into).collect(),
        }
    }

    /// The value of `name` as a child would see it: set here, else inherited from this
    /// process unless withheld. How an in-process probe reads a secret its gate declares
    /// (`secret_env`), exactly as the gate's command would.
    pub fn var(&self, name: &str) -> Option<String> {
        if let Some(value) = self.set.get(name) {
            return Some(value.clone());
        }
        if self.withheld.contains(name) {
            return None;
        }
        std::env::var(name).ok()
    }

    /// Configures `cmd`'s environment.
    pub fn apply(&self, cmd: &mut tokio::process::Command) {
        // Removed first: a later `env` of the same name wins, as `set` must.
        for name in &self.withheld {
            cmd.env_remove(name);
        }
        cmd.envs(&self.set);
    }
}

// Values may be secrets (database passwords handed to a gate): Debug shows names only.
impl std::fmt::Debug for ChildEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildEnv")
            .field("set", &self.set.keys().collect::<Vec<_>>())
            .field("withheld", &self.withheld)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_is_what_a_child_would_see() {
        let env = ChildEnv {
            set: BTreeMap::from([("SET_ONE".to_owned(), "s".to_owned())]),
            withheld: BTreeSet::from(["PATH".to_owned(), "SET_ONE".to_owned()]),
        };
        assert_eq!(env.var("SET_ONE").as_deref(), Some("s"));
        assert_eq!(env.var("PATH"), None);
        assert!(std::env::var("HOME").is_err() || env.var("HOME").is_some());
    }

    #[tokio::test]
    async fn withheld_variables_are_not_inherited_and_set_ones_win() {
        let env = ChildEnv {
            set: BTreeMap::from([("SET_ONE".to_owned(), "s".to_owned())]),
            withheld: BTreeSet::from(["HOME".to_owned(), "SET_ONE".to_owned()]),
        };
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c")
            .arg("echo \"home=$HOME set=$SET_ONE path=${PATH:+yes}\"");
        env.apply(&mut cmd);
        let out = cmd.output().await.unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "home= set=s path=yes\n"
        );
    }
}
