//! The attribution rule on made-up processes: which run an adopted orphan belongs to.

use super::*;

fn orphan(pid: i32, pgid: i32, sid: i32, start_time: u64) -> ProcStat {
    ProcStat {
        pid,
        ppid: 1,
        pgid,
        sid,
        zombie: false,
        start_time,
    }
}

fn other(since: u64, pgid: i32, pipes: &[u64], ending: bool) -> Other {
    Other {
        since: Some(since),
        pgid: Some(pgid),
        pipes: pipes.to_vec(),
        ending,
    }
}

fn view(others: Vec<Other>) -> View {
    View {
        since: 100,
        pgid: Some(10),
        pipes: vec![7, 8],
        others,
    }
}

#[test]
fn alone_every_young_orphan_is_ours() {
    let o = orphan(50, 50, 50, 120);
    assert_eq!(
        attribute(&view(vec![]), &o, &[], &HashSet::new()),
        Verdict::Ours
    );
}

#[test]
fn holding_a_pipe_names_the_run() {
    let others = vec![other(90, 20, &[9], false)];
    let o = orphan(50, 50, 50, 120);
    assert_eq!(
        attribute(&view(others.clone()), &o, &[8], &HashSet::new()),
        Verdict::Ours
    );
    assert_eq!(
        attribute(&view(others), &o, &[9], &HashSet::new()),
        Verdict::Theirs
    );
}

#[test]
fn a_shared_group_or_session_names_the_run() {
    let others = vec![other(90, 20, &[9], false)];
    let in_our_session = orphan(51, 51, 40, 120);
    let groups = HashSet::from([40]);
    assert_eq!(
        attribute(&view(others.clone()), &in_our_session, &[], &groups),
        Verdict::Ours
    );
    let in_their_group = orphan(52, 20, 52, 120);
    assert_eq!(
        attribute(&view(others), &in_their_group, &[], &HashSet::new()),
        Verdict::Theirs
    );
}

#[test]
fn an_orphan_another_running_run_may_have_left_is_left_alone() {
    let o = orphan(50, 50, 50, 120);
    let none = HashSet::new();
    // Older and running: it may be theirs.
    let older = vec![other(90, 20, &[9], false)];
    assert_eq!(attribute(&view(older), &o, &[], &none), Verdict::Unsure);
    // Started after the orphan: it cannot be theirs.
    let younger = vec![other(130, 20, &[9], false)];
    assert_eq!(attribute(&view(younger), &o, &[], &none), Verdict::Ours);
    // Older but ending too: whoever left it, its run is over.
    let ending = vec![other(90, 20, &[9], true)];
    assert_eq!(attribute(&view(ending), &o, &[], &none), Verdict::Ours);
    // A run whose start is unknown may be anyone's parent.
    let unknown = vec![Other {
        since: None,
        pgid: None,
        pipes: Vec::new(),
        ending: false,
    }];
    assert_eq!(attribute(&view(unknown), &o, &[], &none), Verdict::Unsure);
}

#[test]
fn registrations_come_and_go_with_their_runs() {
    let run = "01ORPHANREGISTRY0000000000";
    assert!(view(vec![]).others.is_empty());
    assert!(super::view(run).is_none());
    {
        let r = Registration::new(run, Some(5));
        r.started(4242, vec![3]);
        let v = super::view(run).expect("registered");
        assert_eq!((v.since, v.pgid, v.pipes), (5, Some(4242), vec![3]));
        // Another run sees it as running, then as ending.
        let other = Registration::new("01ORPHANREGISTRY0000000001", Some(6));
        let seen = |ending: bool| {
            super::view("01ORPHANREGISTRY0000000001")
                .expect("the other is registered")
                .others
                .iter()
                .any(|o| o.pgid == Some(4242) && o.ending == ending)
        };
        assert!(seen(false));
        r.ending();
        assert!(seen(true));
        // Without a known start, no orphan is taken for a run.
        let _unknown = Registration::new("01ORPHANREGISTRY0000000002", None);
        assert!(super::view("01ORPHANREGISTRY0000000002").is_none());
        drop(other);
        assert!(super::view("01ORPHANREGISTRY0000000001").is_none());
    }
    assert!(super::view(run).is_none());
}
