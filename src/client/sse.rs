//! A reader of server-sent events (the `text/event-stream` format) over any buffered reader.

use std::io::BufRead;

/// One event: its name (`message` when unnamed), id and data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub name: String,
    pub id: Option<String>,
    pub data: String,
}

/// The events of `reader`, in order, until it ends.
pub fn events<R: BufRead>(reader: R) -> impl Iterator<Item = std::io::Result<SseEvent>> {
    let mut lines = reader.lines();
    std::iter::from_fn(move || {
        let mut event = SseEvent::default();
        let mut has_data = false;
        loop {
            let line = match lines.next() {
                None => return None,
                Some(Err(e)) => return Some(Err(e)),
                Some(Ok(line)) => line,
            };
            if line.is_empty() {
                if has_data || !event.name.is_empty() {
                    if event.name.is_empty() {
                        event.name = "message".into();
                    }
                    return Some(Ok(event));
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => event.name = value.to_string(),
                "id" => event.id = Some(value.to_string()),
                "data" => {
                    if has_data {
                        event.data.push('\n');
                    }
                    event.data.push_str(value);
                    has_data = true;
                }
                _ => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_named_events_ids_and_multiline_data() {
        let text = ": comment\nevent: line\nid: 3\ndata: {\"n\":3}\n\ndata: a\ndata: b\n\nevent: ping\ndata:\n\n";
        let got: Vec<SseEvent> = events(text.as_bytes()).map(Result::unwrap).collect();
        assert_eq!(
            got[0],
            SseEvent {
                name: "line".into(),
                id: Some("3".into()),
                data: "{\"n\":3}".into()
            }
        );
        assert_eq!(
            got[1],
            SseEvent {
                name: "message".into(),
                id: None,
                data: "a\nb".into()
            }
        );
        assert_eq!(got[2].name, "ping");
        assert_eq!(got.len(), 3);
    }
}
