//! `slotsim serve`: the what-if page on a port, until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};

use super::load;
use crate::serve::{App, serve_until_ctrl_c};

/// Flags of `slotsim serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Port to listen on (0: any free port, printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on. The default serves this machine only; any other address lets
    /// whoever can reach it run simulations here.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Worker threads per run (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// A calibration's directory (`slotsim calibrate --out DIR`): the capacity question
    /// asked from the page draws the fitted fields from its posterior, seed by seed.
    #[arg(long, value_name = "DIR")]
    pub posterior: Option<PathBuf>,
}

/// `slotsim serve`.
///
/// # Errors
///
/// A scenario that does not load, or an address that cannot be listened on.
pub fn serve(args: &ServeArgs) -> Result<ExitCode> {
    let (scenario, _) = load(&args.scenario)?;
    let name = args.scenario.display().to_string();
    let mut app = App::new(name.clone(), scenario, args.threads);
    app.posterior = super::calibrate::read_posterior(args.posterior.as_deref())?;
    if let Some(p) = &app.posterior {
        // A posterior whose fields the scenario lacks is refused now, not on the page.
        let point = crate::scenario::GridPoint { values: Vec::new() };
        let mut cell = crate::runner::Cell::new(&app.scenario, "base", &point)?;
        p.attach(&mut cell).map_err(|e| anyhow!("{name}: --posterior: {e}"))?;
    }
    let addr = SocketAddr::new(args.bind, args.port);
    let open = !args.bind.is_loopback();
    serve_until_ctrl_c(app, addr, |addr| {
        println!("serving {name} at http://{addr}/ (Ctrl-C stops)");
        if open {
            println!(
                "note: listening on {}, not on the loopback address: anyone who can reach port {} can run simulations on this machine",
                addr.ip(),
                addr.port()
            );
        }
    })
    .map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            anyhow!("cannot listen on {addr}: the port is in use; choose another with --port (0 picks a free one)")
        }
        std::io::ErrorKind::AddrNotAvailable => {
            anyhow!("cannot listen on {addr}: {e}; --bind takes an address of this machine (127.0.0.1, or 0.0.0.0 for all)")
        }
        _ => anyhow!("cannot serve on {addr}: {e}"),
    })?;
    println!("stopped");
    Ok(ExitCode::SUCCESS)
}
