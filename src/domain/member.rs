//! Members and what each role may do.

use std::fmt;

/// A member's role. Admins do everything; editors publish and moderate; authors write drafts
/// and submit them for review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Author,
    Editor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Author => "author",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "editor" => Some(Role::Editor),
            "author" => Some(Role::Author),
            _ => None,
        }
    }

    pub const ALL: [Role; 3] = [Role::Admin, Role::Editor, Role::Author];

    /// Publish, schedule, edit or delete any post, pin, moderate.
    pub fn can_publish(self) -> bool {
        self >= Role::Editor
    }

    /// Add members, change roles, disable accounts, change settings.
    pub fn can_manage_members(self) -> bool {
        self == Role::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;
/// Longest password accepted (argon2 would take more, but nobody types this much).
pub const MAX_PASSWORD_LEN: usize = 256;

/// Password policy: length only (NIST 800-63B): long passphrases beat composition rules.
pub fn validate_password(password: &str) -> Result<(), String> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(format!(
            "must be at least {MIN_PASSWORD_LEN} characters (got {len})"
        ));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(format!("must be at most {MAX_PASSWORD_LEN} characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_what_the_issue_says() {
        assert!(Role::Admin.can_publish() && Role::Admin.can_manage_members());
        assert!(Role::Editor.can_publish() && !Role::Editor.can_manage_members());
        assert!(!Role::Author.can_publish() && !Role::Author.can_manage_members());
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn passwords_need_length() {
        assert!(validate_password("court").is_err());
        assert!(validate_password("une phrase de passe").is_ok());
    }
}
