//! Integration tests of the sync engine against the Akiles emulator.
//!
//! Every test gets its own emulator (port 0), a real `akiles_client::Client` pointed at it
//! and an SQLite store on a temporary file (see [`harness`]). Modules by area:
//! - `calls`: each HR change costs the fewest Akiles calls;
//! - `ownership`: only what the sync created is ever changed or deleted;
//! - `dates`: HR dates in the tenant's time zone, pre-hires, leavers and rehires (B24);
//! - `credentials`: credential types turned on and off, changed e-mails and cards (B05);
//! - `cases`: the field cases B02, B06, B08, B09, B11 and B23, and their kinds;
//! - `runs`: dry runs and refused snapshots;
//! - `property`: random snapshots converge, and planning again finds nothing to do.

mod calls;
mod cases;
mod credentials;
mod dates;
mod harness;
mod ownership;
mod property;
mod reconcile;
mod runs;
