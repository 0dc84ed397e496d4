//! Outbound notification channels (`notifications.md` §2, §4, §5): Slack, Discord, Telegram,
//! email, webhook and command. Each takes one rendered event and one notifier and answers what
//! happened (delivered, retry later, given up); the engine decides what to send and when, and
//! keeps the durable outbox these sends drain.
