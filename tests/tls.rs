//! TLS and client certificates (`webhooks.md` §3) against the real binary, with a CA, server
//! and client certificates generated at run time: HTTPS with the CA for the CLI and a rustls
//! client, plain HTTP refused on the TLS port, `client_ca` refusing no certificate and one of
//! another CA in the handshake, the right one reaching `/health`, the API and
//! `run-task --wait`, the CA file replaced on disk taking effect without a restart (and a broken
//! replacement logged and ignored), the `Secure` cookie, and the configuration's errors.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use common::{free_port, stderr, stdout, wait_for, Project};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};

/// A CA that signs server and client certificates.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        Ca {
            issuer: CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A leaf certificate and its key (PEM), for the server (127.0.0.1) or a client.
    fn leaf(&self, name: &str, client: bool) -> (String, String) {
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Writes `text` to `dir/name` and returns the path.
fn put(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The files of one set-up: the server's CA, certificate and key in `tls/`, and a client
/// certificate of `clients` (the CA `client_ca` names).
struct Pki {
    server_ca: PathBuf,
    clients: Ca,
    client_cert: PathBuf,
    client_key: PathBuf,
}

fn pki(project: &Project) -> Pki {
    let dir = project.path().join("tls");
    std::fs::create_dir_all(&dir).unwrap();
    let server_ca = Ca::new("runwisp test server CA");
    let (cert, key) = server_ca.leaf("runwisp test daemon", false);
    put(&dir, "server.pem", &cert);
    put(&dir, "server.key", &key);
    let clients = Ca::new("runwisp test client CA");
    put(&dir, "clients.pem", &clients.pem());
    let (cert, key) = clients.leaf("runwisp test operator", true);
    Pki {
        server_ca: put(&dir, "ca.pem", &server_ca.pem()),
        client_cert: put(&dir, "client.pem", &cert),
        client_key: put(&dir, "client.key", &key),
        clients,
    }
}

const TASKS: &str = r#"
[tasks.hello]
run = "echo hello over tls"
"#;

const SERVER_TLS: &str = "[daemon]\ntls_cert = \"tls/server.pem\"\ntls_key = \"tls/server.key\"\n";

/// A `runwisp --headless` of the test's project, on a free loopback port, stopped when dropped.
struct Daemon {
    child: Child,
    port: u16,
    password: String,
}

impl Daemon {
    fn start(project: &Project) -> Daemon {
        let port = free_port();
        let mut child = project.spawn(&["--headless", "--port", &port.to_string()]);
        project.wait_booted(&mut child);
        let password = std::fs::read_to_string(project.data().join("password")).unwrap();
        Daemon {
            child,
            port,
            password: password.trim().to_string(),
        }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

/// A rustls client trusting `ca`, presenting `client` (certificate, key) when given.
fn agent(ca: &Path, client: Option<(&Path, &Path)>) -> ureq::Agent {
    let ca = Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    let mut tls = TlsConfig::builder().root_certs(RootCerts::new_with_certs(&[ca]));
    if let Some((cert, key)) = client {
        let cert = Certificate::from_pem(&std::fs::read(cert).unwrap()).unwrap();
        let key = PrivateKey::from_pem(&std::fs::read(key).unwrap()).unwrap();
        tls = tls.client_cert(Some(ClientCert::new_with_certs(&[cert], key)));
    }
    ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(15)))
        .build()
        .into()
}

/// `GET /health`: its status, or the error of the connection.
fn health(agent: &ureq::Agent, daemon: &Daemon) -> Result<u16, String> {
    agent
        .get(&format!("{}/health", daemon.url()))
        .call()
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}

/// Logs in by challenge-response; returns the token and the `Set-Cookie` header.
fn login(agent: &ureq::Agent, daemon: &Daemon) -> (String, String) {
    let challenge: serde_json::Value = agent
        .get(&format!("{}/api/auth/challenge", daemon.url()))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let nonce = challenge["nonce"].as_str().unwrap();
    let response = runwisp::engine::auth::challenge_response(&daemon.password, nonce);
    let mut answer = agent
        .post(&format!("{}/api/auth", daemon.url()))
        .send_json(serde_json::json!({ "nonce": nonce, "response": response }))
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let cookie = answer
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let token: serde_json::Value = answer.body_mut().read_json().unwrap();
    (token["token"].as_str().unwrap().to_string(), cookie)
}

/// `runwisp ARGS` with the daemon's password in `RUNWISP_PASSWORD`.
fn cli(project: &Project, daemon: &Daemon, args: &[&str]) -> std::process::Output {
    project
        .command(args)
        .env("RUNWISP_PASSWORD", &daemon.password)
        .output()
        .unwrap()
}

fn text(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn https_works_with_the_ca_and_plain_http_is_refused() {
    let project = Project::new(&format!("{SERVER_TLS}{TASKS}"));
    let pki = pki(&project);
    let daemon = Daemon::start(&project);

    let ca = text(&pki.server_ca);
    let status = cli(
        &project,
        &daemon,
        &["status", "--url", &daemon.url(), "--ca", ca],
    );
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    assert!(
        stdout(&status).contains("is healthy at https://"),
        "{}",
        stdout(&status)
    );
    assert_eq!(stderr(&status), "", "logged in over TLS too");

    let client = agent(&pki.server_ca, None);
    assert_eq!(health(&client, &daemon), Ok(200));
    let (token, cookie) = login(&client, &daemon);
    assert!(
        cookie.contains("; Secure"),
        "the login cookie over TLS: {cookie}"
    );
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let tasks = client
        .get(&format!("{}/api/tasks", daemon.url()))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(tasks.status().as_u16(), 200);

    // Without the CA, the daemon's certificate is not trusted, and the CLI says what to do.
    let untrusted = cli(&project, &daemon, &["status", "--url", &daemon.url()]);
    assert_eq!(untrusted.status.code(), Some(1));
    let said = stderr(&untrusted);
    assert!(said.contains("--ca"), "{said}");
    assert_eq!(said.trim().lines().count(), 1, "one sentence: {said}");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = std::net::TcpStream::connect(("127.0.0.1", daemon.port)).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    plain
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !String::from_utf8_lossy(&answer).contains("HTTP/1.1"),
        "plain HTTP was answered: {:?}",
        String::from_utf8_lossy(&answer)
    );
    // And the CLI with an http:// URL fails too.
    let http = cli(
        &project,
        &daemon,
        &[
            "status",
            "--url",
            &format!("http://127.0.0.1:{}", daemon.port),
        ],
    );
    assert_eq!(http.status.code(), Some(1), "{}", stdout(&http));
}

#[test]
fn client_ca_requires_a_client_certificate_it_signed() {
    let config = format!("{SERVER_TLS}client_ca = \"tls/clients.pem\"\n{TASKS}");
    let project = Project::new(&config);
    let pki = pki(&project);
    let daemon = Daemon::start(&project);

    // No client certificate: refused in the handshake.
    let anonymous = agent(&pki.server_ca, None);
    assert!(
        health(&anonymous, &daemon).is_err(),
        "no client certificate"
    );

    // A client certificate from another CA: refused too.
    let dir = project.path().join("tls");
    let (cert, key) = Ca::new("some other CA").leaf("stranger", true);
    let (other_cert, other_key) = (put(&dir, "other.pem", &cert), put(&dir, "other.key", &key));
    let stranger = agent(&pki.server_ca, Some((&other_cert, &other_key)));
    assert!(
        health(&stranger, &daemon).is_err(),
        "a certificate of another CA"
    );

    // The right one: /health and a logged-in call.
    let operator = agent(&pki.server_ca, Some((&pki.client_cert, &pki.client_key)));
    assert_eq!(health(&operator, &daemon), Ok(200));
    let (token, _) = login(&operator, &daemon);
    let tasks = operator
        .get(&format!("{}/api/tasks", daemon.url()))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(tasks.status().as_u16(), 200);

    // The CLI: run-task --wait with the client certificate.
    let (ca, cert, key) = (
        text(&pki.server_ca),
        text(&pki.client_cert),
        text(&pki.client_key),
    );
    let url = daemon.url();
    let ran = cli(
        &project,
        &daemon,
        &[
            "run-task",
            "hello",
            "--wait",
            "--url",
            &url,
            "--ca",
            ca,
            "--client-cert",
            cert,
            "--client-key",
            key,
        ],
    );
    assert_eq!(ran.status.code(), Some(0), "{}", stderr(&ran));
    assert!(stdout(&ran).contains("hello over tls"), "{}", stdout(&ran));

    // The same through the environment variables.
    let by_env = project
        .command(&["status", "--url", &url])
        .env("RUNWISP_PASSWORD", &daemon.password)
        .env("RUNWISP_CA", ca)
        .env("RUNWISP_CLIENT_CERT", cert)
        .env("RUNWISP_CLIENT_KEY", key)
        .output()
        .unwrap();
    assert_eq!(by_env.status.code(), Some(0), "{}", stderr(&by_env));
    assert_eq!(
        stderr(&by_env),
        "",
        "logged in with the certificate of the environment"
    );

    // Without a client certificate the CLI says what is missing, in one sentence.
    let refused = cli(&project, &daemon, &["status", "--url", &url, "--ca", ca]);
    assert_eq!(refused.status.code(), Some(1));
    let said = stderr(&refused);
    assert!(said.contains("--client-cert"), "{said}");

    // An unreadable client key is named, before anything is sent.
    let missing = cli(
        &project,
        &daemon,
        &[
            "status",
            "--url",
            &url,
            "--ca",
            ca,
            "--client-cert",
            cert,
            "--client-key",
            "no-such.key",
        ],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no-such.key"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn a_replaced_client_ca_takes_effect_without_a_restart() {
    let config = format!("{SERVER_TLS}client_ca = \"tls/clients.pem\"\n{TASKS}");
    let project = Project::new(&config);
    let pki = pki(&project);
    let daemon = Daemon::start(&project);
    let dir = project.path().join("tls");
    let first = agent(&pki.server_ca, Some((&pki.client_cert, &pki.client_key)));
    assert_eq!(health(&first, &daemon), Ok(200));

    // A broken replacement is logged, and the CA in force stays.
    put(&dir, "clients.pem", "not a certificate\n");
    let log = project.data().join("daemon.log");
    wait_for(
        "the broken CA file to be logged",
        Duration::from_secs(25),
        || {
            std::fs::read_to_string(&log)
                .is_ok_and(|l| l.contains("cannot be used") && l.contains("clients.pem"))
        },
    );
    assert_eq!(
        health(&first, &daemon),
        Ok(200),
        "the old CA stays in force"
    );

    // A new CA, and a client certificate of it: in force within a reload period or two.
    let second_ca = Ca::new("runwisp test client CA, second");
    let (cert, key) = second_ca.leaf("second operator", true);
    let (cert, key) = (
        put(&dir, "second.pem", &cert),
        put(&dir, "second.key", &key),
    );
    put(&dir, "clients.pem", &second_ca.pem());
    let second = agent(&pki.server_ca, Some((&cert, &key)));
    wait_for(
        "the new client CA to be in force",
        Duration::from_secs(25),
        || health(&second, &daemon) == Ok(200),
    );
    assert!(
        health(&first, &daemon).is_err(),
        "a client certificate of the replaced CA"
    );
    drop(pki.clients);
}

/// `runwisp validate` on `config` (in a project with the test PKI): its exit code and output.
fn validate(config: &str) -> (Option<i32>, String) {
    let project = Project::new(config);
    let pki = pki(&project);
    let dir = project.path().join("tls");
    // A key of another certificate, to pair with the server's.
    let (_, key) = pki.clients.leaf("unrelated", false);
    put(&dir, "unrelated.key", &key);
    let out = project.run(&["validate"]);
    (
        out.status.code(),
        format!("{}{}", stdout(&out), stderr(&out)),
    )
}

#[test]
fn tls_configuration_errors_name_the_file() {
    let (code, out) = validate("[daemon]\ntls_cert = \"tls/server.pem\"\n");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("2:") && out.contains("tls_cert needs tls_key"),
        "{out}"
    );

    let (code, out) = validate("[daemon]\ntls_key = \"tls/server.key\"\n");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("tls_key needs tls_cert"), "{out}");

    let (code, out) =
        validate("[daemon]\ntls_cert = \"tls/missing.pem\"\ntls_key = \"tls/server.key\"\n");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("2:")
            && out.contains("cannot read the TLS certificate")
            && out.contains("missing.pem"),
        "{out}"
    );

    let (code, out) =
        validate("[daemon]\ntls_cert = \"tls/server.pem\"\ntls_key = \"tls/unrelated.key\"\n");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("3:") && out.contains("unrelated.key") && out.contains("does not match"),
        "{out}"
    );
    assert!(!out.contains("PRIVATE KEY"), "no key material: {out}");

    // A file that is not a key at all is named, never quoted.
    let (code, out) =
        validate("[daemon]\ntls_cert = \"tls/server.pem\"\ntls_key = \"tls/server.pem\"\n");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("server.pem") && out.contains("no valid PEM private key"),
        "{out}"
    );
    assert!(!out.contains("BEGIN"), "{out}");

    let (code, out) = validate(&format!(
        "{SERVER_TLS}client_ca = \"tls/nothing-here.pem\"\n"
    ));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("4:") && out.contains("nothing-here.pem"),
        "{out}"
    );

    let (code, out) = validate("[daemon]\nclient_ca = \"tls/clients.pem\"\n");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("client_ca needs tls_cert"), "{out}");

    // Valid, with a webhook that client_ca will refuse: a warning naming the task.
    let hooked = format!(
        "{SERVER_TLS}client_ca = \"tls/clients.pem\"\n{TASKS}\n[tasks.deploy]\nrun = \"true\"\n[tasks.deploy.webhook]\nprovider = \"github\"\nsecret = \"a-long-webhook-secret-for-tests\"\n"
    );
    let (code, out) = validate(&hooked);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("warning") && out.contains("deploy") && out.contains("client_ca"),
        "{out}"
    );
}
