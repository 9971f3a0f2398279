//! Prometheus metrics of this process. Each server instance has its own registry (no globals), so
//! tests can run several servers in one process and read each one's figures.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::protocol::{ChatKind, ErrorCode};

type Labels = Vec<(&'static str, &'static str)>;

/// How many rooms and participants there are, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Census {
    pub rooms: usize,
    pub participants: usize,
}

pub struct Metrics {
    registry: Registry,
    rooms: Gauge,
    participants: Gauge,
    messages: Family<Labels, Counter>,
    errors: Family<Labels, Counter>,
    collaboration: Collaboration,
    refusals: Family<Labels, Counter>,
}

/// Counters of chat, scheduled messages, the whiteboard, the bot and the database.
#[derive(Default)]
struct Collaboration {
    chat: Family<Labels, Counter>,
    scheduled_posted: Counter,
    whiteboard_items: Counter,
    bot_requests: Family<Labels, Counter>,
    storage_errors: Counter,
}

impl Collaboration {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "huddle_chat_messages",
            "Chat messages posted, by kind (user, scheduled, bot)",
            self.chat.clone(),
        );
        registry.register(
            "huddle_scheduled_posted",
            "Scheduled messages posted at their time",
            self.scheduled_posted.clone(),
        );
        registry.register(
            "huddle_whiteboard_items",
            "Whiteboard items drawn",
            self.whiteboard_items.clone(),
        );
        registry.register(
            "huddle_bot_requests",
            "Questions to the chat bot, by outcome (answered, failed)",
            self.bot_requests.clone(),
        );
        registry.register(
            "huddle_storage_errors",
            "Database operations that failed",
            self.storage_errors.clone(),
        );
    }
}

impl Default for Metrics {
    fn default() -> Self {
        // No registry prefix: the TURN and SFU crates register their own `huddle_*` names here.
        let mut registry = Registry::default();
        let rooms = Gauge::default();
        let participants = Gauge::default();
        let messages = Family::<Labels, Counter>::default();
        let errors = Family::<Labels, Counter>::default();
        registry.register(
            "huddle_rooms",
            "Rooms with at least one participant",
            rooms.clone(),
        );
        registry.register(
            "huddle_participants",
            "Participants in all rooms",
            participants.clone(),
        );
        registry.register(
            "huddle_signaling_messages",
            "Signaling messages received, by type",
            messages.clone(),
        );
        registry.register(
            "huddle_signaling_errors",
            "Signaling errors sent to clients, by code",
            errors.clone(),
        );
        let collaboration = Collaboration::default();
        collaboration.register(&mut registry);
        let refusals = Family::<Labels, Counter>::default();
        registry.register(
            "huddle_abuse_refusals",
            "Requests refused by an abuse limit or the origin check, by limit",
            refusals.clone(),
        );
        Self {
            registry,
            rooms,
            participants,
            messages,
            errors,
            collaboration,
            refusals,
        }
    }
}

impl Metrics {
    /// Lets other parts (TURN, SFU) add their metrics before the server starts.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    pub fn count_message(&self, kind: &'static str) {
        self.messages.get_or_create(&vec![("type", kind)]).inc();
    }

    pub fn count_error(&self, code: ErrorCode) {
        self.errors
            .get_or_create(&vec![("code", code.as_str())])
            .inc();
    }

    pub fn count_chat(&self, kind: ChatKind) {
        let labels = vec![("kind", kind.as_str())];
        self.collaboration.chat.get_or_create(&labels).inc();
    }

    pub fn count_scheduled_posted(&self) {
        self.collaboration.scheduled_posted.inc();
    }

    pub fn count_whiteboard_item(&self) {
        self.collaboration.whiteboard_items.inc();
    }

    pub fn count_bot_request(&self, answered: bool) {
        let outcome = if answered { "answered" } else { "failed" };
        let labels = vec![("outcome", outcome)];
        self.collaboration.bot_requests.get_or_create(&labels).inc();
    }

    pub fn count_storage_error(&self) {
        self.collaboration.storage_errors.inc();
    }

    /// `limit`: `connections_per_ip`, `joins_per_ip`, `password_attempts`, `message_kind_rate`,
    /// `origin`.
    pub fn count_refusal(&self, limit: &'static str) {
        self.refusals.get_or_create(&vec![("limit", limit)]).inc();
    }

    /// The Prometheus text exposition, with gauges read from the registry's census now.
    pub fn render(&self, census: Census) -> String {
        self.rooms.set(census.rooms as i64);
        self.participants.set(census.participants as i64);
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_labels_and_gauges() {
        let metrics = Metrics::default();
        metrics.count_message("join");
        metrics.count_error(ErrorCode::RoomFull);
        let text = metrics.render(Census {
            rooms: 2,
            participants: 5,
        });
        assert!(text.contains("huddle_rooms 2"), "{text}");
        assert!(text.contains("huddle_participants 5"), "{text}");
        assert!(
            text.contains(r#"huddle_signaling_messages_total{type="join"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"huddle_signaling_errors_total{code="room_full"} 1"#),
            "{text}"
        );
    }
}
