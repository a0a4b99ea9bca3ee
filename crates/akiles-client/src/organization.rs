//! The organization the token belongs to.

use akiles_types::Organization;

use crate::client::{Call, Client};
use crate::error::ClientError;

impl Client {
    /// `GET /organization`: the connected organization, e.g. to show its name.
    pub async fn organization(&self) -> Result<Organization, ClientError> {
        self.send(Call::get("/organization", &["organization"]))
            .await
    }
}
