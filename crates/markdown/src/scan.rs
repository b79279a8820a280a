//! Markdown text to a flat list of blocks (headings, list items, paragraphs) with byte
//! offsets into the original text, so that an item can be found again and its checkbox
//! patched in place without re-rendering the document.

use std::ops::Range;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// A heading, a list item or a paragraph outside any list, in document order.
#[derive(Debug, Clone)]
pub(crate) enum Block {
    Heading(Heading),
    Item(Item),
    Paragraph(Paragraph),
}

/// A heading and its inline text.
#[derive(Debug, Clone)]
pub(crate) struct Heading {
    /// 1 to 6.
    pub level: u8,
    /// The heading's text as written (markup included), trimmed.
    pub text: String,
    /// 1-based line.
    pub line: usize,
}

/// A list item (bulleted or numbered, any depth).
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// Index in the block list of the item it is nested in.
    pub parent: Option<usize>,
    /// Whether a list is nested in it.
    pub has_children: bool,
    /// The text of its first paragraph as written (markup included, checkbox excluded),
    /// trimmed.
    pub text: String,
    /// The contents of its inline code spans, in order.
    pub code: Vec<String>,
    /// Its checkbox, if it has one.
    pub checkbox: Option<Checkbox>,
    /// 1-based line of the checkbox, or of the text when there is none.
    pub line: usize,
    /// Byte offset where its text starts (after the list marker and any box); `None` for
    /// an item without text.
    pub text_start: Option<usize>,
}

/// A checkbox: `[ ]`, `[x]`, `[X]` (GFM task markers) or `[~]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checkbox {
    /// Byte offset of the one character between the brackets.
    pub offset: usize,
    /// That character.
    pub mark: u8,
}

impl Checkbox {
    /// Whether the box is ticked.
    pub fn is_ticked(self) -> bool {
        matches!(self.mark, b'x' | b'X')
    }
}

/// A paragraph outside any list item (a label such as "**Acceptance criteria:**").
#[derive(Debug, Clone)]
pub(crate) struct Paragraph {
    /// Its text as written, trimmed.
    pub text: String,
}

/// The text with its runs of whitespace (line breaks and `\r` included) collapsed to one
/// space and trimmed: what two texts are compared by when an item is looked up.
pub(crate) fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What an inline event belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Container {
    Item(usize),
    Paragraph,
    Heading(usize),
    Other,
}

/// Text being gathered for a block: the span from its first to its last inline event.
#[derive(Default)]
struct Gather {
    span: Option<Range<usize>>,
    code: Vec<String>,
    checkbox: Option<Checkbox>,
    /// The item's first paragraph is over: later text is not its text.
    closed: bool,
}

impl Gather {
    fn extend(&mut self, r: &Range<usize>) {
        self.span = Some(match self.span.take() {
            Some(s) => s.start.min(r.start)..s.end.max(r.end),
            None => r.clone(),
        });
    }
}

/// Scans `src` into blocks.
pub(crate) fn scan(src: &str) -> Vec<Block> {
    let mut scanner = Scanner {
        src,
        lines: LineIndex::new(src),
        blocks: Vec::new(),
        gathers: Vec::new(),
        stack: Vec::new(),
    };
    for (event, range) in Parser::new_ext(src, Options::ENABLE_TASKLISTS).into_offset_iter() {
        scanner.event(event, range);
    }
    scanner.finish()
}

/// One scan in progress: the blocks so far, the text gathered for each (`gathers[i]`
/// belongs to `blocks[i]`) and the containers open at the current event.
struct Scanner<'s> {
    src: &'s str,
    lines: LineIndex,
    blocks: Vec<Block>,
    gathers: Vec<Gather>,
    stack: Vec<Container>,
}

impl Scanner<'_> {
    fn event(&mut self, event: Event<'_>, range: Range<usize>) {
        let target = target_of(&self.stack, &self.gathers);
        match event {
            Event::Start(tag) if is_inline(&tag) => self.extend(target, &range),
            Event::Start(tag) => self.start(&tag, &range),
            Event::End(end) if is_inline_end(end) => self.extend(target, &range),
            Event::End(end) => self.end(end),
            Event::TaskListMarker(_) => self.task_marker(target, range),
            Event::Code(code) => {
                if let Some(t) = target {
                    self.gathers[t].extend(&range);
                    self.gathers[t].code.push(code.into_string());
                }
            }
            Event::Text(_)
            | Event::InlineMath(_)
            | Event::InlineHtml(_)
            | Event::FootnoteReference(_)
            | Event::SoftBreak
            | Event::HardBreak => self.extend(target, &range),
            Event::Html(_) | Event::DisplayMath(_) | Event::Rule => {}
        }
    }

    fn extend(&mut self, target: Option<usize>, range: &Range<usize>) {
        if let Some(t) = target {
            self.gathers[t].extend(range);
        }
    }

    /// A block-level tag opens.
    fn start(&mut self, tag: &Tag<'_>, range: &Range<usize>) {
        // A block inside an item other than its first paragraph ends the item's text.
        if let Some(Container::Item(i)) = self.stack.last().copied() {
            let first_paragraph = matches!(tag, Tag::Paragraph) && self.gathers[i].span.is_none();
            if !first_paragraph {
                self.gathers[i].closed = true;
            }
            if matches!(tag, Tag::List(_))
                && let Block::Item(item) = &mut self.blocks[i]
            {
                item.has_children = true;
            }
        }
        let container = self.container(tag, self.lines.line(range.start));
        self.stack.push(container);
    }

    /// The container a block-level tag opens, after pushing its block (if it is one) that
    /// starts on `line`.
    fn container(&mut self, tag: &Tag<'_>, line: usize) -> Container {
        match tag {
            Tag::Item => {
                let parent = self.stack.iter().rev().find_map(|c| match c {
                    Container::Item(i) => Some(*i),
                    _ => None,
                });
                self.blocks.push(Block::Item(Item {
                    parent,
                    has_children: false,
                    text: String::new(),
                    code: Vec::new(),
                    checkbox: None,
                    line,
                    text_start: None,
                }));
                Container::Item(open(&mut self.gathers))
            }
            Tag::Heading { level, .. } => {
                self.blocks.push(Block::Heading(Heading {
                    level: *level as u8,
                    text: String::new(),
                    line,
                }));
                Container::Heading(open(&mut self.gathers))
            }
            Tag::Paragraph => {
                let in_item = self.stack.iter().any(|c| matches!(c, Container::Item(_)));
                if !in_item {
                    self.blocks.push(Block::Paragraph(Paragraph {
                        text: String::new(),
                    }));
                    open(&mut self.gathers);
                }
                Container::Paragraph
            }
            _ => Container::Other,
        }
    }

    /// A block-level tag closes.
    fn end(&mut self, end: TagEnd) {
        let popped = self.stack.pop();
        if let (TagEnd::Paragraph, Some(Container::Item(i))) = (end, self.stack.last().copied()) {
            self.gathers[i].closed = true;
        }
        if popped == Some(Container::Paragraph) {
            // A top-level paragraph's gather is the last one opened for it.
            if let Some(i) = paragraph_gather(&self.stack, &self.blocks) {
                self.gathers[i].closed = true;
            }
        }
    }

    fn task_marker(&mut self, target: Option<usize>, range: Range<usize>) {
        if let Some(t) = target
            && let Some(open) = self.src[range.clone()].find('[')
        {
            // The range is not always exactly `[ ]` (`"*\t\t[ ]\r"` gives `"\t[ ]"`):
            // the character that matters is the one after the first `[`.
            let offset = range.start + open + 1;
            if let Some(&mark) = self.src.as_bytes().get(offset) {
                self.gathers[t].checkbox = Some(Checkbox { offset, mark });
            }
        }
    }

    /// The blocks, each with the text gathered for it.
    fn finish(self) -> Vec<Block> {
        let Scanner {
            src,
            lines,
            mut blocks,
            gathers,
            ..
        } = self;
        for (block, gather) in blocks.iter_mut().zip(gathers) {
            let text = gather
                .span
                .clone()
                .map_or("", |s| src[s].trim_matches(is_blank))
                .to_owned();
            match block {
                Block::Heading(h) => h.text = text,
                Block::Paragraph(p) => p.text = text,
                Block::Item(item) => finish_item(item, gather, text, src, &lines),
            }
        }
        blocks
    }
}

/// Gives `item` its gathered text, code and checkbox (a GFM task marker, or a `[~]`).
fn finish_item(item: &mut Item, gather: Gather, text: String, src: &str, lines: &LineIndex) {
    item.code = gather.code;
    item.checkbox = gather.checkbox;
    item.text = text;
    item.text_start = gather
        .span
        .clone()
        .map(|s| s.start + leading_blank(&src[s]));
    if let Some(cb) = gather.checkbox {
        item.line = lines.line(cb.offset);
    } else if let Some(rest) = tilde_box(&item.text) {
        // `[~]` is not a GFM task marker: pulldown-cmark sees it as text, so it
        // is recognised here, at the very start of the item's text.
        let start = gather.span.map_or(0, |s| s.start + leading_blank(&src[s]));
        item.checkbox = Some(Checkbox {
            offset: start + 1,
            mark: b'~',
        });
        item.line = lines.line(start);
        item.text = rest.to_owned();
    }
}

/// Whitespace that may surround an item's text.
fn is_blank(c: char) -> bool {
    c.is_whitespace()
}

fn leading_blank(s: &str) -> usize {
    s.len() - s.trim_start_matches(is_blank).len()
}

/// The text after a leading `[~]` box, if the text starts with one.
fn tilde_box(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("[~]")?;
    (rest.is_empty() || rest.starts_with(is_blank)).then(|| rest.trim_matches(is_blank))
}

/// Opens the gather of the block just pushed: `gathers[i]` belongs to `blocks[i]`.
fn open(gathers: &mut Vec<Gather>) -> usize {
    gathers.push(Gather::default());
    gathers.len() - 1
}

/// The gather that inline text goes to, given the open containers.
fn target_of(stack: &[Container], gathers: &[Gather]) -> Option<usize> {
    let mut blocks = stack.iter().rev();
    match blocks.next()? {
        Container::Heading(i) => Some(*i),
        Container::Item(i) => (!gathers[*i].closed).then_some(*i),
        Container::Paragraph => match blocks.next() {
            Some(Container::Item(i)) => (!gathers[*i].closed).then_some(*i),
            Some(Container::Other) | None => stack_paragraph(stack, gathers),
            _ => None,
        },
        Container::Other => None,
    }
}

/// The gather of the open top-level paragraph: paragraphs outside items are the only
/// containers without an index, and at most one is open, the last one opened.
fn stack_paragraph(stack: &[Container], gathers: &[Gather]) -> Option<usize> {
    if stack.iter().any(|c| matches!(c, Container::Item(_))) {
        return None;
    }
    let last = gathers.len().checked_sub(1)?;
    (!gathers[last].closed).then_some(last)
}

fn paragraph_gather(stack: &[Container], blocks: &[Block]) -> Option<usize> {
    if stack.iter().any(|c| matches!(c, Container::Item(_))) {
        return None;
    }
    blocks
        .iter()
        .rposition(|b| matches!(b, Block::Paragraph(_)))
}

fn is_inline(tag: &Tag<'_>) -> bool {
    matches!(
        tag,
        Tag::Emphasis
            | Tag::Strong
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript
            | Tag::Link { .. }
            | Tag::Image { .. }
    )
}

fn is_inline_end(end: TagEnd) -> bool {
    matches!(
        end,
        TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript
            | TagEnd::Link
            | TagEnd::Image
    )
}

/// Byte offset to 1-based line number.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(src: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(src: &str) -> Vec<Item> {
        scan(src)
            .into_iter()
            .filter_map(|b| match b {
                Block::Item(i) => Some(i),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn items_with_boxes_nesting_and_code() {
        let src = "# T\n\n- Tasks\n  - [x] run `cargo test` now\n  - [ ] two\n    lines\n- [~] doing\n- plain\n";
        let it = items(src);
        let texts: Vec<_> = it.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Tasks",
                "run `cargo test` now",
                "two\n    lines",
                "doing",
                "plain"
            ]
        );
        assert!(it[0].has_children);
        assert_eq!(it[1].parent, Some(1), "block index of `Tasks`");
        assert_eq!(it[1].code, ["cargo test"]);
        let marks: Vec<_> = it.iter().map(|i| i.checkbox.map(|c| c.mark)).collect();
        assert_eq!(marks, [None, Some(b'x'), Some(b' '), Some(b'~'), None]);
        for i in &it {
            if let Some(cb) = i.checkbox {
                assert_eq!(&src[cb.offset - 1..cb.offset], "[");
            }
        }
        assert_eq!(it[3].line, 7);
    }

    #[test]
    fn headings_and_paragraphs() {
        let src = "## فاز ۱: آماده‌سازی ##\n\n**Acceptance criteria:**\n\n- a\n";
        let b = scan(src);
        let Block::Heading(h) = &b[0] else { panic!() };
        assert_eq!((h.level, h.text.as_str()), (2, "فاز ۱: آماده‌سازی"));
        let Block::Paragraph(p) = &b[1] else { panic!() };
        assert_eq!(p.text, "**Acceptance criteria:**");
        assert!(matches!(&b[2], Block::Item(i) if i.text == "a"));
    }

    #[test]
    fn loose_item_text_is_its_first_paragraph() {
        let src = "- [ ] first\n\n  second paragraph\n\n- [x] next\n";
        let it = items(src);
        assert_eq!(it[0].text, "first");
        assert_eq!(it[1].text, "next");
    }

    #[test]
    fn odd_marker_range() {
        let it = items("*\t\t[ ]\r");
        let cb = it[0].checkbox.expect("a task marker");
        assert_eq!((cb.offset, cb.mark), (4, b' '));
    }

    #[test]
    fn normalize_collapses_whitespace() {
        assert_eq!(normalize("  a\r\n   b\tc "), "a b c");
    }
}
