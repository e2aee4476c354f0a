//! The `tribune` command line: parse, load settings, hand over to the library.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use tribune::{app, config::Settings, db};

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
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the configuration and print the effective values, secrets masked.
    Check,
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
    init_tracing(&settings);
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

fn init_tracing(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&settings.log.filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
