//! What `/proc` says about a process: enough for tests to assert that nothing survived.

/// Whether a process is running (a zombie counts as dead: it runs nothing).
pub fn alive(pid: i32) -> bool {
    stat(pid).is_some_and(|s| !s.dead)
}

/// The running members of process group `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid| stat(*pid).is_some_and(|s| !s.dead && s.pgid == pgid))
        .collect()
}

struct Stat {
    dead: bool,
    pgid: i32,
}

fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself hold spaces and parentheses.
    let mut fields = text[text.rfind(')')? + 2..].split(' ');
    let state = fields.next()?;
    let _ppid = fields.next()?;
    Some(Stat {
        dead: state == "Z" || state == "X",
        pgid: fields.next()?.parse().ok()?,
    })
}
