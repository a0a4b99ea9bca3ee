//! Sites and gadgets (doors): read-only context for mapping groups to doors.

use akiles_types::{Gadget, Site};
use futures_util::TryStreamExt;

use crate::client::{Call, Client};
use crate::error::ClientError;
use crate::pagination::{ListStream, paginate};
use crate::query::MAX_PAGE_SIZE;

impl Client {
    /// `GET /sites`: every site, newest first.
    pub fn list_sites(&self) -> ListStream<Site> {
        paginate(self.clone(), Call::get("/sites", &["sites"]), MAX_PAGE_SIZE)
    }

    /// All sites at once; see [`Client::list_sites`].
    pub async fn list_sites_all(&self) -> Result<Vec<Site>, ClientError> {
        self.list_sites().try_collect().await
    }

    /// `GET /gadgets`: every gadget, newest first.
    pub fn list_gadgets(&self) -> ListStream<Gadget> {
        paginate(
            self.clone(),
            Call::get("/gadgets", &["gadgets"]),
            MAX_PAGE_SIZE,
        )
    }

    /// All gadgets at once; see [`Client::list_gadgets`].
    pub async fn list_gadgets_all(&self) -> Result<Vec<Gadget>, ClientError> {
        self.list_gadgets().try_collect().await
    }
}
