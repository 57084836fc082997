//! The announce `event` parameter (BEP 3, plus `paused` from BEP 21).

/// Why a peer announces now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    Started,
    Completed,
    Stopped,
    /// BEP 21: the peer stays in the swarm but is not downloading for now.
    Paused,
    /// No event (absent, empty or `empty`): the periodic re-announce.
    Update,
}

impl Event {
    pub const ALL: [Event; 5] = [
        Event::Started,
        Event::Completed,
        Event::Stopped,
        Event::Paused,
        Event::Update,
    ];

    /// The name used as a metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Event::Started => "started",
            Event::Completed => "completed",
            Event::Stopped => "stopped",
            Event::Paused => "paused",
            Event::Update => "update",
        }
    }

    /// The value sent as `event=`; `None` for [`Event::Update`], which sends no `event`.
    pub fn as_param(self) -> Option<&'static str> {
        match self {
            Event::Update => None,
            other => Some(other.label()),
        }
    }

    /// The event named by a decoded `event` value.
    pub fn from_param(raw: &[u8]) -> Option<Self> {
        Some(match raw {
            b"started" => Event::Started,
            b"completed" => Event::Completed,
            b"stopped" => Event::Stopped,
            b"paused" => Event::Paused,
            b"" | b"empty" => Event::Update,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_round_trips_through_its_param() {
        for event in Event::ALL {
            let param = event.as_param().unwrap_or("");
            assert_eq!(
                Event::from_param(param.as_bytes()),
                Some(event),
                "{event:?}"
            );
        }
        assert_eq!(Event::from_param(b"empty"), Some(Event::Update));
        assert_eq!(Event::from_param(b"begun"), None);
        assert_eq!(Event::from_param(b"Started"), None);
    }
}
