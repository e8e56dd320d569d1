//! `optimize` and `select`: measured coverage on a case with a known answer
//! (`coverage`), and through the binary: reproducible outputs, reproduction of
//! replications by `run --set`, and bad input (`cli`).

mod cli;
mod coverage;
mod reference;
