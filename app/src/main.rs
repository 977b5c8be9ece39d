//! `taulu-app`: `demo` (the main job), `serve` (the HTTP service), and the `taulu` CLI's
//! commands over the app's embedded migrations (`migrate status`, `db stop`, ...).

use std::process::ExitCode;

use taulu_cli::{Cli, CliError};

const COMMANDS: &str = "    demo                    migrate the database, show the schema, run the product's flows
    serve [ADDR]            migrate, then serve the HTTP API on ADDR (default 127.0.0.1:3000;
                            env TAULU_APP_ADDR) until Ctrl-C
";

fn main() -> ExitCode {
    taulu_cli::init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = Cli {
        about: "taulu-app: taulu's reference app (users, sessions, login attempts, orgs, members)",
        embedded: Some(&taulu_app::MIGRATIONS),
        extra_commands: COMMANDS,
    };
    let runtime = || tokio::runtime::Builder::new_multi_thread().enable_all().build();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["demo"] => match runtime() {
            Ok(rt) => cli.exit(rt.block_on(taulu_app::demo::run()).map_err(Into::into)),
            Err(e) => no_runtime(e),
        },
        ["serve", rest @ ..] if rest.len() <= 1 => {
            let addr = rest.first().map(|a| a.to_string()).or_else(|| std::env::var("TAULU_APP_ADDR").ok());
            match runtime() {
                Ok(rt) => cli.exit(rt.block_on(serve(addr.as_deref().unwrap_or("127.0.0.1:3000")))),
                Err(e) => no_runtime(e),
            }
        }
        _ => cli.main(args),
    }
}

fn no_runtime(e: std::io::Error) -> ExitCode {
    eprintln!("error: cannot start the async runtime: {e}");
    ExitCode::FAILURE
}

/// Migrates the database (`DATABASE_URL`, or the local cluster's), then serves until Ctrl-C.
async fn serve(addr: &str) -> Result<(), CliError> {
    let url = taulu::local::url_or_local(taulu_cli::LOCAL_DB).await?;
    let db = taulu::Db::new(taulu::DbConfig::from_env_for(url)?);
    taulu::migrate::Migrator::new(&taulu_app::MIGRATIONS).up(db.get().await?.client(), None).await?;
    let check = db.check_schema(&taulu_app::schema::SCHEMA).await?;
    if !check.is_ok() {
        // Not fatal: /readyz keeps the service out of rotation and says the same.
        tracing::warn!(%check, "the database is not the one this binary was built for");
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::Usage(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr().map_err(|e| CliError::Usage(format!("{addr}: {e}")))?;
    println!("serving on http://{local} (database {}); Ctrl-C or SIGTERM stops", db.url());
    let state = taulu_app::service::AppState { db: db.clone(), limits: Default::default() };
    let served = taulu_app::service::serve(listener, state, shutdown_signal()).await;
    // Requests are drained: let statements still in flight finish, then close the connections.
    let busy = db.close(std::time::Duration::from_secs(10)).await;
    tracing::info!(busy, "stopped");
    served.map_err(|e| CliError::Usage(format!("serving on {local} failed: {e}")))
}

/// Ctrl-C, or SIGTERM (what a container runtime sends to stop a service).
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
