//! Typing after `/` (a log search, or the sidebar filter) and moving between a log search's
//! matches: the first match from the top on `enter`, then the next and previous ones, wrapping
//! around at either end like a pager.

use crossterm::event::KeyCode;

use super::app::{App, Focus, View};
use super::keymap::Key;

impl App {
    /// A key while the search (or filter) line is open: text, `enter` applies, `esc` clears.
    pub(super) fn search_key(&mut self, key: Key) {
        let Some(input) = self.search_input.as_mut() else {
            return;
        };
        match key.code {
            KeyCode::Enter => {
                let term = Some(input.clone()).filter(|t| !t.is_empty());
                self.search_input = None;
                if self.focus == Focus::Sidebar {
                    self.set_filter(term);
                } else {
                    self.search = term;
                    self.jump_to_match();
                }
            }
            KeyCode::Esc => {
                self.search_input = None;
                if self.focus == Focus::Sidebar {
                    self.set_filter(None);
                } else {
                    self.search = None;
                }
            }
            KeyCode::Backspace => {
                input.pop();
            }
            KeyCode::Char(c) => input.push(c),
            _ => {}
        }
    }

    /// Shows the first line that matches the search.
    fn jump_to_match(&mut self) {
        let Some(term) = self.search.clone() else {
            return;
        };
        if self.view == View::Run {
            if let Some(i) = self.log.lines.iter().position(|l| l.text.contains(&term)) {
                self.log.follow = false;
                self.log.top = i;
            } else {
                self.say(format!("{term:?} is not in the log"));
            }
        }
    }

    /// Shows the next (or previous) matching line after (before) the one at the top, wrapping
    /// around once.
    pub(super) fn search_step(&mut self, forward: bool) {
        if self.view != View::Run {
            return;
        }
        let Some(term) = self.search.clone() else {
            self.say("no search yet: / searches the log");
            return;
        };
        let len = self.log.lines.len();
        if len == 0 {
            return;
        }
        // Following shows the end: the next match is the first one, the previous the last one.
        let from = if self.log.follow {
            if forward {
                len - 1
            } else {
                0
            }
        } else {
            self.log.top.min(len - 1)
        };
        let order: Box<dyn Iterator<Item = usize>> = if forward {
            Box::new((from + 1..len).chain(0..=from))
        } else {
            Box::new((0..from).rev().chain((from..len).rev()))
        };
        let following = self.log.follow;
        let mut wrapped = false;
        for i in order {
            if (forward && i <= from) || (!forward && i >= from) {
                wrapped = true;
            }
            if self.log.lines[i].text.contains(&term) {
                self.log.follow = false;
                self.log.top = i;
                if wrapped && !following {
                    self.say(if forward {
                        "search went on from the top"
                    } else {
                        "search went on from the bottom"
                    });
                }
                return;
            }
        }
        self.say(format!("{term:?} is not in the log"));
    }
}
