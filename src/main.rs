//! The `tribune` command line: parse, load settings, hand over to the library.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use tribune::{app, cli, config::Settings, db, domain::member::Role};

/// Every allocation of the process (see Cargo.toml for why not glibc's).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "tribune",
    version,
    about = "A federated publication node for a collective"
)]
struct Cli {
    /// Configuration file (TOML); see config/default.toml for every key.
    #[arg(long, global = true, env = "TRIBUNE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (applies pending migrations first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage members (accounts of the admin panel).
    Member {
        #[command(subcommand)]
        command: MemberCommand,
    },
    /// Publish, list and delete posts.
    Post {
        #[command(subcommand)]
        command: PostCommand,
    },
    /// Moderate replies from the fediverse.
    Comment {
        #[command(subcommand)]
        command: CommentCommand,
    },
    /// Block actors and instances (or allow instances in allowlist mode).
    Block {
        #[command(subcommand)]
        command: BlockCommand,
    },
    /// Access tokens of the Mastodon client API, for scripts.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum CommentCommand {
    /// List replies (id first), newest first.
    List {
        /// Only those awaiting review.
        #[arg(long)]
        pending: bool,
    },
    /// Publish a reply on the site.
    Approve { id: i64 },
    /// Refuse a reply.
    Reject { id: i64 },
}

#[derive(Subcommand)]
enum BlockCommand {
    /// Block an actor (its URL) or an instance (its host name).
    Add {
        target: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lift a block (or an allow rule).
    Remove { target: String },
    /// List blocks and allowed instances.
    List,
    /// Allow an instance (in allowlist mode only allowed instances federate).
    Allow { host: String },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token for a member and print it once (only its hash is stored).
    Create {
        username: String,
        /// Space-separated OAuth scopes (read, write, profile, read:statuses…).
        #[arg(long, default_value = "read write")]
        scopes: String,
        /// A name to recognize the token by in the admin panel.
        #[arg(long, default_value = "")]
        name: String,
    },
}

#[derive(Subcommand)]
enum MemberCommand {
    /// Add a member; the password is read from standard input unless --generate-password.
    Add {
        username: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Name shown on posts (defaults to the username).
        #[arg(long)]
        display_name: Option<String>,
        /// Generate a password and print it once.
        #[arg(long)]
        generate_password: bool,
    },
    /// List members.
    List,
    /// Set a member's password (standard input, or --generate-password); ends their sessions.
    SetPassword {
        username: String,
        #[arg(long)]
        generate_password: bool,
    },
    /// Remove a member who has written no post (disable the others in the admin panel).
    Remove { username: String },
}

#[derive(Subcommand)]
enum PostCommand {
    /// Publish a Markdown file (`-` for standard input) and print the post's URL.
    Publish {
        /// The member credited as author.
        #[arg(long)]
        author: String,
        #[arg(long)]
        title: Option<String>,
        /// A lede shown under the title.
        #[arg(long)]
        summary: Option<String>,
        /// Content warning.
        #[arg(long)]
        cw: Option<String>,
        /// Two-letter language code.
        #[arg(long, default_value = "fr")]
        lang: String,
        /// Comma-separated tags.
        #[arg(long)]
        tags: Option<String>,
        file: String,
    },
    /// List posts (drafts, in review, scheduled, published).
    List,
    /// Delete a post by id or URL (a published post becomes a Tombstone; a Delete is sent).
    Delete { id: String },
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value).ok_or_else(|| format!("unknown role {value:?}: use admin, editor or author"))
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the configuration and print the effective values, secrets masked.
    Check,
}

/// Raises the soft limit on open files to the hard one, as Go's runtime does for GoToSocial:
/// each delivery in flight and each connection kept for reuse is a file descriptor, and a
/// fan-out to a thousand instances keeps a thousand open (measured: ~1,040), past the 1,024
/// soft limit systemd gives a service by default, where accepting requests would fail too.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open files limit"),
        Err(err) => {
            tracing::warn!(error = %err, "cannot raise the open files limit; large fan-outs may run out of file descriptors")
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    // Administration commands keep their output readable: warnings only, unless asked.
    let quiet = !matches!(cli.command, Command::Serve);
    init_tracing(&settings, quiet);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line: the key and the reason when it is a configuration problem.
            eprintln!("{}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            raise_open_file_limit();
            let app = app::App::build(settings).await?;
            app.run_until(app::shutdown_signal()).await
        }
        Command::Migrate => {
            let conn = db::connect(&settings).await.map_err(|e| {
                tribune::config::ConfigError::new(
                    "database.url",
                    format!("cannot open the database: {e}"),
                )
            })?;
            db::migrate(&conn).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Member { command } => {
            let state = app::prepare(settings).await?;
            match command {
                MemberCommand::Add {
                    username,
                    role,
                    display_name,
                    generate_password,
                } => {
                    cli::member_add(
                        &state,
                        &username,
                        display_name.as_deref(),
                        role,
                        generate_password,
                    )
                    .await
                }
                MemberCommand::List => cli::member_list(&state).await,
                MemberCommand::SetPassword {
                    username,
                    generate_password,
                } => cli::member_set_password(&state, &username, generate_password).await,
                MemberCommand::Remove { username } => cli::member_remove(&state, &username).await,
            }
        }
        Command::Comment { command } => {
            let state = app::prepare(settings).await?;
            match command {
                CommentCommand::List { pending } => cli::comment_list(&state, pending).await,
                CommentCommand::Approve { id } => cli::comment_decide(&state, id, true).await,
                CommentCommand::Reject { id } => cli::comment_decide(&state, id, false).await,
            }
        }
        Command::Block { command } => {
            let state = app::prepare(settings).await?;
            match command {
                BlockCommand::Add { target, reason } => {
                    cli::block_add(&state, &target, reason.as_deref()).await
                }
                BlockCommand::Remove { target } => cli::block_remove(&state, &target).await,
                BlockCommand::List => cli::block_list(&state).await,
                BlockCommand::Allow { host } => cli::block_allow(&state, &host).await,
            }
        }
        Command::Post { command } => {
            let state = app::prepare(settings).await?;
            match command {
                PostCommand::Publish {
                    author,
                    title,
                    summary,
                    cw,
                    lang,
                    tags,
                    file,
                } => {
                    cli::post_publish(
                        &state,
                        cli::PublishArgs {
                            author: &author,
                            title,
                            summary,
                            content_warning: cw,
                            language: lang,
                            tags,
                            file: &file,
                        },
                    )
                    .await
                }
                PostCommand::List => cli::post_list(&state).await,
                PostCommand::Delete { id } => cli::post_delete(&state, &id).await,
            }
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    username,
                    scopes,
                    name,
                },
        } => {
            let state = app::prepare(settings).await?;
            cli::token_create(&state, &username, &scopes, &name).await
        }
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            println!(
                "# configuration is valid; effective values:\n{}",
                settings.to_masked_toml()
            );
            Ok(())
        }
    }
}

fn one_line(err: &anyhow::Error) -> String {
    let text = if err.downcast_ref::<tribune::config::ConfigError>().is_some() {
        err.to_string()
    } else {
        format!("error: {err:#}")
    };
    text.replace('\n', " ")
}

fn init_tracing(settings: &Settings, quiet: bool) {
    let default = if quiet {
        "warn"
    } else {
        settings.log.filter.as_str()
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
