//! Pushes as an attacker and as a careless user would make them: a crafted tree that tries to
//! write outside the build directory, two pushes racing, paasd killed in the middle of a
//! deploy, a build that never ends, and one app trying to reach another app's processes.

use paas_e2e::{app_name, Paasd, PaasdOptions, User, ADMIN_EMAIL, ADMIN_PASSWORD};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Writes `text` into `app.py` so that the stdlib app answers with it.
fn set_body(repo: &Path, text: &str) {
    let source = repo.join("app.py");
    let code = std::fs::read_to_string(&source).unwrap();
    let start = code.find("body = ").unwrap();
    let end = start + code[start..].find('\n').unwrap();
    let replaced = format!("{}body = b\"{text}\\n\"{}", &code[..start], &code[end..]);
    std::fs::write(&source, replaced).unwrap();
}

fn head(user: &User, repo: &Path) -> String {
    user.git(repo, &["rev-parse", "HEAD"])
        .ok()
        .stdout
        .trim()
        .to_string()
}

/// The commit `main` points at in the app's bare repository on the server.
fn server_main(paasd: &Paasd, app: &str) -> String {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(paasd.data.path().join(format!("repos/{app}.git")))
        .args(["rev-parse", "refs/heads/main"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn deployed_app(paasd: &Paasd, user: &User, prefix: &str) -> (String, std::path::PathBuf) {
    let repo = user.sample_repo("python-stdlib");
    let app = app_name(prefix);
    user.paas(&repo, &["apps:create", &app]).ok();
    set_body(&repo, "v1");
    user.commit_all(&repo, "v1");
    user.git(&repo, &["push", "paas", "main"]).ok();
    assert_eq!(paasd.get_app(&app, "/"), (200, "v1\n".to_string()));
    (app, repo)
}

#[test]
fn a_crafted_tree_escaping_the_build_directory_is_rejected_with_nothing_written() {
    let paasd = Paasd::start();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let (app, repo) = deployed_app(&paasd, &user, "crafted");
    let victim_hook = paasd
        .data
        .path()
        .join(format!("repos/{app}.git/hooks/pre-receive"));
    let hook_before = std::fs::read(&victim_hook).unwrap();

    // The build's source is checked out in <data>/builds/<build>/src: three `..` up is the
    // data directory, then repos/<app>.git/hooks/pre-receive.
    let hash = |args: &[&str], input: &[u8]| {
        let mut child = user
            .git_command(&repo)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let tree = |entries: &[(&str, &str, &str)]| {
        let mut raw = Vec::new();
        for (mode, name, id) in entries {
            raw.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            raw.extend((0..20).map(|i| u8::from_str_radix(&id[2 * i..2 * i + 2], 16).unwrap()));
        }
        hash(
            &["hash-object", "-t", "tree", "--literally", "-w", "--stdin"],
            &raw,
        )
    };
    let blob = hash(
        &["hash-object", "-w", "--stdin"],
        b"#!/bin/sh\necho pwned\n",
    );
    let hooks = tree(&[("100755", "pre-receive", &blob)]);
    let git_dir = tree(&[("40000", "hooks", &hooks)]);
    let app_repo = tree(&[("40000", &format!("{app}.git"), &git_dir)]);
    let repos = tree(&[("40000", "repos", &app_repo)]);
    let up1 = tree(&[("40000", "..", &repos)]);
    let up2 = tree(&[("40000", "..", &up1)]);
    let root = tree(&[("40000", "..", &up2), ("100644", "app.py", &blob)]);
    let parent = head(&user, &repo);
    let commit = user
        .git(
            &repo,
            &["commit-tree", &root, "-p", &parent, "-m", "crafted"],
        )
        .ok()
        .stdout
        .trim()
        .to_string();
    user.git(&repo, &["update-ref", "refs/heads/main", &commit])
        .ok();

    let push = user.git(&repo, &["push", "paas", "main"]);
    assert!(!push.success, "crafted push accepted: {push:?}");
    assert_eq!(std::fs::read(&victim_hook).unwrap(), hook_before);
    assert_eq!(server_main(&paasd, &app), parent);
    assert_eq!(paasd.get_app(&app, "/"), (200, "v1\n".to_string()));
    let scratch: Vec<_> = std::fs::read_dir(paasd.data.path().join("builds"))
        .unwrap()
        .collect();
    assert!(scratch.is_empty(), "build scratch left: {scratch:?}");
}

#[test]
fn concurrent_pushes_leave_main_and_the_running_release_on_the_same_commit() {
    let paasd = Paasd::start();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let (app, _) = deployed_app(&paasd, &user, "race");

    // Two clones of v1, each with its own next commit, pushed at the same moment.
    let mut clones = Vec::new();
    for side in ["left", "right"] {
        let clone = user.home.path().join(side);
        let url = format!("{}/{app}.git", paasd.url());
        user.git(user.home.path(), &["clone", "-q", &url, side])
            .ok();
        set_body(&clone, side);
        user.commit_all(&clone, side);
        clones.push((side, clone));
    }
    let pushes: Vec<_> = clones
        .iter()
        .map(|(side, clone)| {
            let child = user
                .git_command(clone)
                .args(["push", "origin", "main"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (*side, head(&user, clone), child)
        })
        .collect();
    let results: Vec<_> = pushes
        .into_iter()
        .map(|(side, commit, child)| {
            let out = child.wait_with_output().unwrap();
            (side, commit, out)
        })
        .collect();
    let winners: Vec<_> = results
        .iter()
        .filter(|(_, _, o)| o.status.success())
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one of two racing pushes wins: {results:#?}"
    );
    let (side, commit, _) = winners[0];
    assert_eq!(&server_main(&paasd, &app), commit);
    assert_eq!(paasd.get_app(&app, "/"), (200, format!("{side}\n")));

    // A clone checks out the deployed branch.
    let url = format!("{}/{app}.git", paasd.url());
    let fresh = user
        .git(user.home.path(), &["clone", "-q", &url, "fresh"])
        .ok();
    assert!(!fresh.stderr.contains("nonexistent ref"), "{fresh:?}");
    assert_eq!(&head(&user, &user.home.path().join("fresh")), commit);
}

#[test]
fn paasd_killed_before_the_branch_moves_leaves_the_previous_release_current() {
    let mut paasd = Paasd::start();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let (app, repo) = deployed_app(&paasd, &user, "killed");
    let v1 = head(&user, &repo);
    set_body(&repo, "v2");
    user.commit_all(&repo, "v2");

    // Kill paasd once the release is recorded and launching, before git moves the branch.
    let mut push = user
        .git_command(&repo)
        .args(["push", "paas", "main"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    for line in BufReader::new(push.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("Launching v2") {
            paasd.kill();
            break;
        }
    }
    assert!(seen.contains("Launching v2"), "{seen}");
    assert!(
        !push.wait().unwrap().success(),
        "the push must fail: {seen}"
    );
    paasd.restart();

    assert_eq!(server_main(&paasd, &app), v1);
    let deadline = Instant::now() + Duration::from_secs(60);
    while paasd.get_app(&app, "/") != (200, "v1\n".to_string()) {
        assert!(Instant::now() < deadline, "{:?}", paasd.get_app(&app, "/"));
        std::thread::sleep(Duration::from_millis(300));
    }
    let info = user.paas(&repo, &["apps:info", "--json"]).ok();
    assert!(
        info.stdout.contains("\"release\": \"v1\"") || info.stdout.contains("\"release\":\"v1\""),
        "{}",
        info.stdout
    );

    // The same push again succeeds, as v3 (v2 stays in the history, failed).
    let again = user.git(&repo, &["push", "paas", "main"]).ok();
    assert!(
        again.stderr.contains("Launching... done, v3"),
        "{}",
        again.stderr
    );
    assert_eq!(server_main(&paasd, &app), head(&user, &repo));
    assert_eq!(paasd.get_app(&app, "/"), (200, "v2\n".to_string()));
}

#[test]
fn a_hung_build_is_stopped_at_its_time_limit_and_cleaned_up() {
    let paasd = Paasd::start_with(PaasdOptions {
        env: vec![("PAAS_BUILD_TIMEOUT".to_string(), "20".to_string())],
        ..PaasdOptions::default()
    });
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-hanging-build");
    let app = app_name("hung");
    user.paas(&repo, &["apps:create", &app]).ok();
    let started = Instant::now();
    let push = user.git(&repo, &["push", "paas", "main"]);
    let took = started.elapsed();
    assert!(!push.success, "{push:?}");
    assert!(
        push.stderr.contains("longer than its limit"),
        "{}",
        push.stderr
    );
    assert!(took < Duration::from_secs(120), "took {took:?}");
    let build_containers = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=paas.instance={}", paasd.instance),
            "--filter",
            "label=paas.role=build",
        ])
        .output()
        .unwrap();
    assert!(build_containers.stdout.is_empty(), "build container left");
    let scratch: Vec<_> = std::fs::read_dir(paasd.data.path().join("builds"))
        .unwrap()
        .collect();
    assert!(scratch.is_empty(), "build scratch left: {scratch:?}");
    // The lock is free: destroy does not wait.
    let started = Instant::now();
    user.paas(&repo, &["apps:destroy", &app, "--confirm", &app])
        .ok();
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn an_app_cannot_reach_another_apps_processes() {
    let paasd = Paasd::start();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let (a, _) = deployed_app(&paasd, &user, "iso-a");
    let (b, _) = deployed_app(&paasd, &user, "iso-b");
    let ip = |container: &str| {
        let out = Command::new("docker")
            .args([
                "inspect",
                "-f",
                "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                container,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let from_a = format!("{a}.web.1.v1");
    let to_b = format!("{b}.web.1.v1");
    let connects = |target: &str| {
        let code = format!(
            "import socket; socket.create_connection(('{target}', 5000), timeout=3); print('open')"
        );
        Command::new("docker")
            .args(["exec", &from_a, "python3", "-c", &code])
            .output()
            .unwrap()
            .status
            .success()
    };
    // The check itself works: an app reaches its own process.
    assert!(connects(&ip(&from_a)));
    assert!(!connects(&ip(&to_b)), "{a} reached {b} by IP");
    assert!(!connects(&to_b), "{a} reached {b} by name");
    // The router still reaches both.
    assert_eq!(paasd.get_app(&b, "/").0, 200);
    assert_eq!(paasd.get_app(&a, "/").0, 200);
}

#[test]
fn a_push_over_the_size_limit_is_refused_and_changes_nothing() {
    let paasd = Paasd::start_with(PaasdOptions {
        env: vec![("PAAS_MAX_PUSH".to_string(), "1".to_string())],
        ..PaasdOptions::default()
    });
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let (app, repo) = deployed_app(&paasd, &user, "big");
    let v1 = head(&user, &repo);
    // 3 MiB that do not compress.
    let mut noise = vec![0u8; 3 * 1024 * 1024];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for byte in noise.iter_mut() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    std::fs::write(repo.join("noise.bin"), &noise).unwrap();
    user.commit_all(&repo, "big");
    let push = user.git(&repo, &["push", "paas", "main"]);
    assert!(!push.success, "{push:?}");
    assert!(
        push.stderr.contains("maximum allowed size") || push.stderr.contains("413"),
        "{}",
        push.stderr
    );
    assert_eq!(server_main(&paasd, &app), v1);
    assert_eq!(paasd.get_app(&app, "/"), (200, "v1\n".to_string()));
}

#[test]
fn a_build_interrupted_by_a_kill_is_cleaned_up_at_the_next_start() {
    let mut paasd = Paasd::start();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-hanging-build");
    let app = app_name("killbuild");
    user.paas(&repo, &["apps:create", &app]).ok();
    let build_containers = |instance: &str| {
        let out = Command::new("docker")
            .args([
                "ps",
                "-aq",
                "--filter",
                &format!("label=paas.instance={instance}"),
                "--filter",
                "label=paas.role=build",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let mut push = user
        .git_command(&repo)
        .args(["push", "paas", "main"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while build_containers(&paasd.instance).is_empty() {
        assert!(Instant::now() < deadline, "no build started");
        std::thread::sleep(Duration::from_millis(200));
    }
    paasd.kill();
    let _ = push.wait();
    assert!(!build_containers(&paasd.instance).is_empty());
    paasd.restart();
    assert!(
        build_containers(&paasd.instance).is_empty(),
        "the interrupted build's container survived the restart"
    );
    let scratch: Vec<_> = std::fs::read_dir(paasd.data.path().join("builds"))
        .unwrap()
        .collect();
    assert!(scratch.is_empty(), "build scratch left: {scratch:?}");
    // The app is free again: a destroy does not wait for the dead build.
    user.paas(&repo, &["apps:destroy", &app, "--confirm", &app])
        .ok();
}
