//! Checkout of hostile pushes: trees made with `git hash-object -t tree --literally` (which
//! skips git's own name checks) whose entries would escape the build directory. Each one must
//! be refused with nothing written, inside or outside the work directory.

use paas_builder::{checkout, BuildError};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn git(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut child = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("git runs");
    let mut pipe = child.stdin.take().expect("stdin");
    if let Some(input) = stdin {
        pipe.write_all(input).expect("write stdin");
    }
    drop(pipe);
    let output = child.wait_with_output().expect("git ends");
    assert!(output.status.success(), "git {args:?} failed");
    String::from_utf8(output.stdout)
        .expect("utf8")
        .trim()
        .to_string()
}

/// Raw tree object bytes: `<mode> <name>\0<20-byte id>` per entry.
fn raw_tree(entries: &[(&str, &[u8], &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (mode, name, hex_id) in entries {
        out.extend_from_slice(mode.as_bytes());
        out.push(b' ');
        out.extend_from_slice(name);
        out.push(0);
        let id: Vec<u8> = (0..20)
            .map(|i| u8::from_str_radix(&hex_id[2 * i..2 * i + 2], 16).expect("hex"))
            .collect();
        out.extend_from_slice(&id);
    }
    out
}

fn literal_tree(repo: &Path, entries: &[(&str, &[u8], &str)]) -> String {
    git(
        repo,
        &["hash-object", "-t", "tree", "--literally", "-w", "--stdin"],
        Some(&raw_tree(entries)),
    )
}

/// A bare repository holding a commit whose root tree is `root(blob)`.
fn crafted_commit(repo: &Path, root: impl Fn(&Path, &str) -> String) -> String {
    git(repo, &["init", "--bare", "-q", "."], None);
    let blob = git(repo, &["hash-object", "-w", "--stdin"], Some(b"pwned\n"));
    let tree = root(repo, &blob);
    git(repo, &["commit-tree", &tree, "-m", "crafted"], None)
}

fn assert_refused(root: impl Fn(&Path, &str) -> String) {
    let scratch = tempfile::tempdir().expect("tempdir");
    let repo = scratch.path().join("repo.git");
    std::fs::create_dir_all(&repo).expect("mkdir");
    let commit = crafted_commit(&repo, root);
    let work = scratch.path().join("builds/b1");
    std::fs::create_dir_all(&work).expect("mkdir");
    let dest = work.join("src");
    let result = checkout(&repo, &[], &commit, &dest, &work.join("source.tar"));
    assert!(
        matches!(result, Err(BuildError::UnsafePath(_))),
        "crafted tree not refused: {result:?}"
    );
    for outside in [
        scratch.path().join("pwned"),
        scratch.path().join("builds/pwned"),
        work.join("pwned"),
        repo.join("hooks/pre-receive"),
    ] {
        assert!(!outside.exists(), "{} was written", outside.display());
    }
    assert!(!dest.exists(), "the checkout wrote before refusing");
}

#[test]
fn dot_dot_directory_is_refused() {
    assert_refused(|repo, blob| {
        let inner = literal_tree(repo, &[("100644", b"pwned", blob)]);
        let up = literal_tree(repo, &[("40000", b"..", &inner)]);
        literal_tree(repo, &[("40000", b"..", &up)])
    });
}

#[test]
fn dot_git_and_slash_names_are_refused() {
    assert_refused(|repo, blob| {
        let hooks = literal_tree(repo, &[("100755", b"pre-receive", blob)]);
        literal_tree(repo, &[("40000", b".git", &hooks)])
    });
    assert_refused(|repo, blob| literal_tree(repo, &[("100644", b"../../pwned", blob)]));
}

#[test]
fn unsafe_name_deep_in_a_safe_tree_is_refused_before_anything_is_written() {
    assert_refused(|repo, blob| {
        let bad = literal_tree(repo, &[("100644", b"..", blob)]);
        let sub = literal_tree(repo, &[("100644", b"ok.txt", blob), ("40000", b"z", &bad)]);
        literal_tree(
            repo,
            &[("100644", b"app.py", blob), ("40000", b"lib", &sub)],
        )
    });
}

#[test]
fn an_ordinary_tree_checks_out() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let repo = scratch.path().join("repo.git");
    std::fs::create_dir_all(&repo).expect("mkdir");
    let commit = crafted_commit(&repo, |repo, blob| {
        let sub = literal_tree(repo, &[("100755", b"run", blob)]);
        literal_tree(
            repo,
            &[("100644", b"app.py", blob), ("40000", b"bin", &sub)],
        )
    });
    let dest = scratch.path().join("src");
    let tar = scratch.path().join("source.tar");
    checkout(&repo, &[], &commit, &dest, &tar).expect("checkout");
    assert_eq!(
        std::fs::read_to_string(dest.join("bin/run")).unwrap(),
        "pwned\n"
    );
    let mut names: Vec<String> = tar::Archive::new(std::fs::File::open(&tar).unwrap())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["app/", "app/app.py", "app/bin/", "app/bin/run"]);
}
