//! The `taulu` binary: `cargo install taulu-cli`, then `taulu migrate up` in any project.

fn main() -> std::process::ExitCode {
    taulu_cli::init_logging();
    taulu_cli::Cli::STANDALONE.main(std::env::args().skip(1).collect())
}
