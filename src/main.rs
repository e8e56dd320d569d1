//! The `slotsim` binary: a thin shell over the library's command line.

use std::process::ExitCode;

fn main() -> ExitCode {
    match slotsim::cli::main() {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`slotsim check x | head`) is not an error worth reporting.
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
