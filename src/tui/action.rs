//! The closed vocabulary of things a key can do; a keymap file names them in snake_case.
//! Internal events (data arriving, resizes) are not actions and cannot be bound.

/// Something the operator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Up,
    Down,
    PageUp,
    PageDown,
    Left,
    Right,
    NextPane,
    Open,
    Back,
    Run,
    Stop,
    Fullscreen,
    Follow,
    Top,
    Search,
    /// The next line that matches the log's search (wrapping around).
    SearchNext,
    /// The previous line that matches the log's search (wrapping around).
    SearchPrev,
    /// Opens (or closes) the notifications list.
    Notifications,
    /// Marks read the notification selected in the list, or elsewhere the one in the footer.
    MarkRead,
    /// Marks every notification read.
    MarkAllRead,
    Help,
    Confirm,
    Cancel,
}

const NAMES: [(&str, Action); 24] = [
    ("quit", Action::Quit),
    ("up", Action::Up),
    ("down", Action::Down),
    ("page_up", Action::PageUp),
    ("page_down", Action::PageDown),
    ("left", Action::Left),
    ("right", Action::Right),
    ("next_pane", Action::NextPane),
    ("open", Action::Open),
    ("back", Action::Back),
    ("run", Action::Run),
    ("stop", Action::Stop),
    ("fullscreen", Action::Fullscreen),
    ("follow", Action::Follow),
    ("top", Action::Top),
    ("search", Action::Search),
    ("search_next", Action::SearchNext),
    ("search_prev", Action::SearchPrev),
    ("notifications", Action::Notifications),
    ("mark_read", Action::MarkRead),
    ("mark_all_read", Action::MarkAllRead),
    ("help", Action::Help),
    ("confirm", Action::Confirm),
    ("cancel", Action::Cancel),
];

impl Action {
    pub fn parse(name: &str) -> Result<Action, String> {
        NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| *a)
            .ok_or_else(|| {
                let known: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
                format!("unknown action {name:?}; actions are {}", known.join(", "))
            })
    }

    /// How the footer and help overlay describe it.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Left => "left pane",
            Action::Right => "right pane",
            Action::NextPane => "switch pane",
            Action::Open => "open",
            Action::Back => "back",
            Action::Run => "run / restart",
            Action::Stop => "stop",
            Action::Fullscreen => "fullscreen",
            Action::Follow => "follow",
            Action::Top => "top",
            Action::Search => "search",
            Action::SearchNext => "next match",
            Action::SearchPrev => "previous match",
            Action::Notifications => "notifications",
            Action::MarkRead => "mark read",
            Action::MarkAllRead => "mark all read",
            Action::Help => "help",
            Action::Confirm => "confirm",
            Action::Cancel => "cancel",
        }
    }
}
