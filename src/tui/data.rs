//! The TUI's data worker: one thread that logs in to the daemon, keeps the task list and recent
//! runs fresh (the run stream's changes merged as they come, the task list read again at most
//! once a second; never polling), carries out the UI's commands, and follows the open run's
//! log. Everything read is a wire type of `crate::api`. When the daemon goes away it reports it
//! and keeps retrying every second, so the UI picks up again by itself. The notifications are
//! followed the same way (`bell_feed.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::app::{Command, LineKind, LogLine, Msg, RunRow, TaskRow};
use super::bell_feed::{self, Feed};
use super::update::{HISTORY, RECENT};
use crate::api;
use crate::client::{self, Client, ClientError, RunView};

/// What the UI loop receives.
pub enum UiEvent {
    Input(crossterm::event::Event),
    /// Boxed: a message can be large, a key press is small.
    Data(Box<Msg>),
}

/// Commands plus the worker's own wake-ups.
pub enum Work {
    Ui(Command),
    Refresh,
    /// A run changed (from the run stream).
    Changed(Box<RunView>),
    /// The coalescing window of changes is over: hand them to the UI.
    Flush,
    Lost,
    /// A notification was created or changed (from the notifications stream).
    Notification(Box<api::NotificationObject>),
    /// Notifications changed in a way the stream does not carry (all read, changes missed):
    /// read the first page again.
    NotificationsStale,
}

pub fn task_row(t: &api::TaskObject) -> TaskRow {
    TaskRow {
        name: t.name.clone(),
        service: t.kind == crate::engine::model::RunKind::Service,
        group: t.group.clone(),
        description: t.description.clone(),
        cron: t.cron.clone(),
        schedule_words: t.schedule.clone(),
        timezone: t.timezone.clone(),
        next_run_at: t.next_run_at.clone(),
        api_trigger: t.api_trigger,
        max_concurrent: t.max_concurrent,
        on_overlap: t.on_overlap.clone(),
        instances: t.instances,
        active_runs: t.active_runs.clone(),
        last: t.last_run.as_ref().map(|l| RunRow {
            id: l.id.clone(),
            task_name: t.name.clone(),
            status: l.status.to_string(),
            end_reason: l.end_reason,
            exit_code: l.exit_code,
            start_at: l.start_at.clone(),
            ..RunRow::default()
        }),
        service_state: t.state.clone(),
    }
}

/// Where and how to log in.
#[derive(Clone)]
pub struct Login {
    pub url: String,
    pub password: String,
    /// The local daemon's Unix socket: used first (no password, no login throttle), with the
    /// URL and password as the fallback.
    pub socket: Option<std::path::PathBuf>,
}

impl Login {
    fn connect(&self) -> Result<Client, ClientError> {
        if let Some(Ok(client)) = self.socket.as_deref().map(Client::local) {
            return Ok(client);
        }
        Client::login(&self.url, &self.password)
    }
}

/// Starts the worker; commands go in through the returned sender.
pub fn spawn(login: Login, ui: Sender<UiEvent>) -> std::io::Result<Sender<Work>> {
    let (tx, rx) = std::sync::mpsc::channel::<Work>();
    let own = tx.clone();
    std::thread::Builder::new()
        .name("runwisp-tui-data".into())
        .spawn(move || worker(login, ui, rx, own))?;
    Ok(tx)
}

pub(super) fn send(ui: &Sender<UiEvent>, msg: Msg) -> bool {
    ui.send(UiEvent::Data(Box::new(msg))).is_ok()
}

fn worker(login: Login, ui: Sender<UiEvent>, rx: Receiver<Work>, own: Sender<Work>) {
    let follow_generation = Arc::new(AtomicU64::new(0));
    // Every attempt to connect has a new number: the notifications stream of an earlier one
    // stops.
    let connection = Arc::new(AtomicU64::new(0));
    loop {
        let mine = connection.fetch_add(1, Ordering::SeqCst) + 1;
        let client = match login.connect() {
            Ok(c) => c,
            Err(e) => {
                // A refused login (wrong password, throttled) is retried slowly, so the UI never
                // feeds the daemon's login throttle; an unreachable daemon is retried every second.
                let wait = if e.status().is_some() {
                    Duration::from_secs(30)
                } else {
                    Duration::from_secs(1)
                };
                if !send(
                    &ui,
                    Msg::Disconnected {
                        reason: e.to_string(),
                    },
                ) {
                    return;
                }
                // Keep the UI responsive to commands while waiting, for the whole wait: they
                // cannot be carried out, and must not cut the wait short.
                let until = Instant::now() + wait;
                while let Some(left) = until.checked_duration_since(Instant::now()) {
                    match rx.recv_timeout(left) {
                        Ok(Work::Ui(_)) => {
                            send(
                                &ui,
                                Msg::Offline(
                                    "not connected to the daemon; try again when it is back".into(),
                                ),
                            );
                        }
                        Err(RecvTimeoutError::Disconnected) => return,
                        Ok(_) => {}
                        Err(RecvTimeoutError::Timeout) => break,
                    }
                }
                continue;
            }
        };
        // Who answers, for the sidebar's header; unknown (blank) if health cannot say.
        let (version, fingerprint) = client::health(&login.url)
            .map(|h| (h.version, h.fingerprint))
            .unwrap_or_default();
        let connected = Msg::Connected {
            version,
            fingerprint,
        };
        if !send(&ui, connected) {
            return;
        }
        if let Err(e) = watch_runs(&client, own.clone()) {
            send(&ui, Msg::Notice(format!("cannot watch the daemon for changes ({e}); lists refresh after your actions only")));
        }
        if let Err(e) = bell_feed::watch(&client, own.clone(), connection.clone(), mine) {
            send(
                &ui,
                Msg::Notice(format!("cannot follow the notifications ({e})")),
            );
        }
        let mut feed = Feed::default();
        feed.stale(true);
        let mut current_task: Option<String> = None;
        // The first refresh goes through the loop, so a failure is handled like any other.
        let _ = own.send(Work::Refresh);
        let mut changes = Coalesced::default();
        let mut config_at = Instant::now() + CONFIG_EVERY;
        loop {
            if Instant::now() >= config_at {
                config_at = Instant::now() + CONFIG_EVERY;
                let _ = read_config(&client, &ui);
            }
            let due = [changes.due(), feed.due(), Some(config_at)]
                .into_iter()
                .flatten()
                .min();
            let work = match due {
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            };
            let work = match work {
                Ok(w) => w,
                Err(RecvTimeoutError::Timeout) => Work::Flush,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let result = match work {
                Work::Lost => break,
                Work::Refresh => refresh(&client, &ui, current_task.as_deref()),
                Work::Changed(run) => {
                    changes.add(RunRow::from(&*run));
                    Ok(())
                }
                // The notifications' read may be what is due instead.
                Work::Flush if changes.due().is_none_or(|at| at > Instant::now()) => Ok(()),
                Work::Flush => changes.flush(&client, &ui),
                Work::Notification(n) => {
                    feed.changed(&ui, n);
                    Ok(())
                }
                Work::NotificationsStale => {
                    feed.stale(true);
                    Ok(())
                }
                Work::Ui(Command::MarkRead(id)) => feed.mark_read(&client, &ui, &id),
                Work::Ui(Command::MarkAllRead) => feed.mark_all_read(&client, &ui),
                Work::Ui(Command::OpenRun(id)) => bell_feed::open_run(&client, &ui, &id),
                Work::Ui(Command::LoadTree(id)) => client.tree(&id).map(|tree| {
                    let lines = crate::api::pipelines::lines(&tree.steps);
                    send(&ui, Msg::Tree { run: id, lines });
                }),
                Work::Ui(Command::LoadRuns(task)) => {
                    current_task = Some(task.clone());
                    load_runs(&client, &ui, &task)
                }
                Work::Ui(Command::Trigger(task)) => client.trigger(&task, "tui").map(|run| {
                    send(&ui, Msg::Triggered(RunRow::from(&run)));
                }),
                Work::Ui(Command::Restart(s)) => {
                    client.post(&format!("/api/tasks/{s}/restart")).map(|_| {
                        send(&ui, Msg::Notice(format!("restarting {s}")));
                    })
                }
                Work::Ui(Command::StopService(s)) => {
                    client.post(&format!("/api/tasks/{s}/stop")).map(|_| {
                        send(&ui, Msg::Notice(format!("stopped service {s}")));
                    })
                }
                Work::Ui(Command::StopRun(id)) => client.stop_run(&id).map(|_| {
                    send(
                        &ui,
                        Msg::Notice(format!("stopping run {}", super::app::run_label(&id))),
                    );
                }),
                Work::Ui(Command::FollowLog(id)) => {
                    if let Err(e) =
                        follow(client.clone(), ui.clone(), id, follow_generation.clone())
                    {
                        send(&ui, Msg::Notice(format!("cannot follow the log: {e}")));
                    }
                    Ok(())
                }
            };
            let result = result.and_then(|()| feed.run(&client, &ui));
            match result {
                Ok(()) => {}
                Err(ClientError::Api { detail, .. }) => {
                    send(&ui, Msg::Notice(detail));
                }
                Err(e) => {
                    send(
                        &ui,
                        Msg::Disconnected {
                            reason: e.to_string(),
                        },
                    );
                    break;
                }
            }
        }
    }
}

/// Changes are handed to the UI at most once per [`WINDOW`]; the task list (next firings,
/// service states), which the changes cannot update alone, is read again at most once per
/// [`TASKS_EVERY`]. Whatever the event rate, the TUI makes a bounded number of requests.
const WINDOW: Duration = Duration::from_millis(100);
const TASKS_EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Coalesced {
    runs: Vec<RunRow>,
    flush_at: Option<Instant>,
    tasks_read: Option<Instant>,
    tasks_stale: bool,
}

impl Coalesced {
    fn due(&self) -> Option<Instant> {
        self.flush_at
    }

    fn add(&mut self, run: RunRow) {
        match self.runs.iter_mut().find(|r| r.id == run.id) {
            Some(known) => *known = run,
            None => self.runs.push(run),
        }
        self.tasks_stale = true;
        self.flush_at.get_or_insert_with(|| Instant::now() + WINDOW);
    }

    fn flush(&mut self, client: &Client, ui: &Sender<UiEvent>) -> Result<(), ClientError> {
        self.flush_at = None;
        if !self.runs.is_empty() {
            send(ui, Msg::RunsChanged(std::mem::take(&mut self.runs)));
        }
        if !self.tasks_stale {
            return Ok(());
        }
        let now = Instant::now();
        match self.tasks_read {
            Some(last) if now.duration_since(last) < TASKS_EVERY => {
                // Read later, once: keep a flush pending for it.
                self.flush_at = Some(last + TASKS_EVERY);
                Ok(())
            }
            _ => {
                self.tasks_read = Some(now);
                self.tasks_stale = false;
                read_tasks(client, ui)
            }
        }
    }
}

/// How often the sidebar asks whether the configuration file was edited.
const CONFIG_EVERY: Duration = Duration::from_secs(15);

/// Whether the daemon runs what its file says, for the sidebar's header.
fn read_config(client: &Client, ui: &Sender<UiEvent>) -> Result<(), ClientError> {
    let info: api::Info = client.get("/api/info")?;
    let drift = super::app::ConfigDrift {
        edited: info.config_on_disk == "differs",
        restart: !info.needs_restart.is_empty(),
    };
    send(ui, Msg::Config(drift));
    Ok(())
}

fn read_tasks(client: &Client, ui: &Sender<UiEvent>) -> Result<(), ClientError> {
    let tasks: api::TaskList = client.get("/api/tasks")?;
    send(ui, Msg::Tasks(tasks.tasks.iter().map(task_row).collect()));
    Ok(())
}

fn refresh(client: &Client, ui: &Sender<UiEvent>, task: Option<&str>) -> Result<(), ClientError> {
    read_tasks(client, ui)?;
    // The sidebar's note about the file is a nicety: without it the lists still stand.
    let _ = read_config(client, ui);
    let recent: api::RunPage = client.get(&format!("/api/runs?limit={RECENT}"))?;
    send(
        ui,
        Msg::Recent(recent.runs.iter().map(RunRow::from).collect()),
    );
    if let Some(task) = task {
        load_runs(client, ui, task)?;
    }
    Ok(())
}

fn load_runs(client: &Client, ui: &Sender<UiEvent>, task: &str) -> Result<(), ClientError> {
    let page: api::RunPage = client.get(&format!("/api/tasks/{task}/runs?limit={HISTORY}"))?;
    send(
        ui,
        Msg::Runs {
            task: task.to_string(),
            runs: page.runs.iter().map(RunRow::from).collect(),
        },
    );
    Ok(())
}

/// Reads the run stream in its own thread: every change goes to the worker as it is (the run
/// object the event carries); its end means the connection was lost.
fn watch_runs(client: &Client, work: Sender<Work>) -> std::io::Result<()> {
    let client = client.clone();
    std::thread::Builder::new()
        .name("runwisp-tui-runs".into())
        .spawn(move || {
            // The stream ending and the stream failing mean the same here: the connection is
            // gone. The worker reconnects, and a refused login shows its reason then.
            let _ = client.stream("/api/runs/stream", |event| {
                if !event.name.starts_with("run.") {
                    // `lagged`: changes were missed; `config.reloaded`: the tasks changed. Read
                    // the lists again.
                    let stale = matches!(event.name.as_str(), "lagged" | "config.reloaded");
                    return !stale || work.send(Work::Refresh).is_ok();
                }
                match serde_json::from_str::<RunView>(&event.data) {
                    Ok(run) => work.send(Work::Changed(Box::new(run))).is_ok(),
                    Err(_) => work.send(Work::Refresh).is_ok(),
                }
            });
            let _ = work.send(Work::Lost);
        })?;
    Ok(())
}

/// A webhook delivery in a few words: `webhook push main@0123456 acme/app`.
fn webhook_summary(w: &api::WebhookInfo) -> String {
    let mut parts = vec![format!("{} webhook", w.provider)];
    if let Some(event) = &w.event {
        parts.push(event.clone());
    }
    let at = w.branch.clone().or_else(|| w.git_ref.clone());
    match (at, &w.sha) {
        (Some(at), Some(sha)) => parts.push(format!("{at}@{}", &sha[..sha.len().min(7)])),
        (Some(at), None) => parts.push(at),
        (None, Some(sha)) => parts.push(sha[..sha.len().min(7)].to_string()),
        (None, None) => {}
    }
    if let Some(repo) = &w.repo {
        parts.push(repo.clone());
    }
    parts.join(" ")
}

/// Follows a run's log in its own thread; a newer follow ends an older one.
fn follow(
    client: Client,
    ui: Sender<UiEvent>,
    id: String,
    generation: Arc<AtomicU64>,
) -> std::io::Result<()> {
    let mine = generation.fetch_add(1, Ordering::SeqCst) + 1;
    std::thread::Builder::new()
        .name("runwisp-tui-log".into())
        .spawn(move || {
            let current = || generation.load(Ordering::SeqCst) == mine;
            // A webhook's run says in its header which delivery started it.
            if let Some(summary) = client
                .run(&id)
                .ok()
                .and_then(|run| run.webhook)
                .map(|w| webhook_summary(&w))
            {
                let _ = ui.send(UiEvent::Data(Box::new(Msg::RunWebhook {
                    run: id.clone(),
                    summary,
                })));
            }
            let ended = client.follow_log(&id, -(super::app::MAX_LOG_LINES as i64), |event| {
                if !current() || event.name != "line" {
                    return;
                }
                let Ok(wire) = serde_json::from_str::<api::LogLine>(&event.data) else {
                    return;
                };
                let kind = match wire.stream {
                    api::LogStream::Stderr => LineKind::Stderr,
                    api::LogStream::System => LineKind::System,
                    api::LogStream::Stdout => LineKind::Stdout,
                };
                let line = LogLine {
                    n: wire.n,
                    kind,
                    text: wire.text,
                };
                let _ = ui.send(UiEvent::Data(Box::new(Msg::LogLine {
                    run: id.clone(),
                    line,
                })));
            });
            if !current() {
                return;
            }
            let _ = ui.send(UiEvent::Data(Box::new(match ended {
                Ok(run) => Msg::LogDone {
                    run: RunRow::from(&run),
                },
                // A refusal stays; a cut stream is the lost connection, and following starts
                // again once the daemon is back.
                Err(e @ ClientError::Api { .. }) => {
                    Msg::Notice(format!("stopped following the log: {e}"))
                }
                Err(e) => Msg::Offline(format!("stopped following the log: {e}")),
            })));
        })?;
    Ok(())
}
