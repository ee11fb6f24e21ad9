//! `paas scheduler`, `scheduler:set`, `scheduler:clear` and the `paas nodes` commands against
//! a real paasd whose engine is no Swarm manager: an app's scheduler is the platform's default
//! until chosen, `swarm` and unknown schedulers are refused in one line, the choice goes back
//! to the default when cleared; the node commands refuse non-admins and tell admins there is
//! no Swarm, each in one line with a non-zero exit. On a real Swarm: `tests/e2e/swarm.rs`.

use paas_e2e::{app_name, Paasd, User, ADMIN_EMAIL, ADMIN_PASSWORD};

#[test]
fn scheduler_commands_choose_and_clear_and_refuse_swarm_without_one() {
    let paasd = Paasd::start();
    let user = User::admin(&paasd);
    let here = user.home.path().to_path_buf();
    let app = app_name("sched");
    user.paas(&here, &["apps:create", &app, "--no-remote"]).ok();

    let shown = user.paas(&here, &["scheduler", "-a", &app]).ok();
    assert_eq!(
        shown.stdout,
        format!("=== {app} scheduler\ndocker (the platform's default)\n")
    );
    let set = user
        .paas(&here, &["scheduler:set", "docker", "-a", &app])
        .ok();
    assert!(set.stdout.contains("now runs on docker"), "{}", set.stdout);
    let shown = user.paas(&here, &["scheduler", "-a", &app]).ok();
    assert_eq!(shown.stdout, format!("=== {app} scheduler\ndocker\n"));
    let json = user.paas(&here, &["scheduler", "-a", &app, "--json"]).ok();
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(value["scheduler"], "docker");
    assert_eq!(value["default"], false);

    let refused = user
        .paas(&here, &["scheduler:set", "swarm", "-a", &app])
        .fails_with_one_line();
    assert!(
        refused.stderr.contains("no Swarm") && refused.stderr.contains("PAAS_SCHEDULER=swarm"),
        "{}",
        refused.stderr
    );
    let unknown = user
        .paas(&here, &["scheduler:set", "k8s", "-a", &app])
        .fails_with_one_line();
    assert!(
        unknown
            .stderr
            .contains("Unknown scheduler \"k8s\": use docker or swarm"),
        "{}",
        unknown.stderr
    );
    user.paas(&here, &["scheduler:set", "-a", &app])
        .fails_with_one_line();
    user.paas(&here, &["scheduler", "-a", "no-such-app-here"])
        .fails_with_one_line();

    let cleared = user.paas(&here, &["scheduler:clear", "-a", &app]).ok();
    assert!(
        cleared.stdout.contains("platform's default again: docker"),
        "{}",
        cleared.stdout
    );
    let shown = user.paas(&here, &["scheduler", "-a", &app]).ok();
    assert_eq!(
        shown.stdout,
        format!("=== {app} scheduler\ndocker (the platform's default)\n")
    );
}

#[test]
fn node_commands_are_for_admins_and_say_there_is_no_swarm() {
    let paasd = Paasd::start();
    let admin = User::new();
    admin.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let here = admin.home.path().to_path_buf();
    let added = admin.paas(&here, &["users:add", "ops@e2e.test"]).ok();
    let password = added.stdout.trim().to_string();
    let plain = User::new();
    plain.login(&paasd, "ops@e2e.test", &password).ok();
    let plain_here = plain.home.path().to_path_buf();

    let commands: [&[&str]; 5] = [
        &["nodes"],
        &["nodes:add"],
        &["nodes:add", "--manager"],
        &["nodes:drain", "node-1"],
        &["nodes:activate", "node-1"],
    ];
    for args in commands {
        let refused = plain.paas(&plain_here, args).fails_with_one_line();
        assert!(
            refused.stderr.contains("Only an admin"),
            "{args:?}: {}",
            refused.stderr
        );
        let no_swarm = admin.paas(&here, args).fails_with_one_line();
        assert!(
            no_swarm
                .stderr
                .contains("no Swarm: start paasd with PAAS_SCHEDULER=swarm"),
            "{args:?}: {}",
            no_swarm.stderr
        );
    }
    admin
        .paas(&here, &["nodes:drain", "two words"])
        .fails_with_one_line();
    admin.paas(&here, &["nodes:drain"]).fails_with_one_line();
}
