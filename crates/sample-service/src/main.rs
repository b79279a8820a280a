//! `sample-service`: run the membership service, optionally with flaws.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(phasegate_sample_service::cli::main(
        std::env::args_os().skip(1),
    ))
}
