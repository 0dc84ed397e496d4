//! The event as sent to `webhook` and `command` notifiers (`notifications.md` §5).
