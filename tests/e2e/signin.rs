//! Signing in and API tokens with a real paasd and the real `paas` CLI: logout revokes the
//! token, tokens are listed and revoked one by one (only one's own), expired tokens are refused
//! with a message saying so, failed sign-ins are limited per client address and per account
//! (429 with Retry-After), a flood of sign-ins keeps paasd's memory bounded while /healthz keeps
//! answering, and the data directory and database are private.

use paas_e2e::{curl, post_json, Paasd, PaasdOptions, User, ADMIN_EMAIL, ADMIN_PASSWORD};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn paasd_with(env: &[(&str, &str)]) -> Paasd {
    Paasd::start_with(PaasdOptions {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..PaasdOptions::default()
    })
}

/// The token `paas login` stored in the user's ~/.netrc.
fn stored_token(user: &User) -> String {
    let netrc = std::fs::read_to_string(user.home.path().join(".netrc")).unwrap();
    netrc.split_whitespace().last().unwrap().to_string()
}

fn account_status(paasd: &Paasd, token: &str) -> (u16, String) {
    curl(&[
        "-s",
        "-H",
        &format!("Authorization: Bearer {token}"),
        &format!("{}/api/account", paasd.url()),
    ])
}

fn authorizations(user: &User) -> Vec<serde_json::Value> {
    let run = user
        .paas(user.home.path(), &["authorizations", "--json"])
        .ok();
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn tokens_are_listed_revoked_and_revoked_by_logout() {
    let paasd = Paasd::start();
    let laptop = User::new();
    let desktop = User::new();
    laptop.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    desktop.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();

    // Both tokens are listed, the one in use marked current, with the CLI's description.
    let listed = authorizations(&laptop);
    assert_eq!(listed.len(), 2, "{listed:?}");
    let current: Vec<_> = listed.iter().filter(|a| a["current"] == true).collect();
    assert_eq!(current.len(), 1, "{listed:?}");
    for a in &listed {
        assert!(
            a["description"]
                .as_str()
                .unwrap()
                .starts_with("paas login from "),
            "{a}"
        );
        assert!(a["expires_at"].as_str().unwrap() > a["created_at"].as_str().unwrap());
        assert!(a.get("token").is_none(), "tokens are never shown: {a}");
    }
    let laptop_id = current[0]["id"].as_str().unwrap().to_string();
    let desktop_id = listed
        .iter()
        .find(|a| a["current"] == false)
        .map(|a| a["id"].as_str().unwrap().to_string())
        .unwrap();
    let table = laptop.paas(laptop.home.path(), &["authorizations"]).ok();
    assert!(
        table.stdout.contains(&format!("*  {laptop_id}")),
        "{}",
        table.stdout
    );
    assert!(!table.stdout.contains(&stored_token(&laptop)));

    // Another user cannot revoke the admin's token: 404, like a token that does not exist.
    laptop
        .paas_with_stdin(
            laptop.home.path(),
            &["users:add", "dev@e2e.test", "--password-stdin"],
            "dev-password-1\n",
        )
        .ok();
    let dev = User::new();
    dev.login(&paasd, "dev@e2e.test", "dev-password-1").ok();
    let denied = dev
        .paas(dev.home.path(), &["authorizations:revoke", &desktop_id])
        .fails_with_one_line();
    assert!(
        denied.stderr.contains("Couldn't find that authorization."),
        "{}",
        denied.stderr
    );
    desktop.paas(desktop.home.path(), &["auth:whoami"]).ok();

    // Revoking the desktop's token from the laptop logs the desktop out.
    laptop
        .paas(laptop.home.path(), &["authorizations:revoke", &desktop_id])
        .ok();
    desktop
        .paas(desktop.home.path(), &["auth:whoami"])
        .fails_with_one_line();
    assert_eq!(authorizations(&laptop).len(), 1);

    // Logout revokes the token on the server, then forgets it locally.
    let token = stored_token(&laptop);
    assert_eq!(account_status(&paasd, &token).0, 200);
    laptop.paas(laptop.home.path(), &["logout"]).ok();
    let (status, body) = account_status(&paasd, &token);
    assert_eq!(status, 401, "{body}");
    let netrc = std::fs::read_to_string(laptop.home.path().join(".netrc")).unwrap();
    assert!(!netrc.contains(&token), "{netrc}");
    // A second logout has nothing to revoke and succeeds.
    laptop.paas(laptop.home.path(), &["logout"]).ok();
}

#[test]
fn expired_tokens_are_refused_with_a_message_saying_so() {
    let paasd = paasd_with(&[("PAAS_TOKEN_TTL", "3")]);
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    user.paas(user.home.path(), &["auth:whoami"]).ok();
    let token = stored_token(&user);

    std::thread::sleep(Duration::from_secs(4));
    let run = user
        .paas(user.home.path(), &["auth:whoami"])
        .fails_with_one_line();
    assert!(
        run.stderr.contains("expired") && run.stderr.contains("Run paas login"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.matches("paas login").count(),
        1,
        "{}",
        run.stderr
    );
    let (status, body) = account_status(&paasd, &token);
    assert_eq!(status, 401, "{body}");
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["id"], "token_expired", "{body}");
    // git is refused with it too.
    let refs = format!("{}/x.git/info/refs?service=git-receive-pack", paasd.url());
    assert_eq!(
        curl(&["-s", "-u", &format!("{ADMIN_EMAIL}:{token}"), &refs]).0,
        401
    );
    // Signing in again gives a fresh token.
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    user.paas(user.home.path(), &["auth:whoami"]).ok();
}

/// `POST /api/login` from the local address `from`: (status, Retry-After, body).
fn login_from(
    paasd: &Paasd,
    from: &str,
    email: &str,
    password: &str,
) -> (u16, Option<u64>, String) {
    let body = serde_json::json!({ "email": email, "password": password }).to_string();
    let (status, text) = curl(&[
        "-s",
        "-i",
        "--interface",
        from,
        "-H",
        "Content-Type: application/json",
        "-d",
        &body,
        &format!("{}/api/login", paasd.url()),
    ]);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let retry_after = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("retry-after")
            .then(|| value.trim().parse().ok())?
    });
    (status, retry_after, body.to_string())
}

#[test]
fn failed_sign_ins_are_limited_per_address_and_per_account() {
    let paasd = Paasd::start();
    let admin = User::new();
    admin.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    for (email, password) in [
        ("dev@e2e.test", "dev-password-1"),
        ("ann@e2e.test", "ann-password-1"),
    ] {
        admin
            .paas_with_stdin(
                admin.home.path(),
                &["users:add", email, "--password-stdin"],
                &format!("{password}\n"),
            )
            .ok();
    }

    // Five wrong passwords for the admin from 127.0.0.1...
    for _ in 0..5 {
        let (status, _, body) = login_from(&paasd, "127.0.0.1", ADMIN_EMAIL, "wrong");
        assert_eq!(status, 401, "{body}");
    }
    // ...and that address is refused, even with another account's right password.
    let (status, retry_after, body) =
        login_from(&paasd, "127.0.0.1", "dev@e2e.test", "dev-password-1");
    assert_eq!(status, 429, "{body}");
    assert!(
        retry_after.is_some_and(|s| s > 0 && s <= 300),
        "{retry_after:?}"
    );
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["id"], "rate_limit");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("Too many failed sign-ins from your address"),
        "{body}"
    );
    let cli = User::new();
    let run = cli
        .login(&paasd, "dev@e2e.test", "dev-password-1")
        .fails_with_one_line();
    assert!(
        run.stderr.contains("Too many failed sign-ins"),
        "{}",
        run.stderr
    );

    // Another address signs in to another account fine...
    let (status, _, body) = login_from(&paasd, "127.0.0.2", "dev@e2e.test", "dev-password-1");
    assert_eq!(status, 200, "{body}");
    // ...but the admin account itself is locked, from any address.
    let (status, retry_after, body) = login_from(&paasd, "127.0.0.2", ADMIN_EMAIL, ADMIN_PASSWORD);
    assert_eq!(status, 429, "{body}");
    assert!(retry_after.is_some(), "{body}");
    assert!(body.contains("for this account"), "{body}");
    // Tokens issued before keep working.
    admin.paas(admin.home.path(), &["auth:whoami"]).ok();

    // A successful sign-in resets the account's count: 4 failures, success, 4 more failures,
    // and the right password still gets in (8 failures without the reset would lock it).
    for (from, _) in [("127.0.0.3", 0), ("127.0.0.4", 1)] {
        for _ in 0..4 {
            assert_eq!(login_from(&paasd, from, "ann@e2e.test", "nope").0, 401);
        }
        let (status, _, body) = login_from(&paasd, from, "ann@e2e.test", "ann-password-1");
        assert_eq!(status, 200, "from {from}: {body}");
    }
}

/// One request on a new connection; the status, or 0 when the connection failed.
fn raw_request(port: u16, request: &str) -> u16 {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    if stream.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Peak resident memory allowed to paasd through the flood (it used to reach 4.1 GB).
const MAX_RSS_KIB: u64 = 300 * 1024;

#[test]
fn a_sign_in_flood_keeps_memory_bounded_and_health_answering() {
    // No failure limit, so that every request reaches password hashing.
    let paasd = paasd_with(&[("PAAS_LOGIN_MAX_FAILURES", "1000000000")]);
    let port = paasd.port;
    let body = format!(r#"{{"email":"{ADMIN_EMAIL}","password":"wrong-password"}}"#);
    let login = format!(
        "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let health = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

    let stop = Arc::new(AtomicBool::new(false));
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let flood: Vec<_> = (0..64)
        .map(|_| {
            let (stop, statuses, login) = (stop.clone(), statuses.clone(), login.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let status = raw_request(port, &login);
                    statuses.lock().unwrap().push(status);
                }
            })
        })
        .collect();

    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut checks = 0;
    while started.elapsed() < Duration::from_secs(10) {
        let asked = Instant::now();
        assert_eq!(raw_request(port, health), 200, "/healthz during the flood");
        slowest = slowest.max(asked.elapsed());
        checks += 1;
        std::thread::sleep(Duration::from_millis(250));
    }
    stop.store(true, Ordering::Relaxed);
    for thread in flood {
        thread.join().unwrap();
    }

    let peak = status_kib(paasd.pid(), "VmHWM:");
    let now = status_kib(paasd.pid(), "VmRSS:");
    let statuses = statuses.lock().unwrap().clone();
    let count = |s: u16| statuses.iter().filter(|&&x| x == s).count();
    eprintln!(
        "flood: {} requests, {} x 401, {} x 503, others {}; healthz {checks} checks, slowest \
         {slowest:?}; paasd peak RSS {peak} KiB, now {now} KiB",
        statuses.len(),
        count(401),
        count(503),
        statuses.len() - count(401) - count(503)
    );
    assert!(count(401) > 0, "passwords were checked");
    assert!(
        count(503) > 0,
        "the hashing queue overflowed and was refused at once"
    );
    assert_eq!(
        count(401) + count(503),
        statuses.len(),
        "every request answered 401 or 503"
    );
    assert!(
        peak < MAX_RSS_KIB,
        "peak RSS {peak} KiB over {MAX_RSS_KIB} KiB"
    );
    assert!(
        slowest < Duration::from_secs(3),
        "/healthz took {slowest:?}"
    );
    // Right after, the right password works.
    let credentials = format!(r#"{{"email":"{ADMIN_EMAIL}","password":"{ADMIN_PASSWORD}"}}"#);
    let (status, body) = post_json(&paasd, "/api/login", None, &credentials);
    assert_eq!(status, 200, "{body}");
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn data_directory_and_database_are_private() {
    let mut paasd = Paasd::start();
    let data = paasd.data.path().to_path_buf();
    let db = data.join("paas.db");
    let companions = || {
        ["paas.db-wal", "paas.db-shm"]
            .map(|name| data.join(name))
            .into_iter()
            .filter(|p| p.exists())
            .collect::<Vec<_>>()
    };
    let check = |when: &str| {
        assert_eq!(mode(&data), 0o700, "data directory {when}");
        assert_eq!(mode(&db), 0o600, "database {when}");
        for path in companions() {
            assert_eq!(mode(&path), 0o600, "{} {when}", path.display());
        }
    };
    check("on first start");

    // Loosened by hand, they are tightened again at the next start.
    set_mode(&data, 0o755);
    set_mode(&db, 0o644);
    for path in companions() {
        set_mode(&path, 0o644);
    }
    paasd.restart();
    check("after a restart");
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    check("after a write");
}
