//! Heroku-style plain-text layout: `=== Title` headers, aligned `Key: value` blocks and
//! aligned columns. Functions return text; callers print it.

/// `=== title`
pub fn header(title: &str) -> String {
    format!("=== {title}")
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// `Key: value` lines with the values starting in one column, e.g.
/// `Git URL: x` / `Owner:   y`.
pub fn key_values(rows: &[(&str, String)]) -> String {
    let key_width = rows.iter().map(|(k, _)| width(k) + 1).max().unwrap_or(0);
    rows.iter()
        .map(|(key, value)| {
            let label = format!("{key}:");
            let line = format!("{label:<key_width$} {value}");
            format!("{}\n", line.trim_end())
        })
        .collect()
}

/// Rows of cells, each column padded to its widest cell and separated by two spaces;
/// no trailing blanks.
pub fn columns(rows: &[Vec<String>]) -> String {
    let count = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..count)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| width(c))
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                let pad = widths[i].saturating_sub(width(cell));
                line.extend(std::iter::repeat_n(' ', pad));
            }
            format!("{}\n", line.trim_end())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_key_values() {
        let text = key_values(&[
            ("Git URL", "http://h/a.git".to_string()),
            ("Owner", "me@x.io".to_string()),
            ("Release", String::new()),
        ]);
        assert_eq!(
            text,
            "Git URL: http://h/a.git\nOwner:   me@x.io\nRelease:\n"
        );
    }

    #[test]
    fn aligns_columns() {
        let rows = vec![
            vec!["alice@example.com".to_string(), "owner".to_string()],
            vec!["bob@x.io".to_string(), "collaborator".to_string()],
            vec!["é@x.io".to_string(), String::new()],
        ];
        assert_eq!(
            columns(&rows),
            "alice@example.com  owner\nbob@x.io           collaborator\né@x.io\n"
        );
        assert_eq!(columns(&[]), "");
    }

    #[test]
    fn formats_headers() {
        assert_eq!(header("My Apps"), "=== My Apps");
    }
}
