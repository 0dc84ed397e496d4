//! Themes as data: colours named by role over a palette, embedded at build time, chosen with
//! `--theme NAME|FILE`; `NO_COLOR` turns colour off (emphasis stays).

use std::collections::HashMap;

use ratatui::style::{Color, Modifier, Style};
use toml::de::{DeTable, DeValue};

use crate::engine::config::SourceMap;

pub const BUILT_IN: [(&str, &str); 4] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("ansi16", include_str!("../../themes/ansi16.toml")),
];

const ROLES: [&str; 10] = [
    "base",
    "muted",
    "accent",
    "ok",
    "warn",
    "error",
    "running",
    "selection",
    "border",
    "title",
];

/// Resolved colours by role.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    colors: HashMap<&'static str, Color>,
    no_color: bool,
}

fn ansi(name: &str) -> Option<Color> {
    Some(match name {
        "reset" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" => Color::Gray,
        "dark_gray" => Color::DarkGray,
        "light_red" => Color::LightRed,
        "light_green" => Color::LightGreen,
        "light_yellow" => Color::LightYellow,
        "light_blue" => Color::LightBlue,
        "light_magenta" => Color::LightMagenta,
        "light_cyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return None,
    })
}

fn hex(text: &str) -> Option<Color> {
    let h = text.strip_prefix('#')?;
    if h.len() != 6 {
        return None;
    }
    let v = u32::from_str_radix(h, 16).ok()?;
    Some(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8))
}

impl Theme {
    /// A built-in theme by name, or a theme file by path.
    pub fn load(name_or_file: &str, no_color: bool) -> Result<Theme, String> {
        if let Some((_, text)) = BUILT_IN.iter().find(|(n, _)| *n == name_or_file) {
            return Theme::parse(&format!("themes/{name_or_file}.toml"), text, no_color);
        }
        let path = std::path::Path::new(name_or_file);
        if !path.exists() {
            let names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "there is no theme {name_or_file:?}: use one of {} or the path of a theme file",
                names.join(", ")
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {name_or_file}: {e}"))?;
        Theme::parse(name_or_file, &text, no_color)
    }

    /// Parses a theme file; errors name the file, line and column.
    pub fn parse(label: &str, text: &str, no_color: bool) -> Result<Theme, String> {
        let source = SourceMap::new(label, text);
        let at = |span: std::ops::Range<usize>, message: String| {
            source.error(span, "", message).to_string()
        };
        let (doc, syntax) = DeTable::parse_recoverable(text);
        if let Some(e) = syntax.first() {
            return Err(at(
                e.span().unwrap_or(0..0),
                format!("TOML syntax error: {}", e.message().trim()),
            ));
        }
        let mut palette: HashMap<String, Color> = HashMap::new();
        let mut name = label.to_string();
        let mut colors = HashMap::new();
        for (key, value) in doc.get_ref().iter() {
            match (key.get_ref().as_ref(), value.get_ref()) {
                ("name", DeValue::String(n)) => name = n.to_string(),
                ("palette", DeValue::Table(t)) => {
                    for (k, v) in t.iter() {
                        let color = v
                            .get_ref()
                            .as_str()
                            .and_then(|s| hex(s).or_else(|| ansi(s)));
                        let color = color.ok_or_else(|| {
                            at(
                                v.span(),
                                "a palette colour is \"#rrggbb\" or an ANSI colour name".into(),
                            )
                        })?;
                        palette.insert(k.get_ref().to_string(), color);
                    }
                }
                ("roles", DeValue::Table(t)) => {
                    for (k, v) in t.iter() {
                        let role = ROLES
                            .iter()
                            .find(|r| **r == k.get_ref().as_ref())
                            .ok_or_else(|| {
                                at(
                                    k.span(),
                                    format!(
                                        "unknown role {:?}; roles are {}",
                                        k.get_ref(),
                                        ROLES.join(", ")
                                    ),
                                )
                            })?;
                        let text = v.get_ref().as_str().unwrap_or_default();
                        let color = palette
                            .get(text)
                            .copied()
                            .or_else(|| hex(text))
                            .or_else(|| ansi(text));
                        let color = color.ok_or_else(|| {
                            at(
                                v.span(),
                                format!("{text:?} is neither a palette name nor a colour"),
                            )
                        })?;
                        colors.insert(*role, color);
                    }
                }
                (other, _) => {
                    return Err(at(
                        key.span(),
                        format!("unknown key {other:?}; a theme has name, [palette] and [roles]"),
                    ))
                }
            }
        }
        if let Some(missing) = ROLES.iter().find(|r| !colors.contains_key(*r)) {
            return Err(at(
                0..0,
                format!("the theme does not set the role {missing:?}"),
            ));
        }
        Ok(Theme {
            name,
            colors,
            no_color,
        })
    }

    fn color(&self, role: &str) -> Color {
        if self.no_color {
            return Color::Reset;
        }
        self.colors.get(role).copied().unwrap_or(Color::Reset)
    }

    pub fn style(&self, role: &str) -> Style {
        Style::default().fg(self.color(role))
    }

    pub fn base(&self) -> Style {
        self.style("base")
    }

    /// The selected row: the selection colour behind, or reverse video without colour.
    pub fn selection(&self) -> Style {
        if self.no_color {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
                .bg(self.color("selection"))
                .add_modifier(Modifier::BOLD)
        }
    }

    pub fn title(&self) -> Style {
        self.style("title").add_modifier(Modifier::BOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_loads() {
        for (name, _) in BUILT_IN {
            let theme = Theme::load(name, false).unwrap();
            assert_eq!(theme.name, name);
        }
        let dark = Theme::load("dark", false).unwrap();
        assert_eq!(dark.style("error").fg, Some(Color::Rgb(0xbf, 0x61, 0x6a)));
        let plain = Theme::load("dark", true).unwrap();
        assert_eq!(plain.style("error").fg, Some(Color::Reset));
    }

    #[test]
    fn a_bad_theme_file_is_reported_with_its_line() {
        let text = "name = \"mine\"\n[roles]\nbase = \"white\"\nerror = \"purplish\"\n";
        assert_eq!(
            Theme::parse("mine.toml", text, false).unwrap_err(),
            "mine.toml:4:9: \"purplish\" is neither a palette name nor a colour"
        );
        let text = "[roles]\nshiny = \"red\"\n";
        assert!(Theme::parse("t.toml", text, false)
            .unwrap_err()
            .starts_with("t.toml:2:1: unknown role \"shiny\""));
        assert!(Theme::load("no-such-theme", false)
            .unwrap_err()
            .starts_with("there is no theme \"no-such-theme\""));
    }
}
