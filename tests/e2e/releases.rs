//! Releases, config vars and rollback with a real app: config set before the first deploy,
//! values with awkward characters arriving intact in the process's environment, unset, the
//! release list, rollback restoring an older release's config, bad input refused with one
//! line, and config values never in paasd's log.

use paas_e2e::{app_name, Paasd, User, ADMIN_EMAIL, ADMIN_PASSWORD};

const AWKWARD: &str = "it's \"quoted\" = yes; $HOME `x` \\ ✓ (two  spaces)";

#[test]
fn config_changes_are_releases_and_rollback_restores_them() {
    let paasd = Paasd::start();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-env");
    let app = app_name("rel");
    user.paas(&repo, &["apps:create", &app]).ok();

    // Before the first deploy: a release without a build.
    let set = user.paas(&repo, &["config:set", "GREETING=hi"]).ok();
    assert!(
        set.stderr.contains(&format!(
            "Setting GREETING and restarting {app}... done, v1"
        )),
        "{set:?}"
    );
    let push = user.git(&repo, &["push", "paas", "main"]).ok();
    assert!(
        push.stderr.contains("Launching... done, v2"),
        "{}",
        push.stderr
    );
    assert_eq!(paasd.get_app(&app, "/GREETING"), (200, "hi".to_string()));

    // Awkward values arrive intact; a secret never reaches paasd's log.
    let set = user
        .paas(
            &repo,
            &[
                "config:set",
                &format!("AWK={AWKWARD}"),
                "SECRET=s3cr3t-value-42",
            ],
        )
        .ok();
    assert!(
        set.stderr.contains("Setting AWK, SECRET and restarting"),
        "{set:?}"
    );
    assert!(set.stderr.contains("done, v3"), "{set:?}");
    assert_eq!(paasd.get_app(&app, "/AWK"), (200, AWKWARD.to_string()));
    assert_eq!(paasd.get_app(&app, "/GREETING"), (200, "hi".to_string()));
    let listed = user.paas(&repo, &["config"]).ok();
    assert!(
        listed
            .stdout
            .starts_with(&format!("=== {app} Config Vars\n")),
        "{listed:?}"
    );
    assert!(listed.stdout.contains("GREETING: hi"), "{listed:?}");
    let got = user.paas(&repo, &["config:get", "AWK"]).ok();
    assert_eq!(got.stdout.trim_end_matches('\n'), AWKWARD);

    let unset = user.paas(&repo, &["config:unset", "GREETING"]).ok();
    assert!(unset.stderr.contains("done, v4"), "{unset:?}");
    assert_eq!(paasd.get_app(&app, "/GREETING").0, 404);

    let releases = user.paas(&repo, &["releases"]).ok();
    let lines: Vec<&str> = releases.stdout.lines().collect();
    assert_eq!(lines[0], format!("=== {app} Releases"));
    assert!(
        lines[1].starts_with("v4 *") && lines[1].contains("Unset GREETING config vars"),
        "{releases:?}"
    );
    assert!(
        lines[2].contains("Set AWK, SECRET config vars"),
        "{releases:?}"
    );
    assert!(lines[3].contains("Deploy"), "{releases:?}");
    assert!(lines[1].contains(ADMIN_EMAIL), "{releases:?}");
    let json = user.paas(&repo, &["releases", "--json", "-n", "2"]).ok();
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 2);
    let info = user.paas(&repo, &["releases:info", "v2"]).ok();
    assert!(info.stdout.contains("=== Release v2"), "{info:?}");

    // Rollback to v3: GREETING is back, nothing is deleted.
    let rollback = user.paas(&repo, &["rollback", "v3"]).ok();
    assert!(
        rollback
            .stderr
            .contains(&format!("Rolling back {app} to v3... done, v5")),
        "{rollback:?}"
    );
    assert!(rollback.stderr.contains("paas rollback v4"), "{rollback:?}");
    assert_eq!(paasd.get_app(&app, "/GREETING"), (200, "hi".to_string()));
    // Default: the release before the current one.
    let back = user.paas(&repo, &["rollback"]).ok();
    assert!(back.stderr.contains("done, v6"), "{back:?}");
    assert_eq!(paasd.get_app(&app, "/GREETING").0, 404);
    let all = user.paas(&repo, &["releases", "--json"]).ok();
    let parsed: serde_json::Value = serde_json::from_str(&all.stdout).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 6);

    // Bad input: one line, nothing changes.
    for args in [
        vec!["config:set", "PORT=1"],
        vec!["config:set", "1X=2"],
        vec!["config:set", "NOVALUE"],
        vec!["config:unset", "BAD-KEY"],
        vec!["rollback", "v99"],
        vec!["rollback", "v1"],
        vec!["rollback", "latest"],
        vec!["config:get", "MISSING"],
    ] {
        user.paas(&repo, &args).fails_with_one_line();
    }
    // Straight at the API: a NUL in a value, a value that is not a string, a body over the
    // limit. Each is one clear error and no release.
    let token = std::fs::read_to_string(user.home.path().join(".netrc"))
        .unwrap()
        .split_whitespace()
        .skip_while(|w| *w != "password")
        .nth(1)
        .unwrap()
        .to_string();
    let patch = |body: &str| {
        paas_e2e::curl(&[
            "-s",
            "-X",
            "PATCH",
            "-H",
            "Content-Type: application/json",
            "-H",
            &format!("Authorization: Bearer {token}"),
            "--data-binary",
            body,
            &format!("{}/api/apps/{app}/config-vars", paasd.url()),
        ])
    };
    let (status, body) = patch(r#"{"A":"x\u0000y"}"#);
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("NUL"), "{body}");
    assert_eq!(patch(r#"{"A":5}"#).0, 400);
    // (Through a file: one command-line argument cannot hold 3 MiB.)
    let huge = user.home.path().join("huge.json");
    std::fs::write(
        &huge,
        format!(r#"{{"A":"{}"}}"#, "x".repeat(3 * 1024 * 1024)),
    )
    .unwrap();
    assert_eq!(patch(&format!("@{}", huge.display())).0, 413);

    let after = user.paas(&repo, &["releases", "--json"]).ok();
    let parsed: serde_json::Value = serde_json::from_str(&after.stdout).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 6);
    assert_eq!(paasd.get_app(&app, "/AWK"), (200, AWKWARD.to_string()));

    let log = paasd.log();
    assert!(
        !log.contains("s3cr3t-value-42"),
        "a config value reached paasd's log"
    );
}
