//! The `Store` contract, checked on real databases. Every test body below is written once, against
//! `&dyn Store`, and `store_tests!` runs it twice: `sqlite::<name>` on a temporary SQLite file and
//! `postgres::<name>` on a fresh PostgreSQL database (see `support`).

mod support;

use paas_domain::Formation;
use paas_store::{
    ApiToken, BuildStatus, NewRelease, NewToken, PushRelease, ReleaseStatus, SqlStore, Store,
    StoreError, User,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use support::{app, app_name, email, user, TestDb};
use uuid::Uuid;

macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = crate::support::sqlite().await;
                    crate::$name(&db).await;
                    db.store.close().await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = crate::support::postgres().await else {
                        return;
                    };
                    crate::$name(&db).await;
                    db.store.close().await;
                }
            )*
        }
    };
}

store_tests!(
    settings_upsert,
    users_create_lookup_and_order,
    duplicate_email_is_conflict,
    tokens_find_their_user,
    tokens_list_newest_first_per_user,
    tokens_revoke_only_their_own,
    tokens_expire_and_are_pruned,
    tokens_record_their_last_use,
    apps_create_lookup_and_order,
    duplicate_app_name_is_conflict,
    collaborators,
    delete_user_refuses_an_owner,
    delete_user_removes_tokens_and_collaborations,
    delete_app_removes_children,
    release_versions_count_per_app,
    release_status_and_current_release,
    concurrent_create_release_gets_distinct_versions,
    builds_lifecycle_and_order,
    fail_pending_builds,
    formation_replace,
    corrupt_rows_are_reported,
    reconnecting_keeps_data,
    push_release_is_one_outcome,
    process_sizes_set_and_kept_per_type,
    domains_belong_to_one_app_and_maintenance_is_per_app,
    config_changes_and_rollbacks_are_releases,
    app_buildpacks_are_set_added_and_cleared_in_order,
    app_build_method_is_set_per_app_and_cleared,
    app_scheduler_is_set_per_app_listed_and_cleared,
    drains_are_kept_per_app_and_kind,
);

async fn drains_are_kept_per_app_and_kind(db: &TestDb) {
    use paas_store::DrainKind::{Log, Otlp};
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let web = app(&*store, "web", &owner).await;
    let other = app(&*store, "other", &owner).await;
    let syslog = "syslog+tcp://logs.example.com:514";
    let https = "https://user:secret@logs.example.com/drain";
    store.add_drain(web.id, Log, https).await.unwrap();
    store.add_drain(web.id, Log, syslog).await.unwrap();
    // The same URL as another kind, or for another app, is another drain.
    store.add_drain(web.id, Otlp, https).await.unwrap();
    store.add_drain(other.id, Log, syslog).await.unwrap();
    assert_conflict(store.add_drain(web.id, Log, syslog).await);
    assert_not_found(store.add_drain(Uuid::new_v4(), Log, syslog).await);
    assert_eq!(
        store.drains(web.id, Log).await.unwrap(),
        vec![https.to_string(), syslog.to_string()]
    );
    assert_eq!(
        store.drains(web.id, Otlp).await.unwrap(),
        vec![https.to_string()]
    );
    assert_eq!(
        store.all_drains().await.unwrap(),
        vec![
            ("other".to_string(), Log, syslog.to_string()),
            ("web".to_string(), Log, https.to_string()),
            ("web".to_string(), Log, syslog.to_string()),
            ("web".to_string(), Otlp, https.to_string()),
        ]
    );
    store.remove_drain(web.id, Log, https).await.unwrap();
    assert_not_found(store.remove_drain(web.id, Log, https).await);
    assert_not_found(store.remove_drain(other.id, Otlp, syslog).await);
    assert_eq!(
        store.drains(web.id, Log).await.unwrap(),
        vec![syslog.to_string()]
    );
    assert_eq!(
        store.drains(web.id, Otlp).await.unwrap(),
        vec![https.to_string()]
    );
    // A destroyed app's drains go with it.
    store.delete_app(web.id).await.unwrap();
    assert_eq!(
        store.all_drains().await.unwrap(),
        vec![("other".to_string(), Log, syslog.to_string())]
    );
}

async fn app_build_method_is_set_per_app_and_cleared(db: &TestDb) {
    use paas_domain::BuildMethod;
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let web = app(&*store, "web", &owner).await;
    let other = app(&*store, "other", &owner).await;
    assert_eq!(store.app_build_method(web.id).await.unwrap(), None);
    store
        .set_app_build_method(web.id, Some(BuildMethod::Dockerfile))
        .await
        .unwrap();
    store
        .set_app_build_method(other.id, Some(BuildMethod::Buildpacks))
        .await
        .unwrap();
    assert_eq!(
        store.app_build_method(web.id).await.unwrap(),
        Some(BuildMethod::Dockerfile)
    );
    store
        .set_app_build_method(web.id, Some(BuildMethod::Buildpacks))
        .await
        .unwrap();
    assert_eq!(
        store.app_build_method(web.id).await.unwrap(),
        Some(BuildMethod::Buildpacks)
    );
    store.set_app_build_method(web.id, None).await.unwrap();
    assert_eq!(store.app_build_method(web.id).await.unwrap(), None);
    assert_eq!(
        store.app_build_method(other.id).await.unwrap(),
        Some(BuildMethod::Buildpacks)
    );
    assert_not_found(
        store
            .set_app_build_method(Uuid::new_v4(), Some(BuildMethod::Dockerfile))
            .await,
    );
    store.delete_app(other.id).await.unwrap();
    assert_eq!(store.app_build_method(other.id).await.unwrap(), None);
}

async fn app_scheduler_is_set_per_app_listed_and_cleared(db: &TestDb) {
    use paas_domain::SchedulerKind::{Docker, Swarm};
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let web = app(&*store, "web", &owner).await;
    let other = app(&*store, "other", &owner).await;
    let plain = app(&*store, "plain", &owner).await;
    assert_eq!(store.app_scheduler(web.id).await.unwrap(), None);
    assert_eq!(store.all_app_schedulers().await.unwrap(), vec![]);
    store.set_app_scheduler(web.id, Some(Swarm)).await.unwrap();
    store
        .set_app_scheduler(other.id, Some(Docker))
        .await
        .unwrap();
    assert_eq!(store.app_scheduler(web.id).await.unwrap(), Some(Swarm));
    assert_eq!(store.app_scheduler(other.id).await.unwrap(), Some(Docker));
    assert_eq!(store.app_scheduler(plain.id).await.unwrap(), None);
    let mut expected = vec![(web.id, Swarm), (other.id, Docker)];
    expected.sort_by_key(|(id, _)| id.to_string());
    assert_eq!(store.all_app_schedulers().await.unwrap(), expected);
    store.set_app_scheduler(web.id, Some(Docker)).await.unwrap();
    assert_eq!(store.app_scheduler(web.id).await.unwrap(), Some(Docker));
    store.set_app_scheduler(web.id, None).await.unwrap();
    assert_eq!(store.app_scheduler(web.id).await.unwrap(), None);
    assert_eq!(
        store.all_app_schedulers().await.unwrap(),
        vec![(other.id, Docker)]
    );
    assert_not_found(store.set_app_scheduler(Uuid::new_v4(), Some(Swarm)).await);
    // A destroyed app's choice goes with it.
    store.delete_app(other.id).await.unwrap();
    assert_eq!(store.app_scheduler(other.id).await.unwrap(), None);
    assert_eq!(store.all_app_schedulers().await.unwrap(), vec![]);
}

async fn app_buildpacks_are_set_added_and_cleared_in_order(db: &TestDb) {
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let web = app(&*store, "web", &owner).await;
    let other = app(&*store, "other", &owner).await;
    assert!(store.app_buildpacks(web.id).await.unwrap().is_empty());
    let list = |urls: &[&str]| urls.iter().map(|u| u.to_string()).collect::<Vec<_>>();
    store
        .set_app_buildpacks(web.id, &list(&["https://x/b.git", "https://x/a.git#v1"]))
        .await
        .unwrap();
    assert_eq!(
        store.add_app_buildpack(web.id, "/srv/c").await.unwrap(),
        list(&["https://x/b.git", "https://x/a.git#v1", "/srv/c"])
    );
    store
        .set_app_buildpacks(other.id, &list(&["/srv/other"]))
        .await
        .unwrap();
    store
        .set_app_buildpacks(web.id, &list(&["/srv/d"]))
        .await
        .unwrap();
    assert_eq!(
        store.app_buildpacks(web.id).await.unwrap(),
        list(&["/srv/d"])
    );
    store.set_app_buildpacks(web.id, &[]).await.unwrap();
    assert!(store.app_buildpacks(web.id).await.unwrap().is_empty());
    assert_eq!(
        store.add_app_buildpack(web.id, "/srv/e").await.unwrap(),
        list(&["/srv/e"])
    );
    assert_not_found(store.add_app_buildpack(Uuid::new_v4(), "/srv/x").await);
    assert_not_found(
        store
            .set_app_buildpacks(Uuid::new_v4(), &list(&["/srv/x"]))
            .await,
    );
    store.delete_app(web.id).await.unwrap();
    assert!(store.app_buildpacks(web.id).await.unwrap().is_empty());
    assert_eq!(
        store.app_buildpacks(other.id).await.unwrap(),
        list(&["/srv/other"])
    );
}

fn release_for(app_id: Uuid, image: &str) -> NewRelease {
    NewRelease {
        app_id,
        image: image.to_string(),
        process_types: BTreeMap::from([("web".to_string(), "./server".to_string())]),
        config: BTreeMap::new(),
        description: format!("Deploy {image}"),
        user_id: None,
    }
}

fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "expected Conflict, got {result:?}"
    );
}

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::NotFound(_))),
        "expected NotFound, got {result:?}"
    );
}

fn assert_corrupt<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Corrupt(_))),
        "expected Corrupt, got {result:?}"
    );
}

async fn settings_upsert(db: &TestDb) {
    let store = db.dyn_store();
    assert_eq!(store.setting("instance_id").await.unwrap(), None);

    store.put_setting("instance_id", "abc").await.unwrap();
    store.put_setting("other", "x").await.unwrap();
    assert_eq!(
        store.setting("instance_id").await.unwrap().as_deref(),
        Some("abc")
    );

    store.put_setting("instance_id", "def").await.unwrap();
    assert_eq!(
        store.setting("instance_id").await.unwrap().as_deref(),
        Some("def")
    );
    assert_eq!(store.setting("other").await.unwrap().as_deref(), Some("x"));
}

async fn users_create_lookup_and_order(db: &TestDb) {
    let store = db.dyn_store();
    assert_eq!(store.count_users().await.unwrap(), 0);
    assert!(store.list_users().await.unwrap().is_empty());

    let before = now_ms();
    let carol = store
        .create_user(&email("carol@example.com"), "hash-c", false)
        .await
        .unwrap();
    let alice = store
        .create_user(&email("Alice@Example.com"), "hash-a", true)
        .await
        .unwrap();
    let bob = store
        .create_user(&email("bob@example.com"), "hash-b", false)
        .await
        .unwrap();

    assert_eq!(alice.email, "alice@example.com");
    assert!(alice.admin && !bob.admin);
    assert_eq!(alice.password_hash, "hash-a");
    assert!(alice.created_at >= before && alice.created_at <= now_ms());
    assert_eq!(store.count_users().await.unwrap(), 3);

    let listed: Vec<_> = store.list_users().await.unwrap();
    assert_eq!(
        listed,
        vec![alice.clone(), bob.clone(), carol.clone()],
        "ordered by e-mail"
    );

    assert_eq!(
        store
            .user_by_email(&email("ALICE@example.com"))
            .await
            .unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.user_by_id(carol.id).await.unwrap(), Some(carol));
    assert_eq!(
        store
            .user_by_email(&email("nobody@example.com"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.user_by_id(Uuid::new_v4()).await.unwrap(), None);
}

async fn duplicate_email_is_conflict(db: &TestDb) {
    let store = db.dyn_store();
    user(&*store, "ann@example.com").await;
    assert_conflict(
        store
            .create_user(&email("ANN@example.com"), "other", true)
            .await,
    );
    assert_eq!(store.count_users().await.unwrap(), 1);
}

const DAY_MS: i64 = 86_400_000;

/// A token for `user` by its hash, valid for a day.
async fn token(store: &dyn Store, user: &User, hash: &str) -> ApiToken {
    store
        .create_token(NewToken {
            user_id: user.id,
            token_hash: hash.to_string(),
            description: format!("token {hash}"),
            expires_at: now_ms() + DAY_MS,
        })
        .await
        .expect("create token")
}

async fn user_of(store: &dyn Store, hash: &str) -> Option<User> {
    store
        .token_by_hash(hash)
        .await
        .unwrap()
        .map(|(_, user)| user)
}

async fn tokens_find_their_user(db: &TestDb) {
    let store = db.dyn_store();
    let ann = user(&*store, "ann@example.com").await;
    let bob = user(&*store, "bob@example.com").await;

    let before = now_ms();
    let first = token(&*store, &ann, "hash-1").await;
    token(&*store, &ann, "hash-2").await;
    token(&*store, &bob, "hash-3").await;

    assert_eq!(first.user_id, ann.id);
    assert_eq!(first.description, "token hash-1");
    assert!(first.created_at >= before && first.created_at <= now_ms());
    assert_eq!(first.last_used_at, None);
    let (found, owner) = store.token_by_hash("hash-1").await.unwrap().unwrap();
    assert_eq!(found, first);
    assert_eq!(owner, ann);
    assert_eq!(user_of(&*store, "hash-2").await, Some(ann));
    assert_eq!(user_of(&*store, "hash-3").await, Some(bob.clone()));
    assert_eq!(user_of(&*store, "unknown").await, None);

    let again = NewToken {
        user_id: bob.id,
        token_hash: "hash-1".to_string(),
        description: String::new(),
        expires_at: now_ms() + DAY_MS,
    };
    assert_conflict(store.create_token(again.clone()).await);
    assert_not_found(
        store
            .create_token(NewToken {
                user_id: Uuid::new_v4(),
                token_hash: "hash-4".to_string(),
                ..again
            })
            .await,
    );
}

async fn tokens_list_newest_first_per_user(db: &TestDb) {
    let store = db.dyn_store();
    let ann = user(&*store, "ann@example.com").await;
    let bob = user(&*store, "bob@example.com").await;
    assert!(store.list_tokens(ann.id).await.unwrap().is_empty());

    let old = token(&*store, &ann, "ann-old").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let new = token(&*store, &ann, "ann-new").await;
    let bobs = token(&*store, &bob, "bob-1").await;

    assert_eq!(store.list_tokens(ann.id).await.unwrap(), vec![new, old]);
    assert_eq!(store.list_tokens(bob.id).await.unwrap(), vec![bobs]);
    assert!(store.list_tokens(Uuid::new_v4()).await.unwrap().is_empty());
}

async fn tokens_revoke_only_their_own(db: &TestDb) {
    let store = db.dyn_store();
    let ann = user(&*store, "ann@example.com").await;
    let bob = user(&*store, "bob@example.com").await;
    let anns = token(&*store, &ann, "ann-1").await;
    let bobs = token(&*store, &bob, "bob-1").await;

    // Bob cannot revoke Ann's token: nothing happens, reported like a missing token.
    assert!(!store.delete_token(bob.id, anns.id).await.unwrap());
    assert_eq!(user_of(&*store, "ann-1").await, Some(ann.clone()));

    assert!(store.delete_token(ann.id, anns.id).await.unwrap());
    assert_eq!(user_of(&*store, "ann-1").await, None);
    assert!(store.list_tokens(ann.id).await.unwrap().is_empty());
    assert!(!store.delete_token(ann.id, anns.id).await.unwrap());
    assert!(!store.delete_token(ann.id, Uuid::new_v4()).await.unwrap());
    // Bob's token is untouched.
    assert_eq!(store.list_tokens(bob.id).await.unwrap(), vec![bobs]);
}

async fn tokens_expire_and_are_pruned(db: &TestDb) {
    let store = db.dyn_store();
    let ann = user(&*store, "ann@example.com").await;
    let now = now_ms();
    let expired = store
        .create_token(NewToken {
            user_id: ann.id,
            token_hash: "expired".to_string(),
            description: "old".to_string(),
            expires_at: now - 1_000,
        })
        .await
        .unwrap();
    let valid = token(&*store, &ann, "valid").await;

    // An expired token is still found, so that the API can say it expired.
    let (found, _) = store.token_by_hash("expired").await.unwrap().unwrap();
    assert_eq!(found.expires_at, now - 1_000);
    assert!(found.is_expired(now));
    assert!(!valid.is_expired(now));
    assert!(valid.is_expired(valid.expires_at));

    assert_eq!(store.delete_expired_tokens(now).await.unwrap(), 1);
    assert_eq!(store.token_by_hash("expired").await.unwrap(), None);
    assert_eq!(store.list_tokens(ann.id).await.unwrap(), vec![valid]);
    assert_eq!(store.delete_expired_tokens(now).await.unwrap(), 0);
    assert!(!store.delete_token(ann.id, expired.id).await.unwrap());
}

async fn tokens_record_their_last_use(db: &TestDb) {
    let store = db.dyn_store();
    let ann = user(&*store, "ann@example.com").await;
    let used = token(&*store, &ann, "used").await;
    let other = token(&*store, &ann, "other").await;

    store.touch_token(used.id, 1_234).await.unwrap();
    let (found, _) = store.token_by_hash("used").await.unwrap().unwrap();
    assert_eq!(found.last_used_at, Some(1_234));
    assert_eq!(
        found,
        ApiToken {
            last_used_at: Some(1_234),
            ..used
        }
    );
    let (untouched, _) = store.token_by_hash("other").await.unwrap().unwrap();
    assert_eq!(untouched, other);
    // Touching a token that is gone is not an error.
    store.touch_token(Uuid::new_v4(), 1).await.unwrap();
}

async fn apps_create_lookup_and_order(db: &TestDb) {
    let store = db.dyn_store();
    let ann = user(&*store, "ann@example.com").await;
    let bob = user(&*store, "bob@example.com").await;
    let cid = user(&*store, "cid@example.com").await;

    let zeta = app(&*store, "zeta", &ann).await;
    let alpha = app(&*store, "alpha", &bob).await;
    let mid = app(&*store, "mid", &cid).await;

    assert_eq!(zeta.owner_id, ann.id);
    assert_eq!(zeta.current_release_id, None);
    assert!(zeta.created_at > 0);
    assert_eq!(
        store.app_by_name(&app_name("zeta")).await.unwrap(),
        Some(zeta.clone())
    );
    assert_eq!(store.app_by_name(&app_name("nope")).await.unwrap(), None);

    assert_eq!(
        store.list_apps().await.unwrap(),
        vec![alpha.clone(), mid.clone(), zeta.clone()],
        "ordered by name"
    );

    // Ann owns zeta and collaborates on alpha; mid is none of her business.
    store.add_collaborator(alpha.id, ann.id).await.unwrap();
    assert_eq!(
        store.list_apps_for_user(ann.id).await.unwrap(),
        vec![alpha.clone(), zeta]
    );
    assert_eq!(store.list_apps_for_user(bob.id).await.unwrap(), vec![alpha]);
    assert_eq!(store.list_apps_for_user(cid.id).await.unwrap(), vec![mid]);
    assert!(store
        .list_apps_for_user(Uuid::new_v4())
        .await
        .unwrap()
        .is_empty());

    assert_not_found(store.create_app(&app_name("orphan"), Uuid::new_v4()).await);
}

async fn duplicate_app_name_is_conflict(db: &TestDb) {
    let store = db.dyn_store();
    let ann = user(&*store, "ann@example.com").await;
    let bob = user(&*store, "bob@example.com").await;
    let first = app(&*store, "taken", &ann).await;
    assert_conflict(store.create_app(&app_name("taken"), bob.id).await);
    assert_eq!(store.list_apps().await.unwrap(), vec![first]);
}

async fn collaborators(db: &TestDb) {
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let zed = user(&*store, "zed@example.com").await;
    let amy = user(&*store, "amy@example.com").await;
    let web = app(&*store, "web", &owner).await;
    let other = app(&*store, "other", &owner).await;

    assert!(store.list_collaborators(web.id).await.unwrap().is_empty());
    store.add_collaborator(web.id, zed.id).await.unwrap();
    store.add_collaborator(web.id, amy.id).await.unwrap();
    assert_conflict(store.add_collaborator(web.id, zed.id).await);
    assert_not_found(store.add_collaborator(Uuid::new_v4(), zed.id).await);
    assert_not_found(store.add_collaborator(web.id, Uuid::new_v4()).await);

    // Ordered by e-mail; the owner is not a collaborator.
    assert_eq!(
        store.list_collaborators(web.id).await.unwrap(),
        vec![amy.clone(), zed.clone()]
    );
    assert!(store.is_collaborator(web.id, zed.id).await.unwrap());
    assert!(!store.is_collaborator(web.id, owner.id).await.unwrap());
    assert!(!store.is_collaborator(other.id, zed.id).await.unwrap());

    assert!(store.remove_collaborator(web.id, zed.id).await.unwrap());
    assert!(!store.remove_collaborator(web.id, zed.id).await.unwrap());
    assert!(!store.is_collaborator(web.id, zed.id).await.unwrap());
    assert_eq!(store.list_collaborators(web.id).await.unwrap(), vec![amy]);
}

async fn delete_user_refuses_an_owner(db: &TestDb) {
    let store = db.dyn_store();
    let ann = user(&*store, "ann@example.com").await;
    let web = app(&*store, "web", &ann).await;
    token(&*store, &ann, "ann-token").await;

    assert_conflict(store.delete_user(ann.id).await);
    // Nothing was touched.
    assert_eq!(store.user_by_id(ann.id).await.unwrap(), Some(ann.clone()));
    assert_eq!(user_of(&*store, "ann-token").await, Some(ann.clone()));

    // Once the app is gone the user can go.
    store.delete_app(web.id).await.unwrap();
    store.delete_user(ann.id).await.unwrap();
    assert_eq!(store.user_by_id(ann.id).await.unwrap(), None);
    assert_not_found(store.delete_user(ann.id).await);
    assert_not_found(store.delete_user(Uuid::new_v4()).await);
}

async fn delete_user_removes_tokens_and_collaborations(db: &TestDb) {
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let helper = user(&*store, "helper@example.com").await;
    let web = app(&*store, "web", &owner).await;
    store.add_collaborator(web.id, helper.id).await.unwrap();
    token(&*store, &helper, "helper-token").await;
    let build = store
        .create_build(web.id, helper.id, "abc123")
        .await
        .unwrap();
    let release = store
        .create_release(NewRelease {
            user_id: Some(helper.id),
            ..release_for(web.id, "img:1")
        })
        .await
        .unwrap();

    store.delete_user(helper.id).await.unwrap();

    assert_eq!(store.user_by_id(helper.id).await.unwrap(), None);
    assert_eq!(user_of(&*store, "helper-token").await, None);
    assert!(store.list_collaborators(web.id).await.unwrap().is_empty());
    assert_eq!(store.count_users().await.unwrap(), 1);
    // The app's history stays: the build keeps the pusher's id, the release forgets its user.
    assert_eq!(store.list_builds(web.id).await.unwrap(), vec![build]);
    let kept = store
        .release_by_id(release.id)
        .await
        .unwrap()
        .expect("release kept");
    assert_eq!(kept.user_id, None);
    assert_eq!(kept.version, 1);
}

async fn delete_app_removes_children(db: &TestDb) {
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let helper = user(&*store, "helper@example.com").await;
    let doomed = app(&*store, "doomed", &owner).await;
    let kept = app(&*store, "kept", &owner).await;

    for target in [&doomed, &kept] {
        store.add_collaborator(target.id, helper.id).await.unwrap();
        let build = store
            .create_build(target.id, owner.id, "abc")
            .await
            .unwrap();
        let release = store
            .create_release(release_for(target.id, "img"))
            .await
            .unwrap();
        store
            .finish_build(build.id, BuildStatus::Succeeded, Some(release.id))
            .await
            .unwrap();
        store
            .set_current_release(target.id, Some(release.id))
            .await
            .unwrap();
        store
            .set_formation(target.id, &Formation::from([("web".to_string(), 2)]))
            .await
            .unwrap();
    }
    let doomed_release = store.list_releases(doomed.id).await.unwrap()[0].id;

    store.delete_app(doomed.id).await.unwrap();

    assert_eq!(store.app_by_name(&app_name("doomed")).await.unwrap(), None);
    assert!(store.list_builds(doomed.id).await.unwrap().is_empty());
    assert!(store.list_releases(doomed.id).await.unwrap().is_empty());
    assert_eq!(store.release_by_id(doomed_release).await.unwrap(), None);
    assert!(store.formation(doomed.id).await.unwrap().is_empty());
    assert!(!store.is_collaborator(doomed.id, helper.id).await.unwrap());
    assert_eq!(store.list_apps_for_user(helper.id).await.unwrap().len(), 1);
    assert_not_found(store.delete_app(doomed.id).await);

    // The other app is untouched.
    assert_eq!(store.list_builds(kept.id).await.unwrap().len(), 1);
    assert_eq!(store.list_releases(kept.id).await.unwrap().len(), 1);
    assert_eq!(store.formation(kept.id).await.unwrap().get("web"), Some(&2));
    assert!(store.is_collaborator(kept.id, helper.id).await.unwrap());

    // The name is free again, and the new app starts over at v1.
    let reborn = app(&*store, "doomed", &owner).await;
    assert_eq!(
        store
            .create_release(release_for(reborn.id, "img"))
            .await
            .unwrap()
            .version,
        1
    );
}

async fn release_versions_count_per_app(db: &TestDb) {
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let one = app(&*store, "one", &owner).await;
    let two = app(&*store, "two", &owner).await;

    let v1 = store
        .create_release(release_for(one.id, "one:1"))
        .await
        .unwrap();
    let v2 = store
        .create_release(release_for(one.id, "one:2"))
        .await
        .unwrap();
    let other_v1 = store
        .create_release(release_for(two.id, "two:1"))
        .await
        .unwrap();
    let v3 = store
        .create_release(release_for(one.id, "one:3"))
        .await
        .unwrap();

    assert_eq!((v1.version, v2.version, v3.version), (1, 2, 3));
    assert_eq!(other_v1.version, 1, "each app counts on its own");
    assert_eq!(
        store
            .create_release(release_for(two.id, "two:2"))
            .await
            .unwrap()
            .version,
        2
    );

    // Newest first, and every field round-trips.
    assert_eq!(
        store.list_releases(one.id).await.unwrap(),
        vec![v3, v2, v1.clone()]
    );
    assert_eq!(v1.status, ReleaseStatus::Pending);
    assert_eq!(v1.image, "one:1");
    assert_eq!(v1.description, "Deploy one:1");
    assert!(v1.created_at > 0);

    let rich = NewRelease {
        app_id: one.id,
        image: "one:4".to_string(),
        process_types: BTreeMap::from([
            ("web".to_string(), "bundle exec puma -p $PORT".to_string()),
            (
                "worker".to_string(),
                "sidekiq \"quoted\" \\ back".to_string(),
            ),
        ]),
        config: BTreeMap::from([
            (
                "DATABASE_URL".to_string(),
                "postgres://x:y@h/db?a=b&c=d".to_string(),
            ),
            ("EMPTY".to_string(), String::new()),
            ("UNICODE".to_string(), "héllo ✓".to_string()),
        ]),
        description: "Set config vars".to_string(),
        user_id: Some(owner.id),
    };
    let v4 = store.create_release(rich.clone()).await.unwrap();
    let read = store
        .release_by_id(v4.id)
        .await
        .unwrap()
        .expect("release exists");
    assert_eq!(read, v4);
    assert_eq!(read.version, 4);
    assert_eq!(read.process_types, rich.process_types);
    assert_eq!(read.config, rich.config);
    assert_eq!(read.user_id, Some(owner.id));

    assert_eq!(store.release_by_id(Uuid::new_v4()).await.unwrap(), None);
    assert!(store
        .list_releases(Uuid::new_v4())
        .await
        .unwrap()
        .is_empty());
    assert_not_found(
        store
            .create_release(release_for(Uuid::new_v4(), "ghost"))
            .await,
    );
}

async fn release_status_and_current_release(db: &TestDb) {
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let web = app(&*store, "web", &owner).await;
    let other = app(&*store, "other", &owner).await;
    let v1 = store
        .create_release(release_for(web.id, "img:1"))
        .await
        .unwrap();
    let foreign = store
        .create_release(release_for(other.id, "img:x"))
        .await
        .unwrap();

    store
        .set_release_status(v1.id, ReleaseStatus::Succeeded)
        .await
        .unwrap();
    let read = store.release_by_id(v1.id).await.unwrap().unwrap();
    assert_eq!(read.status, ReleaseStatus::Succeeded);
    store
        .set_release_status(v1.id, ReleaseStatus::Failed)
        .await
        .unwrap();
    assert_eq!(
        store.release_by_id(v1.id).await.unwrap().unwrap().status,
        ReleaseStatus::Failed
    );
    assert_not_found(
        store
            .set_release_status(Uuid::new_v4(), ReleaseStatus::Failed)
            .await,
    );

    let current = |name: &'static str| {
        let store = store.clone();
        async move {
            store
                .app_by_name(&app_name(name))
                .await
                .unwrap()
                .unwrap()
                .current_release_id
        }
    };
    assert_eq!(current("web").await, None);
    store
        .set_current_release(web.id, Some(v1.id))
        .await
        .unwrap();
    assert_eq!(current("web").await, Some(v1.id));

    // Another app's release, an unknown release, an unknown app: all refused, nothing changed.
    assert_not_found(store.set_current_release(web.id, Some(foreign.id)).await);
    assert_not_found(
        store
            .set_current_release(web.id, Some(Uuid::new_v4()))
            .await,
    );
    assert_not_found(store.set_current_release(Uuid::new_v4(), Some(v1.id)).await);
    assert_eq!(current("web").await, Some(v1.id));

    store.set_current_release(web.id, None).await.unwrap();
    assert_eq!(current("web").await, None);
    assert_eq!(current("other").await, None);
}

async fn concurrent_create_release_gets_distinct_versions(db: &TestDb) {
    const TASKS: usize = 6;
    const EACH: usize = 4;
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let busy = app(&*store, "busy", &owner).await;
    let calm = app(&*store, "calm", &owner).await;
    // Half the writers go through a second pool, as another paas process would.
    let second: Arc<dyn Store> = Arc::new(SqlStore::connect(&db.url).await.expect("second pool"));

    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let store = if task % 2 == 0 {
            store.clone()
        } else {
            second.clone()
        };
        let (busy_id, calm_id, user_id) = (busy.id, calm.id, owner.id);
        tasks.push(tokio::spawn(async move {
            let mut versions = Vec::new();
            for i in 0..EACH {
                let release = store
                    .create_release(release_for(busy_id, &format!("busy:{task}-{i}")))
                    .await
                    .expect("concurrent create_release");
                versions.push(release.version);
                store
                    .create_build(calm_id, user_id, "c0ffee")
                    .await
                    .expect("concurrent build");
            }
            versions
        }));
    }
    let mut versions = Vec::new();
    for task in tasks {
        versions.extend(task.await.expect("task panicked"));
    }

    let distinct: BTreeSet<i64> = versions.iter().copied().collect();
    let expected: BTreeSet<i64> = (1..=(TASKS * EACH) as i64).collect();
    assert_eq!(versions.len(), TASKS * EACH);
    assert_eq!(
        distinct, expected,
        "versions must be distinct and consecutive: {versions:?}"
    );

    let listed: Vec<i64> = store
        .list_releases(busy.id)
        .await
        .unwrap()
        .iter()
        .map(|r| r.version)
        .collect();
    assert_eq!(listed, expected.iter().rev().copied().collect::<Vec<_>>());
    assert_eq!(
        store.list_builds(calm.id).await.unwrap().len(),
        TASKS * EACH
    );
}

async fn builds_lifecycle_and_order(db: &TestDb) {
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let web = app(&*store, "web", &owner).await;
    let other = app(&*store, "other", &owner).await;

    let before = now_ms();
    let first = store
        .create_build(web.id, owner.id, "aaa111")
        .await
        .unwrap();
    assert_eq!(first.status, BuildStatus::Pending);
    assert_eq!(first.commit, "aaa111");
    assert_eq!((first.app_id, first.user_id), (web.id, owner.id));
    assert_eq!((first.release_id, first.finished_at), (None, None));
    assert!(first.created_at >= before);

    // Created back to back (often within one millisecond): still newest first.
    let mut created = vec![first.clone()];
    for commit in ["bbb222", "ccc333", "ddd444"] {
        created.push(store.create_build(web.id, owner.id, commit).await.unwrap());
    }
    store.create_build(other.id, owner.id, "zzz").await.unwrap();
    created.reverse();
    assert_eq!(store.list_builds(web.id).await.unwrap(), created);

    let release = store
        .create_release(release_for(web.id, "img"))
        .await
        .unwrap();
    store
        .finish_build(first.id, BuildStatus::Succeeded, Some(release.id))
        .await
        .unwrap();
    let second = &created[2];
    store
        .finish_build(second.id, BuildStatus::Failed, None)
        .await
        .unwrap();

    let builds = store.list_builds(web.id).await.unwrap();
    let done = builds.iter().find(|b| b.id == first.id).unwrap();
    assert_eq!(done.status, BuildStatus::Succeeded);
    assert_eq!(done.release_id, Some(release.id));
    assert!(done.finished_at.is_some_and(|t| t >= done.created_at));
    let failed = builds.iter().find(|b| b.id == second.id).unwrap();
    assert_eq!(
        (failed.status, failed.release_id),
        (BuildStatus::Failed, None)
    );
    assert!(failed.finished_at.is_some());

    assert_not_found(
        store
            .finish_build(Uuid::new_v4(), BuildStatus::Failed, None)
            .await,
    );
    assert_not_found(
        store
            .finish_build(first.id, BuildStatus::Succeeded, Some(Uuid::new_v4()))
            .await,
    );
    assert_not_found(store.create_build(Uuid::new_v4(), owner.id, "abc").await);
    assert!(store.list_builds(Uuid::new_v4()).await.unwrap().is_empty());
}

async fn fail_pending_builds(db: &TestDb) {
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let web = app(&*store, "web", &owner).await;
    let other = app(&*store, "other", &owner).await;

    assert_eq!(store.fail_pending_builds().await.unwrap(), 0);
    let done = store.create_build(web.id, owner.id, "a").await.unwrap();
    store
        .finish_build(done.id, BuildStatus::Succeeded, None)
        .await
        .unwrap();
    let stuck_a = store.create_build(web.id, owner.id, "b").await.unwrap();
    let stuck_b = store.create_build(other.id, owner.id, "c").await.unwrap();

    assert_eq!(store.fail_pending_builds().await.unwrap(), 2);
    assert_eq!(store.fail_pending_builds().await.unwrap(), 0);

    let mut all = store.list_builds(web.id).await.unwrap();
    all.extend(store.list_builds(other.id).await.unwrap());
    for build in &all {
        let expected = if build.id == done.id {
            BuildStatus::Succeeded
        } else {
            BuildStatus::Failed
        };
        assert_eq!(build.status, expected, "{build:?}");
        assert!(build.finished_at.is_some());
    }
    assert!(all.iter().any(|b| b.id == stuck_a.id) && all.iter().any(|b| b.id == stuck_b.id));
}

async fn formation_replace(db: &TestDb) {
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let web = app(&*store, "web", &owner).await;
    let other = app(&*store, "other", &owner).await;

    assert!(store.formation(web.id).await.unwrap().is_empty());

    let first = Formation::from([
        ("web".to_string(), 2),
        ("worker".to_string(), 1),
        ("clock".to_string(), 0),
    ]);
    store.set_formation(web.id, &first).await.unwrap();
    store
        .set_formation(other.id, &Formation::from([("web".to_string(), 5)]))
        .await
        .unwrap();
    assert_eq!(store.formation(web.id).await.unwrap(), first);

    // Replaces the whole map: worker and clock disappear.
    let second = Formation::from([("web".to_string(), u32::MAX)]);
    store.set_formation(web.id, &second).await.unwrap();
    assert_eq!(store.formation(web.id).await.unwrap(), second);

    store
        .set_formation(web.id, &Formation::new())
        .await
        .unwrap();
    assert!(store.formation(web.id).await.unwrap().is_empty());
    assert_eq!(
        store.formation(other.id).await.unwrap().get("web"),
        Some(&5)
    );

    assert_not_found(store.set_formation(Uuid::new_v4(), &second).await);
    assert_not_found(store.set_formation(Uuid::new_v4(), &Formation::new()).await);
}

async fn corrupt_rows_are_reported(db: &TestDb) {
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let web = app(&*store, "web", &owner).await;
    let release = store
        .create_release(release_for(web.id, "img"))
        .await
        .unwrap();

    let raw = db.raw_pool().await;
    sqlx::query("UPDATE releases SET config = $1 WHERE id = $2")
        .bind("not json")
        .bind(release.id.to_string())
        .execute(&raw)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, admin, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind("not-a-uuid")
    .bind("broken@example.com")
    .bind("x")
    .bind(0_i64)
    .bind(0_i64)
    .execute(&raw)
    .await
    .unwrap();
    raw.close().await;

    assert_corrupt(store.release_by_id(release.id).await);
    assert_corrupt(store.list_releases(web.id).await);
    assert_corrupt(store.user_by_email(&email("broken@example.com")).await);
    assert_corrupt(store.list_users().await);
    // Healthy rows still read fine.
    assert_eq!(store.user_by_id(owner.id).await.unwrap(), Some(owner));
}

async fn reconnecting_keeps_data(db: &TestDb) {
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    app(&*store, "web", &owner).await;
    store.put_setting("instance_id", "i-1").await.unwrap();

    // A second store on the same database (another process, or a restart): the migrations are
    // already applied, and both see the same data.
    let again = SqlStore::connect(&db.url).await.expect("reconnect");
    assert_eq!(
        again.setting("instance_id").await.unwrap().as_deref(),
        Some("i-1")
    );
    assert_eq!(again.list_apps().await.unwrap().len(), 1);
    assert_conflict(
        again
            .create_user(&email("owner@example.com"), "h", false)
            .await,
    );
    again.close().await;
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// SQLite only: the connection settings the store relies on.
#[tokio::test]
async fn sqlite_uses_wal_and_foreign_keys() {
    let db = support::sqlite().await;
    let raw = db.raw_pool().await;
    let row = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&raw)
        .await
        .unwrap();
    let mode: String = sqlx::Row::try_get(&row, 0).unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    raw.close().await;

    // Foreign keys are enforced on the store's own connections.
    let store = db.dyn_store();
    assert_not_found(store.create_app(&app_name("orphan"), Uuid::new_v4()).await);
    db.store.close().await;
}

/// `connect` accepts a plain `sqlite://` URL and creates the file.
#[tokio::test]
async fn sqlite_url_creates_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    let store = SqlStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert!(path.exists());
    assert_eq!(store.count_users().await.unwrap(), 0);
    store.close().await;
    assert!(SqlStore::connect("mysql://localhost/x").await.is_err());
}

/// A pushed release is recorded whole (release, build, first formation, current, pending push)
/// and then either finished or undone whole.
async fn push_release_is_one_outcome(db: &TestDb) {
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let web = app(&*store, "web", &owner).await;
    let push = |build_id: Uuid, image: &str, commit: &str| PushRelease {
        build_id,
        release: release_for(web.id, image),
        initial_formation: Formation::from([("web".to_string(), 1)]),
        ref_name: "refs/heads/main".to_string(),
        new_commit: commit.to_string(),
    };

    // First push: recorded, then the branch moved.
    let b1 = store.create_build(web.id, owner.id, "c1").await.unwrap();
    let v1 = store
        .record_push_release(push(b1.id, "img1", "c1"))
        .await
        .unwrap();
    assert_eq!((v1.version, v1.status), (1, ReleaseStatus::Pending));
    let app_now = store.app_by_name(&app_name("web")).await.unwrap().unwrap();
    assert_eq!(app_now.current_release_id, Some(v1.id));
    assert_eq!(store.formation(web.id).await.unwrap()["web"], 1);
    let builds = store.list_builds(web.id).await.unwrap();
    assert_eq!(
        (builds[0].status, builds[0].release_id),
        (BuildStatus::Succeeded, Some(v1.id))
    );
    let pending = store.pending_pushes().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].release_id, pending[0].previous_release_id),
        (v1.id, None)
    );
    assert_eq!(pending[0].new_commit, "c1");
    store.settle_push(b1.id, true).await.unwrap();
    assert!(store.pending_pushes().await.unwrap().is_empty());
    assert_eq!(
        store.release_by_id(v1.id).await.unwrap().unwrap().status,
        ReleaseStatus::Pending
    );

    // A scaled formation is not reset by the next push.
    store
        .set_formation(web.id, &Formation::from([("web".to_string(), 3)]))
        .await
        .unwrap();
    // Second push: recorded, then the branch did not move: undone.
    let b2 = store.create_build(web.id, owner.id, "c2").await.unwrap();
    let v2 = store
        .record_push_release(push(b2.id, "img2", "c2"))
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(store.formation(web.id).await.unwrap()["web"], 3);
    let pending = store.pending_push(b2.id).await.unwrap().unwrap();
    assert_eq!(pending.previous_release_id, Some(v1.id));
    store.settle_push(b2.id, false).await.unwrap();
    let app_now = store.app_by_name(&app_name("web")).await.unwrap().unwrap();
    assert_eq!(app_now.current_release_id, Some(v1.id));
    assert_eq!(
        store.release_by_id(v2.id).await.unwrap().unwrap().status,
        ReleaseStatus::Failed
    );
    let builds = store.list_builds(web.id).await.unwrap();
    assert_eq!(builds[0].status, BuildStatus::Failed);
    assert!(store.pending_push(b2.id).await.unwrap().is_none());
    assert!(matches!(
        store.settle_push(b2.id, true).await,
        Err(StoreError::NotFound(_))
    ));

    // Nothing is written when the build does not exist.
    let missing = store
        .record_push_release(push(Uuid::new_v4(), "img3", "c3"))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    assert_eq!(store.list_releases(web.id).await.unwrap().len(), 2);
    let app_now = store.app_by_name(&app_name("web")).await.unwrap().unwrap();
    assert_eq!(app_now.current_release_id, Some(v1.id));

    // Destroying the app removes its pending pushes.
    let b4 = store.create_build(web.id, owner.id, "c4").await.unwrap();
    store
        .record_push_release(push(b4.id, "img4", "c4"))
        .await
        .unwrap();
    store.delete_app(web.id).await.unwrap();
    assert!(store.pending_pushes().await.unwrap().is_empty());
}

/// Tokens made before the tokens migration get a UUID id and one year of life from their
/// creation (they used to live forever).
#[tokio::test]
async fn tokens_from_before_the_migration_get_an_id_and_an_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(&url).await.unwrap();
    let all = sqlx::migrate!("../../migrations");
    let initial = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(all.migrations[..1].to_vec()),
        ..sqlx::migrate!("../../migrations")
    };
    initial.run(&raw).await.unwrap();
    let user_id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, admin, created_at) \
         VALUES ($1, 'old@example.com', 'x', 0, 1000)",
    )
    .bind(user_id.to_string())
    .execute(&raw)
    .await
    .unwrap();
    let hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    sqlx::query("INSERT INTO api_tokens (token_hash, user_id, created_at) VALUES ($1, $2, 5000)")
        .bind(hash)
        .bind(user_id.to_string())
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;

    let store = SqlStore::connect(&url).await.unwrap();
    let (token, user) = store.token_by_hash(hash).await.unwrap().unwrap();
    assert_eq!(user.id, user_id);
    assert_eq!(token.expires_at, 5000 + 365 * DAY_MS);
    assert_eq!(token.description, "created at sign-in");
    assert_eq!(
        store.list_tokens(user_id).await.unwrap(),
        vec![token.clone()]
    );
    assert!(store.delete_token(user_id, token.id).await.unwrap());
    store.close().await;
}

async fn domains_belong_to_one_app_and_maintenance_is_per_app(db: &TestDb) {
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let web = app(&*store, "web", &owner).await;
    let other = app(&*store, "other", &owner).await;
    store.add_domain(web.id, "www.example.com").await.unwrap();
    store.add_domain(web.id, "*.example.org").await.unwrap();
    let taken = store.add_domain(other.id, "www.example.com").await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let no_app = store.add_domain(Uuid::new_v4(), "a.example.net").await;
    assert!(matches!(no_app, Err(StoreError::NotFound(_))), "{no_app:?}");
    assert_eq!(
        store.domains(web.id).await.unwrap(),
        vec!["*.example.org".to_string(), "www.example.com".to_string()]
    );
    assert_eq!(store.all_domains().await.unwrap().len(), 2);
    let not_its = store.remove_domain(other.id, "www.example.com").await;
    assert!(
        matches!(not_its, Err(StoreError::NotFound(_))),
        "{not_its:?}"
    );
    store
        .remove_domain(web.id, "www.example.com")
        .await
        .unwrap();
    store.add_domain(other.id, "www.example.com").await.unwrap();

    assert_eq!(store.maintenance(web.id).await.unwrap(), None);
    store
        .set_maintenance(web.id, Some(Some("https://example.com/down")))
        .await
        .unwrap();
    store.set_maintenance(other.id, Some(None)).await.unwrap();
    assert_eq!(
        store.maintenance(web.id).await.unwrap(),
        Some(Some("https://example.com/down".to_string()))
    );
    assert_eq!(store.all_maintenance().await.unwrap().len(), 2);
    store.set_maintenance(web.id, None).await.unwrap();
    assert_eq!(store.maintenance(web.id).await.unwrap(), None);
    assert!(store
        .set_maintenance(Uuid::new_v4(), Some(None))
        .await
        .is_err());

    store.delete_app(other.id).await.unwrap();
    assert_eq!(
        store.all_domains().await.unwrap(),
        vec![("*.example.org".to_string(), web.id)]
    );
    assert!(store.all_maintenance().await.unwrap().is_empty());
}

async fn process_sizes_set_and_kept_per_type(db: &TestDb) {
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let web = app(&*store, "web", &owner).await;
    let size = |memory_mb, cpu_millis| paas_domain::ProcessSize {
        memory_mb,
        cpu_millis,
    };
    assert!(store.process_sizes(web.id).await.unwrap().is_empty());
    let first = BTreeMap::from([
        ("web".to_string(), size(1024, 500)),
        ("worker".to_string(), size(256, 1000)),
    ]);
    store.set_process_sizes(web.id, &first).await.unwrap();
    assert_eq!(store.process_sizes(web.id).await.unwrap(), first);
    store
        .set_process_sizes(
            web.id,
            &BTreeMap::from([("web".to_string(), size(2048, 2000))]),
        )
        .await
        .unwrap();
    let now = store.process_sizes(web.id).await.unwrap();
    assert_eq!(now["web"], size(2048, 2000));
    assert_eq!(now["worker"], size(256, 1000));
    let missing = store
        .set_process_sizes(
            Uuid::new_v4(),
            &BTreeMap::from([("web".to_string(), size(64, 10))]),
        )
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    assert!(store.restart_generations(web.id).await.unwrap().is_empty());
    let both = ["web".to_string(), "worker".to_string()];
    store.bump_restarts(web.id, &both).await.unwrap();
    store.bump_restarts(web.id, &both[..1]).await.unwrap();
    let generations = store.restart_generations(web.id).await.unwrap();
    assert_eq!((generations["web"], generations["worker"]), (2, 1));
    assert!(store.bump_restarts(Uuid::new_v4(), &both).await.is_err());
    store.delete_app(web.id).await.unwrap();
    assert!(store.process_sizes(web.id).await.unwrap().is_empty());
    assert!(store.restart_generations(web.id).await.unwrap().is_empty());
}

async fn config_changes_and_rollbacks_are_releases(db: &TestDb) {
    use paas_store::ReleaseChange;
    let store = db.dyn_store();
    let owner = user(&*store, "owner@example.com").await;
    let web = app(&*store, "web", &owner).await;
    let set = |pairs: &[(&str, Option<&str>)]| {
        ReleaseChange::Config(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect(),
        )
    };
    let current = |store: std::sync::Arc<dyn Store>| async move {
        let app = store.app_by_name(&app_name("web")).await.unwrap().unwrap();
        store
            .release_by_id(app.current_release_id.unwrap())
            .await
            .unwrap()
            .unwrap()
    };

    // Before any build: a release without an image, succeeded at once.
    let v1 = store
        .change_release(web.id, Some(owner.id), set(&[("A", Some("1"))]))
        .await
        .unwrap();
    assert_eq!(
        (v1.version, v1.status, v1.image.as_str()),
        (1, ReleaseStatus::Succeeded, "")
    );
    assert_eq!(v1.description, "Set A config vars");

    // A push keeps the config of the current release.
    let b = store.create_build(web.id, owner.id, "c1").await.unwrap();
    let v2 = store
        .record_push_release(PushRelease {
            build_id: b.id,
            release: release_for(web.id, "img2"),
            initial_formation: Formation::from([("web".to_string(), 1)]),
            ref_name: "refs/heads/main".to_string(),
            new_commit: "c1".to_string(),
        })
        .await
        .unwrap();
    assert_eq!(v2.config["A"], "1");
    assert_eq!(current(store.clone()).await.config["A"], "1");

    // Config changes copy the image and process types; values keep every character.
    let awkward = "it's \"quoted\" = yes\nline two ✓";
    let v3 = store
        .change_release(web.id, None, set(&[("B", Some(awkward)), ("A", None)]))
        .await
        .unwrap();
    assert_eq!((v3.version, v3.status), (3, ReleaseStatus::Pending));
    assert_eq!(v3.image, "img2");
    assert_eq!(v3.process_types, v2.process_types);
    assert_eq!(
        v3.config,
        BTreeMap::from([("B".to_string(), awkward.to_string())])
    );
    assert_eq!(current(store.clone()).await.id, v3.id);

    // A rollback copies an older release's image and config as a new release.
    let v4 = store
        .change_release(
            web.id,
            Some(owner.id),
            ReleaseChange::Rollback { version: 2 },
        )
        .await
        .unwrap();
    assert_eq!((v4.version, v4.image.as_str()), (4, "img2"));
    assert_eq!(v4.config["A"], "1");
    assert_eq!(v4.description, "Rollback to v2");
    assert_eq!(store.list_releases(web.id).await.unwrap().len(), 4);

    // Bad changes write nothing.
    for bad in [
        ReleaseChange::Rollback { version: 9 },
        ReleaseChange::Rollback { version: 1 },
        set(&[("PORT", Some("1"))]),
        set(&[("1BAD", Some("1"))]),
    ] {
        assert!(store.change_release(web.id, None, bad).await.is_err());
    }
    assert!(matches!(
        store
            .change_release(web.id, None, ReleaseChange::Rollback { version: 1 })
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .change_release(Uuid::new_v4(), None, set(&[("A", Some("1"))]))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.list_releases(web.id).await.unwrap().len(), 4);
    assert_eq!(current(store.clone()).await.id, v4.id);

    // Concurrent changes are all kept.
    let mut tasks = Vec::new();
    for i in 0..6 {
        let store = store.clone();
        let key = format!("K{i}");
        tasks.push(tokio::spawn(async move {
            store
                .change_release(
                    web.id,
                    None,
                    ReleaseChange::Config([(key, Some("v".to_string()))].into()),
                )
                .await
                .unwrap()
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let config = current(store.clone()).await.config;
    for i in 0..6 {
        assert_eq!(
            config.get(&format!("K{i}")).map(String::as_str),
            Some("v"),
            "{config:?}"
        );
    }
}
