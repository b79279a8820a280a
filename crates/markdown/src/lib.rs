//! Markdown roadmaps: the document people read, next to the `phasegate.toml` phasegate
//! checks.
//!
//! Entry points: [`import`] drafts a `phasegate.toml` from a markdown roadmap (the draft is
//! text for a person to review, parsed and validated by `phasegate-roadmap` like any other
//! roadmap file), and [`sync`] keeps that document's checkboxes true to the evidence of a
//! [`phasegate_model::Scorecard`], reporting every box it changed as a [`Change`].
//!
//! What it is not: a markdown renderer, a roadmap validator or an evaluator. It never reads
//! or writes files, prints or looks at the ledger; both entry points are pure (text in,
//! text out), and reading and writing files is the caller's job. Its only dependency within
//! phasegate is `phasegate-model`.
//!
//! Neither re-renders the document: it is parsed with pulldown-cmark for byte offsets, and
//! [`sync`] replaces only the one character inside a box, so that line endings, spacing,
//! tables and right-to-left text stay exactly as written.
//!
//! # How a document is read
//!
//! **Headings.** Each heading is classified by keywords (English and Persian; Persian and
//! Arabic-Indic digits count as digits, a zero-width non-joiner as a space):
//!
//! - *phase*: a phase word (`phase`, `milestone`, `week`, `stage`, `sprint`, `فاز`, `مرحله`,
//!   `هفته`, `گام`) among its first two words followed by a number, a single letter or an
//!   ordinal (`Phase 3 (Days 61-90)`, `Week 1: ...`, `Production Phase A`, `فاز ۱: ...`), or
//!   a first word `M<digits>` (`M1 Security Baseline`);
//! - *base gates*: `base gates`, `every phase`, `all phases`, `گیت‌های پایه`...;
//! - *criteria*: `acceptance`, `exit criteria`, `definition of done`, `معیار پذیرش`...;
//! - *legend*: `legend` (its boxes are examples, never gates);
//! - *aside*: context, overview, decisions, risks, assumptions, notes, goals, references;
//! - anything else is an ordinary section.
//!
//! A single level-1 heading is the document's title (the project's name), not a section.
//!
//! **Gates.** Every item with a box (`[ ]`, `[x]`, `[X]` or `[~]`, at any depth) is a gate,
//! except a phase's status line (below), and so is every item under a criteria heading or
//! label (an item or a short paragraph such as "Acceptance" or "**Exit criteria:**"
//! introducing the list), except an item that only introduces a nested list. Items under a
//! base-gates heading or label become the project's `base_gates`. Items in a legend are
//! skipped.
//!
//! **Status lines.** A top-level item with a box directly under a phase heading (no other
//! heading in between, not nested in another item) whose text opens with `Owner:`,
//! `Owners:`, `Status:`, `مالک:` or `وضعیت:` (case-insensitive, after the box) is the
//! phase's status line (`- [~] Owner: Data  Target: ...`), not a gate: its owner is the
//! phase's owner (the default role of its `signoff` gates), and [`sync`] sets its box from
//! the phase's state.
//!
//! **Phases.** A gate belongs to the nearest open phase heading; else to the nearest ordinary
//! (or aside) section; else to the nearest criteria heading; else to the title (items before
//! any heading make a phase `roadmap`). Every phase heading becomes a phase even without gates,
//! and a phase heading whose section has no box (a status line aside) and no criterion takes
//! its plain leaf items (outside asides) as gates, so that a plan written as plain bullets is
//! not dropped. Other headings become phases only when gates belong to them. Phases are in
//! document order, each `after` the one before it.
//!
//! **Kinds.** An item whose backticked code is plainly a command (a known program with
//! arguments, `npm run test:security`, `pnpm -w smoke:x`, `cargo test`, `make lint`, or a
//! script path `./scripts/x.sh`; never a dev server such as `npm start`) becomes a `run`
//! gate (several commands are joined with `&&`). Otherwise an item naming a known check
//! becomes that probe, with a placeholder `base_url` and its parameters left to the user:
//! `webhook` (callback, replay, signature), `rbac` (403, unauthorised, admin routes),
//! `strict-input` (unknown fields, strict DTOs, mass assignment, input validation),
//! `restore-drill` (backup, restore, RTO/RPO), `rate-limit` (429, throttling),
//! `request-id`, `cors`, `headers` (security headers, CSP, HSTS, cookie flags), `health`
//! (readiness, liveness), `metrics` (Prometheus), `load` (p95, latency, req/s), `http`
//! (`GET /path`, "returns 200"). Everything else is a `signoff` gate for the roles an
//! "Owner: ..." in the item, else in its phase's section, names (slugged), else `owner`.
//!
//! **Ids.** Phase ids are the heading's slug without enumeration and parenthesised asides
//! (`m1-security-baseline`, `week-1-security-hardening`, `phase-3`), or `phase-<n>` (its
//! position) when the heading is not mostly ASCII letters. Gate ids are the item's slug (at
//! most 40 characters), or `item-<phase position>-<n>` / `item-base-<n>`. Repeats get
//! `-2`, `-3`. Titles and `item` keep the text exactly as written.
//!
//! # How a box is linked
//!
//! A gate's `item` is the text of its item. [`sync`] finds every list item whose text
//! (whitespace collapsed) equals a gate's `item`, wherever it is, so the link survives edits
//! elsewhere and moves of the item. Items linked to several gates are ticked when all pass.
//! A second box inside an item's text (`...; [x] also this`) is part of the text, not a box
//! of its own.
//!
//! A phase's status line is linked to its phase by the heading it is directly under: the
//! heading whose text (whitespace collapsed) equals the phase's `title`, as [`import`]
//! writes it (when several headings have one text, the phases with that title take them in
//! document order). [`sync`] sets it to `[x]` when the phase is done; `[~]` when it is in
//! progress or failing; `[ ]` when it is blocked, or when none of its gates has any
//! evidence (a `[~]` set by hand is set back). An item that a gate's `item` links is that
//! gate's, never a status line (a roadmap drafted before status lines existed keeps working).

mod classify;
mod import;
mod outline;
mod scan;
mod slug;
mod sync;
// what an imported probe gate's claim needs (issue 18)
mod claims;

pub use classify::FILE_PROBES;
pub use import::{ImportSummary, Imported, import};
pub use sync::{Boxed, Change, Synced, add_boxes, sync};
