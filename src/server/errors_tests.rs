//! The engine's errors as HTTP answers: statuses, sentences, and nothing internal let out.

use super::*;

fn name(text: &str) -> TaskName {
    TaskName::parse(text).unwrap()
}

fn answer(e: impl Into<ApiError>) -> (u16, String) {
    let e = e.into();
    (e.status.as_u16(), e.detail)
}

#[test]
fn engine_errors_map_to_statuses_and_sentences() {
    let id = RunId::parse("01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap();
    assert_eq!(answer(TriggerError::NotFound(name("x"))).0, 404);
    assert_eq!(
        answer(TriggerError::Forbidden),
        (403, "API triggering disabled for this task".into())
    );
    assert_eq!(
        answer(TriggerError::IsService(name("web"))),
        (
            409,
            "\"web\" is a service and is kept running; use POST /api/tasks/web/restart to restart it"
                .into()
        )
    );
    assert_eq!(
        answer(StopError::NoSuchTask(name("nope"))).1,
        "there is no task or service named \"nope\""
    );
    assert_eq!(answer(TriggerError::BadEnv("PATH".into())).0, 400);
    assert_eq!(answer(TriggerError::ShuttingDown).0, 503);
    assert_eq!(answer(ServiceError::IsTask(name("t"))).0, 400);
    assert_eq!(answer(ServiceError::NotFound(name("s"))).0, 404);
    assert_eq!(answer(ServiceError::Forbidden(name("s"))).0, 403);
    assert_eq!(answer(ServiceError::ShuttingDown).0, 503);
    assert_eq!(
        answer(StopError::AlreadyEnded(id)),
        (409, format!("run {id} has already ended"))
    );
    assert_eq!(answer(StopError::NotFound(id)).0, 404);
    assert_eq!(answer(StopError::NoSuchTask(name("t"))).0, 404);
    assert_eq!(answer(AuthError::InvalidPassword).0, 401);
    let throttled = ApiError::from(AuthError::Throttled(Duration::from_millis(10)));
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let response = throttled.into_response();
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
}

/// Internal failures answer a generic sentence; what went wrong (a path, a cause) stays
/// in the log.
#[test]
fn internal_errors_name_no_path_and_no_cause() {
    let open = StoreError::Open {
        path: "/srv/secret/data/runwisp.db".into(),
        source: rusqlite::Error::InvalidQuery,
    };
    let (status, detail) = answer(open);
    assert_eq!(status, 500);
    assert!(
        !detail.contains("/srv") && !detail.contains("Query"),
        "{detail}"
    );
    assert!(detail.ends_with("see daemon.log"), "{detail}");
    let (status, detail) = answer(TriggerError::Store(StoreError::Worker("boom".into())));
    assert_eq!(status, 500);
    assert!(!detail.contains("boom"), "{detail}");
    let (status, detail) = answer(AuthError::Random("getrandom: EIO".into()));
    assert_eq!(status, 500);
    assert!(!detail.contains("EIO"), "{detail}");
    assert_eq!(answer(StoreError::DiskFull).0, 500);
}
