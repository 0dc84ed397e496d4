//! Which services an operator stopped: kept so a stop outlives a restart of the daemon.

use rusqlite::params;

use super::{Result, Store, StoreError};

impl Store {
    /// Records that an operator stopped `service` (or, with `stopped = false`, restarted it).
    pub fn set_service_stopped(&self, service: &str, stopped: bool, now: i64) -> Result<()> {
        let conn = self.conn();
        if stopped {
            conn.execute(
                "INSERT INTO service_stops (service_name, stopped_at) VALUES (?1, ?2) \
                 ON CONFLICT (service_name) DO UPDATE SET stopped_at = excluded.stopped_at",
                params![service, now],
            )
            .map_err(StoreError::sql("recording a stopped service"))?;
        } else {
            conn.execute(
                "DELETE FROM service_stops WHERE service_name = ?1",
                params![service],
            )
            .map_err(StoreError::sql("recording a restarted service"))?;
        }
        Ok(())
    }

    /// The services an operator stopped and nobody restarted since.
    pub fn stopped_services(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut select = conn
            .prepare_cached("SELECT service_name FROM service_stops ORDER BY service_name")
            .map_err(StoreError::sql("reading stopped services"))?;
        let names = select
            .query_map([], |r| r.get(0))
            .map_err(StoreError::sql("reading stopped services"))?
            .collect::<std::result::Result<Vec<String>, _>>()
            .map_err(StoreError::sql("reading stopped services"))?;
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::store::Store;

    #[test]
    fn a_stop_is_kept_until_a_restart() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("runwisp.db");
        let store = Store::open(&path).unwrap();
        store.set_service_stopped("web", true, 1).unwrap();
        store.set_service_stopped("web", true, 2).unwrap();
        store.set_service_stopped("api", true, 3).unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.stopped_services().unwrap(), ["api", "web"]);
        store.set_service_stopped("web", false, 4).unwrap();
        assert_eq!(store.stopped_services().unwrap(), ["api"]);
    }
}
