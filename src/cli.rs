//! The administration commands (`tribune member …`, `tribune post …`, `tribune token …`): they open the same
//! database as the server and call the same services, so they work whether or not it runs.

use std::io::{BufRead, Read};

use anyhow::{Context, anyhow, bail};

use crate::{
    db::{self, entity::member},
    domain::{
        member::Role,
        post::{PostInput, Status, split_tags},
    },
    service,
    state::AppState,
};

/// Reads a password: the first line of standard input.
fn read_password_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("no password on standard input (pipe one in, or use --generate-password)");
    }
    Ok(password)
}

/// A random password of 20 URL-safe characters (about 120 bits).
fn generate_password() -> String {
    service::session::random_token().chars().take(20).collect()
}

/// `member add`: prints the generated password once when asked to generate one.
pub async fn member_add(
    state: &AppState,
    username: &str,
    display_name: Option<&str>,
    role: Role,
    generate: bool,
) -> anyhow::Result<()> {
    let password = if generate {
        generate_password()
    } else {
        read_password_line()?
    };
    let reserved = [state.collective.username.as_str()];
    let member = service::member::add(
        &state.db,
        username,
        display_name.unwrap_or(username),
        role,
        &password,
        &reserved,
    )
    .await?;
    println!("member {} added with role {}", member.username, member.role);
    if generate {
        println!("password (shown once): {password}");
    }
    Ok(())
}

pub async fn member_list(state: &AppState) -> anyhow::Result<()> {
    let members = service::member::list(&state.db).await?;
    println!(
        "{:<24} {:<8} {:<9} display name",
        "username", "role", "state"
    );
    for m in members {
        let status = if m.disabled { "disabled" } else { "active" };
        println!(
            "{:<24} {:<8} {:<9} {}",
            m.username, m.role, status, m.display_name
        );
    }
    Ok(())
}

pub async fn member_set_password(
    state: &AppState,
    username: &str,
    generate: bool,
) -> anyhow::Result<()> {
    let password = if generate {
        generate_password()
    } else {
        read_password_line()?
    };
    service::member::set_password(&state.db, username, &password).await?;
    println!("password of {username} changed; their sessions were ended");
    if generate {
        println!("password (shown once): {password}");
    }
    Ok(())
}

pub async fn member_remove(state: &AppState, username: &str) -> anyhow::Result<()> {
    service::member::remove(&state.db, username).await?;
    println!("member {username} removed");
    Ok(())
}

/// What `post publish` needs besides the Markdown.
pub struct PublishArgs<'a> {
    pub author: &'a str,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub content_warning: Option<String>,
    pub language: String,
    pub tags: Option<String>,
    /// A path, or `-` for standard input.
    pub file: &'a str,
}

fn read_markdown(file: &str) -> anyhow::Result<String> {
    if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading Markdown from standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(file).with_context(|| format!("reading {file}"))
}

/// `post publish`: writes and publishes at once, credited to `--author`. The command line
/// runs with the server's own authority (whoever has a shell there administers it), so the
/// author's role does not limit it.
pub async fn post_publish(state: &AppState, args: PublishArgs<'_>) -> anyhow::Result<()> {
    let author = service::member::find(&state.db, args.author)
        .await?
        .ok_or_else(|| {
            anyhow!(
                "no member named {:?} (see `tribune member list`)",
                args.author
            )
        })?;
    let input = PostInput {
        title: args.title,
        summary: args.summary,
        content_warning: args.content_warning,
        language: args.language,
        body_markdown: read_markdown(args.file)?,
        tags: args.tags.as_deref().map(split_tags).unwrap_or_default(),
    };
    let draft = service::post::create(state, &author, input).await?;
    let operator = member::Model {
        role: Role::Admin.as_str().to_string(),
        ..author
    };
    let post = service::post::publish_now(state, &operator, &draft.public_id).await?;
    println!("{}", state.urls.post(&post.public_id));
    Ok(())
}

pub async fn post_list(state: &AppState) -> anyhow::Result<()> {
    let all = [
        Status::Draft,
        Status::Review,
        Status::Scheduled,
        Status::Published,
    ];
    let posts = db::post::with_statuses(&state.db, &all, None, 1000).await?;
    println!(
        "{:<17} {:<10} {:<20} {:<16} title",
        "id", "status", "date", "author"
    );
    for bundle in posts {
        let post = &bundle.post;
        let date = post
            .published_at
            .or(post.scheduled_at)
            .unwrap_or(post.updated_at)
            .format("%Y-%m-%d %H:%M");
        let title = post
            .title
            .clone()
            .unwrap_or_else(|| excerpt(&post.body_markdown));
        println!(
            "{:<17} {:<10} {:<20} {:<16} {}",
            post.public_id, post.status, date, bundle.author.username, title
        );
    }
    Ok(())
}

fn excerpt(markdown: &str) -> String {
    let line = markdown
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let short: String = line.chars().take(60).collect();
    if short.len() < line.len() {
        format!("{short}…")
    } else {
        short
    }
}

/// `post delete ID|URL`: removes a draft, or turns a published post into a Tombstone and
/// federates its `Delete`.
pub async fn post_delete(state: &AppState, id_or_url: &str) -> anyhow::Result<()> {
    let public_id = id_or_url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(id_or_url)
        .to_string();
    let post = db::post::find_by_public_id(&state.db, &public_id)
        .await?
        .ok_or_else(|| anyhow!("no post {public_id:?} (see `tribune post list`)"))?;
    let author = service::member::find_by_id(&state.db, post.author_id)
        .await?
        .ok_or_else(|| anyhow!("the author of {public_id} no longer exists"))?;
    let operator = member::Model {
        role: Role::Admin.as_str().to_string(),
        ..author
    };
    service::post::delete(state, &operator, &public_id).await?;
    println!("post {public_id} deleted");
    Ok(())
}

/// `comment list [--pending]`: id first, then state, post, author, date and an excerpt.
pub async fn comment_list(state: &AppState, pending: bool) -> anyhow::Result<()> {
    let comments = service::moderation::comments(&state.db, pending).await?;
    let with_authors = db::comment::with_authors(&state.db, comments).await?;
    println!(
        "{:<8} {:<9} {:<17} {:<32} {:<17} excerpt",
        "id", "state", "post", "author", "received"
    );
    let post_ids: Vec<i64> = with_authors.iter().map(|c| c.comment.post_id).collect();
    let posts: std::collections::HashMap<i64, String> = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        crate::db::entity::post::Entity::find()
            .filter(crate::db::entity::post::Column::Id.is_in(post_ids))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|p| (p.id, p.public_id))
            .collect()
    };
    for c in with_authors {
        let author = format!("{}@{}", c.author.preferred_username, c.author.host);
        let excerpt = crate::domain::sanitize::remote_text(&c.comment.content_html, 60);
        println!(
            "{:<8} {:<9} {:<17} {:<32} {:<17} {}",
            c.comment.id,
            c.comment.state,
            posts.get(&c.comment.post_id).map_or("?", String::as_str),
            author,
            c.comment.received_at.format("%Y-%m-%d %H:%M"),
            excerpt.replace('\n', " ")
        );
    }
    Ok(())
}

/// `comment approve ID` / `comment reject ID`.
pub async fn comment_decide(state: &AppState, id: i64, approve: bool) -> anyhow::Result<()> {
    let decision = if approve {
        service::moderation::Decision::Approve
    } else {
        service::moderation::Decision::Reject
    };
    service::moderation::decide(&state.db, id, decision).await?;
    println!(
        "comment {id} {}",
        if approve { "approved" } else { "rejected" }
    );
    Ok(())
}

pub async fn block_add(state: &AppState, target: &str, reason: Option<&str>) -> anyhow::Result<()> {
    let blocked = service::moderation::block(&state.db, target, reason).await?;
    println!("blocked {blocked}");
    Ok(())
}

pub async fn block_remove(state: &AppState, target: &str) -> anyhow::Result<()> {
    if service::moderation::unblock(&state.db, target).await? {
        println!("unblocked {target}");
        Ok(())
    } else {
        bail!("{target} was not blocked (see `tribune block list`)")
    }
}

pub async fn block_allow(state: &AppState, host: &str) -> anyhow::Result<()> {
    let allowed = service::moderation::allow(&state.db, host).await?;
    println!("allowed {allowed}");
    Ok(())
}

pub async fn block_list(state: &AppState) -> anyhow::Result<()> {
    println!("{:<7} {:<48} reason", "kind", "target");
    for rule in service::moderation::rules(&state.db).await? {
        println!(
            "{:<7} {:<48} {}",
            rule.kind,
            rule.target,
            rule.reason.unwrap_or_default()
        );
    }
    Ok(())
}

/// `token create`: a personal API token for `username`, printed once.
pub async fn token_create(
    state: &AppState,
    username: &str,
    scopes: &str,
    name: &str,
) -> anyhow::Result<()> {
    let member = service::member::find(&state.db, username)
        .await?
        .ok_or_else(|| anyhow!("no member named {username}"))?;
    if member.disabled {
        bail!("member {username} is disabled");
    }
    let issued = service::oauth::create_personal_token(&state.db, &member, scopes, name)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    println!(
        "token for {} with scopes \"{}\" (shown once; revoke it in the admin panel, /admin/tokens):",
        member.username, issued.row.scopes
    );
    println!("{}", issued.token);
    Ok(())
}
