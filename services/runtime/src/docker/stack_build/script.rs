//! The shell scripts run inside the stack-building containers, and the validation of the
//! configuration values they embed (package names, suite, mirror) so nothing can inject shell.

use super::tags::normalized;
use crate::stacks::StackConfig;
use crate::{Result, RuntimeError};

/// Where an uploaded CA bundle lives during the build (removed before the commit).
pub(crate) const BUILD_CA_DIR: &str = "/tmp";
pub(crate) const BUILD_CA_FILE: &str = "paas-host-ca.crt";

/// Rejects values that are not plain package names, suites or URLs.
pub(crate) fn validate(config: &StackConfig) -> Result<()> {
    let bad = |what: &str, value: &str| {
        Err(RuntimeError::Stack(format!(
            "invalid {what} in the stack config: {value:?}"
        )))
    };
    let suite = config.suite.trim();
    if suite.is_empty()
        || suite.len() > 64
        || !suite
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    {
        return bad("suite", &config.suite);
    }
    for package in config.run_packages.iter().chain(&config.build_packages) {
        let p = package.trim();
        let first_ok = p.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if !p.is_empty()
            && (!first_ok
                || !p
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.:=~_".contains(c)))
        {
            return bad("package name", package);
        }
    }
    let mirror = config.mirror.trim();
    let scheme_ok = mirror.starts_with("http://") || mirror.starts_with("https://");
    if !scheme_ok
        || mirror
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "'\"`$\\;&|<>".contains(c))
    {
        return bad("mirror URL", &config.mirror);
    }
    Ok(())
}

/// The security archive beside a mirror: `<...>/debian` → `<...>/debian-security`; other
/// mirror layouts use the official one.
fn security_mirror(mirror: &str) -> String {
    let mirror = mirror.trim().trim_end_matches('/');
    match mirror.strip_suffix("/debian") {
        Some(prefix) => format!("{prefix}/debian-security"),
        None => "http://deb.debian.org/debian-security".to_string(),
    }
}

/// `/etc/apt/sources.list` for the stacks: the suite, its updates and its security archive
/// (only the suite itself for sid/unstable, which have neither).
pub(crate) fn sources_list(mirror: &str, suite: &str) -> String {
    let mirror = mirror.trim().trim_end_matches('/');
    let suite = suite.trim();
    let mut list = format!("deb {mirror} {suite} main\n");
    if !matches!(suite, "sid" | "unstable" | "experimental") {
        list.push_str(&format!("deb {mirror} {suite}-updates main\n"));
        list.push_str(&format!(
            "deb {} {suite}-security main\n",
            security_mirror(mirror)
        ));
    }
    list
}

/// The apt command line shared by both scripts (`$APT` in them).
fn apt_prelude(ca_uploaded: bool) -> String {
    let ca = if ca_uploaded {
        format!(" -o Acquire::https::CAInfo={BUILD_CA_DIR}/{BUILD_CA_FILE}")
    } else {
        String::new()
    };
    format!(
        "set -eu\n\
         export DEBIAN_FRONTEND=noninteractive\n\
         APT='apt-get -q -y -o Dpkg::Use-Pty=0 -o Acquire::Retries=3{ca}'\n"
    )
}

fn cleanup(ca_uploaded: bool) -> String {
    let ca = if ca_uploaded {
        format!(" {BUILD_CA_DIR}/{BUILD_CA_FILE}")
    } else {
        String::new()
    };
    format!("apt-get clean\nrm -rf /var/lib/apt/lists/*{ca}\n")
}

/// Run stack: apt sources, slim dpkg excludes, upgrades, the run packages, and the `app` user
/// (uid/gid 1000, home `/app` owned by it).
pub(crate) fn run_stack_script(config: &StackConfig, ca_uploaded: bool) -> String {
    let packages = normalized(&config.run_packages).join(" ");
    let mut s = apt_prelude(ca_uploaded);
    s.push_str(
        "cat > /etc/dpkg/dpkg.cfg.d/paas-slim <<'PAAS_EOF'\n\
         path-exclude /usr/share/doc/*\n\
         path-include /usr/share/doc/*/copyright\n\
         path-exclude /usr/share/man/*\n\
         path-exclude /usr/share/info/*\n\
         path-exclude /usr/share/groff/*\n\
         path-exclude /usr/share/lintian/*\n\
         path-exclude /usr/share/linda/*\n\
         PAAS_EOF\n",
    );
    s.push_str(&format!(
        "cat > /etc/apt/sources.list <<'PAAS_EOF'\n{}PAAS_EOF\n",
        sources_list(&config.mirror, &config.suite)
    ));
    s.push_str("rm -f /etc/apt/sources.list.d/debian.sources\n");
    s.push_str("$APT update\n$APT upgrade\n");
    if !packages.is_empty() {
        s.push_str(&format!(
            "$APT install --no-install-recommends {packages}\n"
        ));
    }
    s.push_str(
        "getent group app >/dev/null || groupadd --gid 1000 app\n\
         getent passwd app >/dev/null || useradd --uid 1000 --gid app --home-dir /app \
         --no-create-home --shell /bin/bash app\n\
         mkdir -p /app\n\
         chown app:app /app\n",
    );
    s.push_str(&cleanup(ca_uploaded));
    s
}

/// Build stack: the build packages on top of the run stack.
pub(crate) fn build_stack_script(config: &StackConfig, ca_uploaded: bool) -> String {
    let packages = normalized(&config.build_packages).join(" ");
    let mut s = apt_prelude(ca_uploaded);
    s.push_str("$APT update\n");
    if !packages.is_empty() {
        s.push_str(&format!(
            "$APT install --no-install-recommends {packages}\n"
        ));
    }
    s.push_str(&cleanup(ca_uploaded));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_include_updates_and_security() {
        assert_eq!(
            sources_list("http://deb.debian.org/debian/", "bookworm"),
            "deb http://deb.debian.org/debian bookworm main\n\
             deb http://deb.debian.org/debian bookworm-updates main\n\
             deb http://deb.debian.org/debian-security bookworm-security main\n"
        );
        assert_eq!(
            sources_list("http://mirror.example/deb", "sid"),
            "deb http://mirror.example/deb sid main\n"
        );
        assert!(sources_list("http://mirror.example/pub", "bookworm")
            .contains("deb http://deb.debian.org/debian-security bookworm-security main"));
    }

    #[test]
    fn validation_rejects_shell() {
        assert!(validate(&StackConfig::default()).is_ok());
        let with = |f: fn(&mut StackConfig)| {
            let mut c = StackConfig::default();
            f(&mut c);
            validate(&c)
        };
        assert!(with(|c| c.run_packages.push("libc6:amd64".into())).is_ok());
        assert!(with(|c| c.run_packages.push("a; rm -rf /".into())).is_err());
        assert!(with(|c| c.build_packages.push("$(reboot)".into())).is_err());
        assert!(with(|c| c.build_packages.push("-oFoo=bar".into())).is_err());
        assert!(with(|c| c.suite = "bookworm main".into()).is_err());
        assert!(with(|c| c.mirror = "ftp://x".into()).is_err());
        assert!(with(|c| c.mirror = "http://x/`id`".into()).is_err());
    }

    #[test]
    fn scripts_install_the_packages() {
        let config = StackConfig::default();
        let run = run_stack_script(&config, false);
        assert!(run.contains(
            "install --no-install-recommends ca-certificates netbase nodejs php-cli php-curl \
             php-mbstring php-xml python3 ruby ruby-bundler tzdata\n"
        ));
        assert!(run.contains("useradd --uid 1000"));
        assert!(!run.contains("CAInfo"));
        let build = build_stack_script(&config, true);
        assert!(build.contains("build-essential"));
        assert!(build.contains("CAInfo=/tmp/paas-host-ca.crt"));
        assert!(build.contains("rm -rf /var/lib/apt/lists/* /tmp/paas-host-ca.crt"));
    }
}
