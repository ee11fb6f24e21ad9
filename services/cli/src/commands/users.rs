//! `users`, `users:add` and `users:remove`: account management for admins.

use super::{client, email, read_stdin_line};
use crate::cli::{EmailArg, JsonArgs, UsersAddArgs};
use crate::{output, progress, table};
use anyhow::Result;
use paas_domain::api::{CreateUser, CreatedUser, UserInfo};

pub fn list(args: JsonArgs) -> Result<()> {
    let client = client()?;
    let users: Vec<UserInfo> = client.get(&["api", "users"])?;
    if args.json {
        return output::json(&users);
    }
    output::line(table::header("Users"))?;
    if users.is_empty() {
        return Ok(());
    }
    output::block(&table::columns(&user_rows(&users)))
}

fn user_rows(users: &[UserInfo]) -> Vec<Vec<String>> {
    users
        .iter()
        .map(|u| {
            let role = if u.admin { "admin" } else { "user" };
            vec![u.email.clone(), role.to_string(), u.created_at.clone()]
        })
        .collect()
}

pub fn add(args: UsersAddArgs) -> Result<()> {
    let email = email(&args.email)?;
    let password = if args.password_stdin {
        Some(read_stdin_line("password")?)
    } else {
        None
    };
    let client = client()?;
    let progress = progress::start(format!("Adding {email}"));
    let created: CreatedUser = client.post(&["api", "users"], &CreateUser { email, password })?;
    progress.done();
    if let Some(password) = created.generated_password {
        eprintln!(
            "Generated password for {} (shown only once):",
            created.email
        );
        output::line(password)?;
    }
    Ok(())
}

pub fn remove(args: EmailArg) -> Result<()> {
    let email = email(&args.email)?;
    let client = client()?;
    let progress = progress::start(format!("Removing {email}"));
    client.delete(&["api", "users", &email])?;
    progress.done();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_table_is_aligned() {
        let users = vec![
            UserInfo {
                email: "admin@example.com".into(),
                admin: true,
                created_at: "2024-01-01T00:00:00Z".into(),
            },
            UserInfo {
                email: "bob@x.io".into(),
                admin: false,
                created_at: "2024-02-01T00:00:00Z".into(),
            },
        ];
        assert_eq!(
            table::columns(&user_rows(&users)),
            "admin@example.com  admin  2024-01-01T00:00:00Z\n\
             bob@x.io           user   2024-02-01T00:00:00Z\n"
        );
    }
}
