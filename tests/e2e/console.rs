//! The web console in a real browser: Debian's Chromium, headless, driven through
//! chromedriver with fantoccini against a real paasd. One journey signs in (after a wrong
//! password, which shows a message), creates an app, deploys it with `git push`, sees the
//! release, sets a config var (and has an invalid key rejected inline), scales web to 2, rolls
//! back, watches a log line arrive live and signs out, saving a screenshot of each page at
//! laptop (1280x800) and phone (390x844) widths under `target/console-screenshots/`. Without
//! a browser: a console POST without a CSRF token is refused (403) and changes nothing, and
//! another user can neither see nor change an app they are not on.

use fantoccini::{Client, ClientBuilder, Locator};
use paas_e2e::{app_name, curl, free_port, workspace, Paasd, User, ADMIN_EMAIL, ADMIN_PASSWORD};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LAPTOP: (u32, u32) = (1280, 800);
const PHONE: (u32, u32) = (390, 844);

/// Runs blocking work (git, curl, the CLI) without stalling the browser's connection.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Self {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (scripts/test installs chromium-driver)");
        let driver = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while curl(&["-s", &format!("{}/status", driver.url())]).0 != 200 {
            assert!(Instant::now() < deadline, "chromedriver did not answer");
            std::thread::sleep(Duration::from_millis(100));
        }
        driver
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    let mut args = vec![
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,800",
    ];
    if std::env::var_os("PAAS_CONSOLE_HEADFUL").is_some() {
        args.remove(0);
    }
    let mut options = serde_json::json!({ "args": args });
    for binary in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(binary).exists() {
            options["binary"] = serde_json::json!(binary);
            break;
        }
    }
    caps.insert("goog:chromeOptions".to_string(), options);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url())
        .await
        .expect("a browser session")
}

fn screenshots_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
        .join("console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots folder");
    dir
}

/// Saves the page at laptop and phone widths (`<name>-laptop.png`, `<name>-phone.png`).
async fn shoot(client: &Client, name: &str) {
    let dir = screenshots_dir();
    for (label, (w, h)) in [("phone", PHONE), ("laptop", LAPTOP)] {
        client.set_window_size(w, h).await.expect("window size");
        tokio::time::sleep(Duration::from_millis(150)).await;
        let png = client.screenshot().await.expect("screenshot");
        std::fs::write(dir.join(format!("{name}-{label}.png")), png).expect("screenshot saved");
    }
}

/// The text of `css`, waiting (up to 30 s) for a page that has it.
async fn text(client: &Client, css: &str) -> String {
    client
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .expect("element text")
}

async fn fill(client: &Client, css: &str, value: &str) {
    let field = client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn flash(client: &Client) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(180))
        .for_element(Locator::Css(".flash"))
        .await
        .expect("a message after the form")
        .text()
        .await
        .expect("flash text")
}

/// Reloads `url` until `css`'s text satisfies `ok` (processes converge in the background).
async fn until_page_shows(client: &Client, url: &str, css: &str, ok: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        client.goto(url).await.expect("page loads");
        if let Ok(element) = client.find(Locator::Css(css)).await {
            if ok(&element.text().await.unwrap_or_default()) {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{url} never showed what was expected in {css}: {}",
            client.source().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_signs_in_deploys_configures_scales_rolls_back_tails_logs_and_signs_out() {
    let paasd = blocking(Paasd::start);
    let driver = blocking(Driver::start);
    let client = browser(&driver).await;
    let base = paasd.url();

    // The root sends to the sign-in page; a wrong password says so.
    client.goto(&format!("{base}/")).await.expect("root");
    assert!(client.current_url().await.expect("url").path() == "/login");
    shoot(&client, "01-sign-in").await;
    fill(&client, "#email", ADMIN_EMAIL).await;
    fill(&client, "#password", "not-the-password").await;
    click(&client, "form[action='/login'] button[type=submit]").await;
    let error = text(&client, "#login-error").await;
    assert!(error.contains("Wrong e-mail or password"), "{error}");
    shoot(&client, "02-wrong-password").await;

    fill(&client, "#email", ADMIN_EMAIL).await;
    fill(&client, "#password", ADMIN_PASSWORD).await;
    click(&client, "form[action='/login'] button[type=submit]").await;
    client
        .wait()
        .for_element(Locator::Css("#new-app-name"))
        .await
        .expect("the apps page after signing in");
    assert_eq!(client.current_url().await.expect("url").path(), "/apps");
    let cookies = client.get_all_cookies().await.expect("cookies");
    let session = cookies
        .iter()
        .find(|c| c.name() == "paas_session")
        .expect("a session cookie");
    assert_eq!(session.http_only(), Some(true), "HttpOnly");
    assert!(session.same_site().is_some(), "SameSite");

    // Create an app: a new app shows its git remote and the two commands to deploy.
    let app = app_name("console");
    fill(&client, "#new-app-name", &app).await;
    click(&client, "form[action='/apps'] button[type=submit]").await;
    assert!(flash(&client).await.contains(&format!("Created {app}")));
    let git_url = text(&client, "#git-url").await;
    assert_eq!(git_url, format!("{base}/{app}.git"));
    let commands = text(&client, "pre.commands").await;
    assert!(commands.contains("git push paas main"), "{commands}");
    shoot(&client, "03-new-app").await;

    // Deploy it with git push.
    let user = User::new();
    blocking(|| {
        user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
        let repo = user.sample_repo("python-env");
        user.git(&repo, &["remote", "add", "paas", &git_url]).ok();
        let push = user.git(&repo, &["push", "paas", "main"]).ok();
        assert!(push.stderr.contains("deployed"), "{}", push.stderr);
    });

    // The release is listed; the apps list shows the app running.
    let apps = format!("{base}/apps");
    until_page_shows(&client, &apps, "table.apps tbody", |t| {
        t.contains(&app) && t.contains("running") && t.contains("v1") && t.contains("web: 1")
    })
    .await;
    shoot(&client, "04-apps").await;
    let releases = format!("{base}/apps/{app}/releases");
    client.goto(&releases).await.expect("releases");
    let listed = text(&client, "#releases").await;
    assert!(
        listed.contains("v1") && listed.contains(ADMIN_EMAIL),
        "{listed}"
    );
    shoot(&client, "05-releases").await;

    // Settings: an invalid key is rejected inline; a valid one is a new release.
    let settings = format!("{base}/apps/{app}/settings");
    client.goto(&settings).await.expect("settings");
    fill(&client, "#config-key", "1-BAD").await;
    fill(&client, "#config-value", "x").await;
    click(&client, "#config-add button[type=submit]").await;
    let inline = text(&client, "#config-error").await;
    assert!(inline.contains("not a valid config var name"), "{inline}");
    fill(&client, "#config-key", "GREETING").await;
    fill(&client, "#config-value", "hello from the console").await;
    click(&client, "#config-add button[type=submit]").await;
    let done = flash(&client).await;
    assert!(done.contains("Set GREETING: v2 is current"), "{done}");
    assert_eq!(
        blocking(|| paasd.get_app(&app, "/GREETING")),
        (200, "hello from the console".to_string())
    );
    // Revealing shows the value (a <details> element: no JavaScript needed).
    click(&client, "details.reveal summary").await;
    let revealed = client
        .find(Locator::Css("#edit-GREETING"))
        .await
        .expect("the value's field")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(revealed.as_deref(), Some("hello from the console"));
    shoot(&client, "06-settings").await;
    // The same release as from the CLI.
    let cli = blocking(|| user.paas(&workspace(), &["releases", "-a", &app]).ok());
    assert!(cli.stdout.contains("Set GREETING config vars"), "{cli:?}");

    // Scale web to 2 on the overview; both processes come up.
    let overview = format!("{base}/apps/{app}");
    client.goto(&overview).await.expect("overview");
    fill(&client, "#scale-web", "2").await;
    click(&client, "form[action$='/scale'] button[type=submit]").await;
    assert!(flash(&client).await.contains("Scaled web to 2"));
    until_page_shows(&client, &overview, "#processes", |t| {
        t.contains("web.1") && t.contains("web.2") && !t.contains("crashed")
    })
    .await;
    shoot(&client, "07-overview-scaled").await;

    // Roll back to v1: the config var is gone again.
    client.goto(&releases).await.expect("releases");
    click(&client, "button[aria-label='Roll back to v1']").await;
    let rolled = flash(&client).await;
    assert!(
        rolled.contains("Rolled back to v1: v3 is current"),
        "{rolled}"
    );
    assert_eq!(text(&client, "#current-release").await, "v3");
    assert_eq!(blocking(|| paasd.get_app(&app, "/GREETING")).0, 404);
    shoot(&client, "08-rolled-back").await;

    // Logs: a request's router line arrives live (Server-Sent Events).
    client
        .goto(&format!("{base}/apps/{app}/logs?source=router"))
        .await
        .expect("logs");
    client
        .wait()
        .for_element(Locator::Css("#log[data-live='open']"))
        .await
        .expect("the live tail connects");
    let marker = "console-live-line";
    assert!(!text(&client, "#log").await.contains(marker));
    blocking(|| paasd.get_app(&app, &format!("/{marker}")));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !text(&client, "#log").await.contains(marker) {
        assert!(Instant::now() < deadline, "the line never arrived live");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shoot(&client, "09-logs").await;

    // Builds with the full log, and metrics.
    client
        .goto(&format!("{base}/apps/{app}/builds"))
        .await
        .expect("builds");
    assert!(text(&client, "#builds").await.contains("succeeded"));
    shoot(&client, "10-builds").await;
    click(&client, "#builds tbody a").await;
    let output = text(&client, "#build-output").await;
    assert!(output.contains("Python"), "{output}");
    shoot(&client, "11-build-output").await;
    client
        .goto(&format!("{base}/apps/{app}/metrics"))
        .await
        .expect("metrics");
    assert_eq!(
        client
            .find_all(Locator::Css("svg.chart"))
            .await
            .expect("charts")
            .len(),
        3
    );
    shoot(&client, "12-metrics").await;

    // Sign out: the session ends.
    click(&client, "form[action='/logout'] button").await;
    assert!(flash(&client).await.contains("Signed out"));
    client.goto(&apps).await.expect("apps");
    assert_eq!(client.current_url().await.expect("url").path(), "/login");
    shoot(&client, "13-signed-out").await;
    client.close().await.expect("browser closes");
}

/// A cookie-keeping HTTP client for the console's forms (curl with a cookie jar).
struct Visitor {
    base: String,
    jar: PathBuf,
    _dir: tempfile::TempDir,
}

impl Visitor {
    fn new(paasd: &Paasd) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self {
            base: paasd.url(),
            jar: dir.path().join("cookies"),
            _dir: dir,
        }
    }

    fn get(&self, path: &str) -> (u16, String) {
        let jar = self.jar.to_string_lossy().to_string();
        curl(&[
            "-s",
            "-b",
            &jar,
            "-c",
            &jar,
            &format!("{}{path}", self.base),
        ])
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let jar = self.jar.to_string_lossy().to_string();
        let mut args = vec![
            "-s".to_string(),
            "-b".to_string(),
            jar.clone(),
            "-c".to_string(),
            jar,
        ];
        for (k, v) in form {
            args.push("--data-urlencode".to_string());
            args.push(format!("{k}={v}"));
        }
        args.push(format!("{}{path}", self.base));
        curl(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// The CSRF token in the forms of `path`.
    fn csrf(&self, path: &str) -> String {
        let (status, page) = self.get(path);
        assert_eq!(status, 200, "{page}");
        page.split("name=\"_csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a CSRF token in the page")
            .to_string()
    }

    fn sign_in(&self, email: &str, password: &str) {
        let csrf = self.csrf("/login");
        let (status, body) = self.post(
            "/login",
            &[("_csrf", &csrf), ("email", email), ("password", password)],
        );
        assert_eq!(status, 303, "{body}");
    }
}

#[test]
fn console_posts_need_a_csrf_token_and_other_users_apps_stay_invisible_and_unchanged() {
    let paasd = Paasd::start();
    let admin = User::admin(&paasd);
    let here = workspace();
    let added = admin.paas(&here, &["users:add", "other@e2e.test"]).ok();
    let password = added.stdout.trim().to_string();

    let owner = Visitor::new(&paasd);
    // Even signing in needs the sign-in page's token.
    let (status, _) = owner.post(
        "/login",
        &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
    );
    assert_eq!(status, 403);
    owner.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD);

    // A POST without a token, or with a wrong one, is refused and creates nothing.
    let app = app_name("csrf");
    let (status, body) = owner.post("/apps", &[("name", &app)]);
    assert_eq!(status, 403, "{body}");
    let (status, _) = owner.post("/apps", &[("_csrf", &"0".repeat(64)), ("name", &app)]);
    assert_eq!(status, 403);
    assert!(!owner.get("/apps").1.contains(&app));
    let csrf = owner.csrf("/apps");
    assert_eq!(
        owner.post("/apps", &[("_csrf", &csrf), ("name", &app)]).0,
        303
    );
    assert!(owner.get("/apps").1.contains(&app));

    // Another user: the app is not listed, its pages are 404 like a missing app's, and
    // changes with the user's own valid token are refused the same way.
    let other = Visitor::new(&paasd);
    other.sign_in("other@e2e.test", &password);
    assert!(!other.get("/apps").1.contains(&app));
    let (missing, _) = other.get("/apps/no-such-app-here");
    for tab in ["", "/settings", "/releases", "/builds", "/logs", "/metrics"] {
        let (status, page) = other.get(&format!("/apps/{app}{tab}"));
        assert_eq!((status, missing), (404, 404), "{tab}: {page}");
    }
    let other_csrf = other.csrf("/apps");
    for (action, form) in [
        ("config", vec![("key", "HIJACKED"), ("value", "yes")]),
        ("scale", vec![("process_type", "web"), ("quantity", "3")]),
        ("maintenance", vec![("maintenance", "on")]),
        ("destroy", vec![("confirm", app.as_str())]),
    ] {
        let mut fields = vec![("_csrf", other_csrf.as_str())];
        fields.extend(form);
        let (status, page) = other.post(&format!("/apps/{app}/{action}"), &fields);
        assert_eq!(status, 404, "{action}: {page}");
    }
    // Nothing changed for the owner.
    let (status, settings) = owner.get(&format!("/apps/{app}/settings"));
    assert_eq!(status, 200);
    assert!(!settings.contains("HIJACKED"), "{settings}");
    assert!(settings.contains("Maintenance mode is <strong>off</strong>"));
    assert!(owner.get("/apps").1.contains(&app));
    // Signed out, the session's token no longer works.
    let csrf = owner.csrf("/apps");
    assert_eq!(owner.post("/logout", &[("_csrf", &csrf)]).0, 303);
    let (status, _) = owner.get("/apps");
    assert_eq!(status, 303);

    // The stylesheet and script come from the binary, not from files next to paasd.
    let (status, css) = curl(&["-s", &format!("{}/static/console.css", paasd.url())]);
    assert_eq!(status, 200);
    assert!(css.contains("@media"));
    let (status, _) = curl(&["-s", &format!("{}/static/console.js", paasd.url())]);
    assert_eq!(status, 200);
}
