//! Users and access: tokens required everywhere (API and git), admins manage users, apps are
//! visible only to their owner and collaborators, bad app names change nothing, and the admin
//! account is created with a generated password on first start.

use paas_e2e::{app_name, curl, post_json, Paasd, PaasdOptions, User, ADMIN_EMAIL, ADMIN_PASSWORD};

#[test]
fn requests_without_a_valid_token_get_401() {
    let paasd = Paasd::start();
    assert_eq!(curl(&["-s", &format!("{}/healthz", paasd.url())]).0, 200);
    for path in [
        "/api/apps",
        "/api/account",
        "/api/users",
        "/api/apps/anything",
    ] {
        let url = format!("{}{path}", paasd.url());
        assert_eq!(curl(&["-s", &url]).0, 401, "{path} without token");
        assert_eq!(
            curl(&["-s", "-H", "Authorization: Bearer not-a-token", &url]).0,
            401,
            "{path} with a wrong token"
        );
    }
    let (status, body) = post_json(
        &paasd,
        "/api/login",
        None,
        r#"{"email":"admin@e2e.test","password":"wrong"}"#,
    );
    assert_eq!(status, 401, "{body}");
    // Git without credentials, or with a wrong token, is refused too.
    let refs = format!("{}/x.git/info/refs?service=git-receive-pack", paasd.url());
    assert_eq!(curl(&["-s", &refs]).0, 401);
    assert_eq!(curl(&["-s", "-u", "admin@e2e.test:wrong", &refs]).0, 401);

    // The CLI says so in one line; a wrong stored token fails git push as well.
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, "wrong-password")
        .fails_with_one_line();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-stdlib");
    let app = app_name("auth");
    user.paas(&repo, &["apps:create", &app]).ok();
    let netrc_path = user.home.path().join(".netrc");
    let netrc = std::fs::read_to_string(&netrc_path).unwrap();
    let token = netrc.split_whitespace().last().unwrap().to_string();
    std::fs::write(&netrc_path, netrc.replace(&token, "0123456789abcdef")).unwrap();
    let push = user.git(&repo, &["push", "paas", "main"]);
    assert!(!push.success);
    // git asks for other credentials once the stored ones are refused (prompts are off here).
    assert!(
        push.stderr.contains("Authentication failed")
            || push.stderr.contains("could not read Username"),
        "{}",
        push.stderr
    );
    assert!(!push.stderr.contains("-----> Building"), "{}", push.stderr);
    user.paas(&repo, &["apps"]).fails_with_one_line();
    assert!(paasd.containers().is_empty());
}

#[test]
fn users_see_and_change_only_their_apps() {
    let paasd = Paasd::start();
    let admin = User::new();
    admin.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let here = admin.home.path().to_path_buf();

    // The admin adds a user with a generated password, shown once.
    let added = admin.paas(&here, &["users:add", "dev@e2e.test"]).ok();
    let password = added.stdout.trim().to_string();
    assert!(password.len() >= 12, "{added:?}");
    let users = admin.paas(&here, &["users", "--json"]).ok();
    assert!(users.stdout.contains("dev@e2e.test"));
    admin
        .paas(&here, &["users:add", "dev@e2e.test"])
        .fails_with_one_line();
    admin
        .paas(&here, &["users:add", "not-an-email"])
        .fails_with_one_line();

    let dev = User::new();
    dev.login(&paasd, "dev@e2e.test", &password).ok();
    let dev_here = dev.home.path().to_path_buf();
    // Only admins manage users.
    dev.paas(&dev_here, &["users"]).fails_with_one_line();
    dev.paas(&dev_here, &["users:add", "x@e2e.test"])
        .fails_with_one_line();

    // An app of the admin's is invisible to the user: 404, same as a missing app.
    let app = app_name("shared");
    admin.paas(&here, &["apps:create", &app]).ok();
    let denied = dev
        .paas(&dev_here, &["apps:info", "-a", &app])
        .fails_with_one_line();
    assert!(
        denied.stderr.contains("Couldn't find that app."),
        "{}",
        denied.stderr
    );
    assert!(!dev.paas(&dev_here, &["apps"]).ok().stdout.contains(&app));
    dev.paas(&dev_here, &["apps:destroy", &app, "--confirm", &app])
        .fails_with_one_line();
    dev.paas(&dev_here, &["access:add", "dev@e2e.test", "-a", &app])
        .fails_with_one_line();

    // Once added, the user sees it and can push to it.
    admin
        .paas(&here, &["access:add", "dev@e2e.test", "-a", &app])
        .ok();
    let access = admin.paas(&here, &["access", "-a", &app]).ok();
    assert!(
        access.stdout.contains("dev@e2e.test") && access.stdout.contains("collaborator"),
        "{}",
        access.stdout
    );
    assert!(
        access.stdout.contains(ADMIN_EMAIL) && access.stdout.contains("owner"),
        "{}",
        access.stdout
    );
    let info = dev
        .paas(&dev_here, &["apps:info", "-a", &app, "--json"])
        .ok();
    assert!(info.stdout.contains(ADMIN_EMAIL));
    let repo = dev.sample_repo("python-stdlib");
    dev.git(
        &repo,
        &[
            "remote",
            "add",
            "paas",
            &format!("{}/{app}.git", paasd.url()),
        ],
    )
    .ok();
    let push = dev.git(&repo, &["push", "paas", "main"]).ok();
    assert!(push.stderr.contains("done, v1"), "{}", push.stderr);
    assert_eq!(paasd.get_app(&app, "/").0, 200);
    // ...but a collaborator cannot destroy it.
    dev.paas(&dev_here, &["apps:destroy", &app, "--confirm", &app])
        .fails_with_one_line();

    // Removed again: 404 for the API and for git.
    admin
        .paas(&here, &["access:remove", "dev@e2e.test", "-a", &app])
        .ok();
    dev.paas(&dev_here, &["apps:info", "-a", &app])
        .fails_with_one_line();
    let push = dev.git(&repo, &["push", "paas", "main"]);
    assert!(!push.success);

    // A user who owns apps cannot be removed; once they own none, they can.
    let own = app_name("devapp");
    dev.paas(&dev_here, &["apps:create", &own]).ok();
    admin
        .paas(&here, &["users:remove", "dev@e2e.test"])
        .fails_with_one_line();
    dev.paas(&dev_here, &["apps:destroy", &own, "--confirm", &own])
        .ok();
    admin.paas(&here, &["users:remove", "dev@e2e.test"]).ok();
    dev.paas(&dev_here, &["apps"]).fails_with_one_line();
    assert!(!admin
        .paas(&here, &["users"])
        .ok()
        .stdout
        .contains("dev@e2e.test"));
}

#[test]
fn bad_app_names_are_refused_and_change_nothing() {
    let paasd = Paasd::start();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let here = user.home.path().to_path_buf();
    let taken = app_name("taken");
    user.paas(&here, &["apps:create", &taken]).ok();
    let before = user.paas(&here, &["apps", "--json"]).ok().stdout;
    for bad in [
        "ab",
        "Hello",
        "1abc",
        "a_b_c",
        "has.dot",
        "x".repeat(31).as_str(),
        "paas",
        &taken,
    ] {
        user.paas(&here, &["apps:create", bad])
            .fails_with_one_line();
    }
    // The API refuses them as well, with one JSON message.
    let credentials = format!(r#"{{"email":"{ADMIN_EMAIL}","password":"{ADMIN_PASSWORD}"}}"#);
    let login: serde_json::Value =
        serde_json::from_str(&post_json(&paasd, "/api/login", None, &credentials).1).unwrap();
    let token = login["token"].as_str().unwrap();
    let (status, body) = post_json(&paasd, "/api/apps", Some(token), r#"{"name":"Bad_Name"}"#);
    assert_eq!(status, 422, "{body}");
    // A body that is not the expected JSON: 400, in the same JSON error shape.
    for bad_body in ["{not json", r#"{"name": 42}"#] {
        let (status, body) = post_json(&paasd, "/api/apps", Some(token), bad_body);
        assert_eq!(status, 400, "{body}");
        let error: serde_json::Value = serde_json::from_str(&body).expect("a JSON error body");
        assert_eq!(error["id"], "bad_request", "{body}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid request body"),
            "{body}"
        );
    }
    assert!(body.contains("Invalid app name"), "{body}");
    assert_eq!(user.paas(&here, &["apps", "--json"]).ok().stdout, before);
    let repos: Vec<_> = std::fs::read_dir(paasd.data.path().join("repos"))
        .unwrap()
        .collect();
    assert_eq!(repos.len(), 1);
    // Unknown commands: one line, non-zero.
    let run = user.paas(&here, &["frobnicate"]).fails_with_one_line();
    assert_eq!(run.code, Some(2));
}

#[test]
fn first_start_generates_and_prints_the_admin_password_once() {
    let paasd = Paasd::start_with(PaasdOptions {
        generated_admin_password: true,
        ..PaasdOptions::default()
    });
    let log = paasd.log();
    assert!(
        log.contains(&format!("Created admin account {ADMIN_EMAIL}")),
        "{log}"
    );
    let password = log
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .expect("the generated password is printed")
        .to_string();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, &password).ok();
    let whoami = user.paas(user.home.path(), &["auth:whoami"]).ok();
    assert_eq!(whoami.stdout.trim(), ADMIN_EMAIL);
    // netrc carries the token for git.
    let netrc = std::fs::read_to_string(user.home.path().join(".netrc")).unwrap();
    assert!(
        netrc.contains("machine 127.0.0.1") && netrc.contains(ADMIN_EMAIL),
        "{netrc}"
    );
    let token = netrc.split_whitespace().last().unwrap().to_string();

    // PAAS_URL and PAAS_API_KEY override the stored ones: a user with no login at all works.
    let script = User::new();
    let url = paasd.url();
    let env = [("PAAS_URL", url.as_str()), ("PAAS_API_KEY", token.as_str())];
    let whoami = script
        .paas_with_env(script.home.path(), &["auth:whoami"], &env)
        .ok();
    assert_eq!(whoami.stdout.trim(), ADMIN_EMAIL);
    let wrong = [("PAAS_URL", url.as_str()), ("PAAS_API_KEY", "nope")];
    script
        .paas_with_env(script.home.path(), &["apps"], &wrong)
        .fails_with_one_line();
    script
        .paas(script.home.path(), &["apps"])
        .fails_with_one_line();
}
