//! One-off processes (`paas run`): the command runs through the release's launcher with the
//! app's config vars and the exit code comes back; stdin is streamed and its end closes the
//! process's stdin; a terminal is given under a pseudo-terminal; `--detach` starts a labelled
//! container that is removed when it exits; a client that goes away takes its process with it,
//! and attached processes left by a killed paasd are removed at its next start. An app without
//! a release, and bad input, fail with one line.

use paas_e2e::{app_name, binary, Paasd, Run, User, ADMIN_EMAIL, ADMIN_PASSWORD};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Names of the instance's run containers (any state).
fn run_containers(paasd: &Paasd) -> Vec<String> {
    docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=paas.instance={}", paasd.instance),
        "--filter",
        "label=paas.role=run",
        "--format",
        "{{.Names}}",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

/// `paas ARGS` started in the background with stdin kept open (the caller kills it).
fn spawn_paas(user: &User, args: &[&str]) -> std::process::Child {
    Command::new(binary("paas"))
        .args(args)
        .env("HOME", user.home.path())
        .env_remove("PAAS_URL")
        .env_remove("PAAS_API_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("paas runs")
}

#[test]
fn one_off_processes_run_attached_detached_and_under_a_terminal() {
    let mut paasd = Paasd::start();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("procfile-only");
    let app = app_name("run");
    user.paas(&repo, &["apps:create", &app]).ok();
    user.paas(&repo, &["config:set", "FOO=value of foo"]).ok();
    user.git(&repo, &["push", "paas", "main"]).ok();

    // Config vars, the launcher (cwd /app), the exit code, stdout and stderr apart.
    let run = user.paas(
        &repo,
        &[
            "run",
            "-a",
            &app,
            "sh",
            "-c",
            "echo $FOO; pwd; echo oops >&2; exit 3",
        ],
    );
    assert_eq!(run.code, Some(3), "{run:?}");
    assert_eq!(run.stdout, "value of foo\n/app\n", "{run:?}");
    assert_eq!(run.stderr, "oops\n", "{run:?}");
    let ok = user
        .paas(
            &repo,
            &["run", "-e", "EXTRA=x y", "echo", "hello", "$EXTRA", "$DYNO"],
        )
        .ok();
    assert!(ok.stdout.starts_with("hello x y run."), "{ok:?}");

    // Stdin goes in; its end ends `cat`.
    let input = "hi\nthere\n".repeat(2000);
    let cat = user.paas_with_stdin(&repo, &["run", "cat"], &input).ok();
    assert_eq!(cat.stdout, input);

    // A terminal under a pseudo-terminal.
    let tty = Command::new("script")
        .args([
            "-qec",
            &format!("{} run -a {app} tty", binary("paas").display()),
            "/dev/null",
        ])
        .env("HOME", user.home.path())
        .env_remove("PAAS_URL")
        .env_remove("PAAS_API_KEY")
        .stdin(Stdio::piped())
        .output()
        .expect("script runs");
    let tty_out = String::from_utf8_lossy(&tty.stdout).to_string();
    assert!(tty_out.contains("/dev/pts/"), "{tty_out:?}");
    assert!(!tty_out.contains("not a tty"), "{tty_out:?}");
    assert!(tty.status.success(), "{tty_out:?}");
    // Without one, none.
    let no_tty = user.paas(&repo, &["run", "tty"]);
    assert!(no_tty.stdout.contains("not a tty"), "{no_tty:?}");
    wait_for("attached processes to be removed", || {
        run_containers(&paasd).is_empty()
    });

    // Detached: a labelled container with the processes' limits, removed when it exits.
    let detached = user.paas(&repo, &["run", "--detach", "sleep", "4"]).ok();
    assert!(
        detached
            .stderr
            .contains(&format!("Running sleep 4 on {app}... up, run.1")),
        "{detached:?}"
    );
    let name = format!("{app}.run.1");
    let inspect = docker(&[
        "inspect",
        "-f",
        "{{index .Config.Labels \"paas.role\"}} {{index .Config.Labels \"paas.process\"}} {{.Config.User}} {{.HostConfig.Memory}} {{.HostConfig.CapDrop}} {{.HostConfig.Init}}",
        &name,
    ]);
    assert_eq!(inspect, "run run app 536870912 [ALL] true", "{inspect}");
    let ps = user.paas(&repo, &["ps"]).ok();
    assert!(
        !ps.stdout.contains("run.1"),
        "not a formation process: {ps:?}"
    );
    wait_for("the detached process to be removed", || {
        run_containers(&paasd).is_empty()
    });

    // A client that goes away takes its process with it.
    let mut client = spawn_paas(&user, &["run", "-a", &app, "sleep", "300"]);
    wait_for("the attached process", || {
        run_containers(&paasd) == [name.clone()]
    });
    client.kill().expect("kill paas");
    let _ = client.wait();
    wait_for("the abandoned process to be removed", || {
        run_containers(&paasd).is_empty()
    });

    // Attached processes of a killed paasd are removed at its next start.
    let mut client = spawn_paas(&user, &["run", "-a", &app, "sleep", "300"]);
    wait_for("the attached process", || {
        !run_containers(&paasd).is_empty()
    });
    paasd.restart();
    assert!(
        run_containers(&paasd).is_empty(),
        "{:?}",
        run_containers(&paasd)
    );
    let _ = client.kill();
    let _ = client.wait();
}

#[test]
fn running_without_a_release_or_with_bad_input_fails_with_one_line() {
    let paasd = Paasd::start();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let app = app_name("norel");
    let home = user.home.path();
    user.paas(home, &["apps:create", &app, "--no-remote"]).ok();
    user.paas(home, &["config:set", "-a", &app, "A=1"]).ok();

    let check = |run: Run, says: &str| {
        let run = run.fails_with_one_line();
        assert!(run.stderr.contains(says), "{run:?}");
    };
    for detach in [false, true] {
        let mut args = vec!["run", "-a", &app];
        if detach {
            args.push("--detach");
        }
        args.extend(["echo", "hi"]);
        check(user.paas(home, &args), "no deployed release");
    }
    check(
        user.paas(home, &["run", "-a", "no-such-app", "echo"]),
        "Couldn't find that app",
    );
    check(
        user.paas(home, &["run", "-a", &app, "--size", "big", "echo"]),
        "Invalid size",
    );
    check(
        user.paas(home, &["run", "-a", &app, "-e", "1X=2", "echo"]),
        "Invalid -e",
    );
    check(user.paas(home, &["run", "-a", &app, ""]), "No command");
    user.paas(home, &["run", "-a", &app]).fails_with_one_line();
    assert!(run_containers(&paasd).is_empty());
}
