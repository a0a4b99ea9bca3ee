//! Cursor pagination: every list call is a stream that fetches the next page on demand.

use akiles_types::Page;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;

use crate::client::{Call, Client};
use crate::error::ClientError;

/// The items of a list endpoint, newest first, fetched page by page as the stream is
/// polled. A page error ends the stream after yielding it.
pub type ListStream<T> = BoxStream<'static, Result<T, ClientError>>;

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cursor {
    First,
    Next(String),
    Done,
}

/// Streams every item of the list `call`, `page_size` items per request.
pub(crate) fn paginate<T>(client: Client, call: Call, page_size: u8) -> ListStream<T>
where
    T: DeserializeOwned + Send + 'static,
{
    // The state is where the next page starts, or why it cannot be fetched: a broken
    // cursor is reported after the items of the page that carried it.
    let start: Result<Cursor, ClientError> = Ok(Cursor::First);
    let pages = stream::try_unfold(start, move |state| {
        let client = client.clone();
        let call = call.clone();
        async move {
            let previous = match state? {
                Cursor::Done => return Ok(None),
                Cursor::First => None,
                Cursor::Next(cursor) => Some(cursor),
            };

            let mut query = vec![("limit".to_owned(), page_size.to_string())];
            query.extend(previous.clone().map(|cursor| ("cursor".to_owned(), cursor)));
            let page: Page<T> = client.send(call.with_query(query)).await?;

            let next = next_cursor(&page, previous.as_deref());
            Ok(Some((page.data, next)))
        }
    });

    pages
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
}

/// Reads where the page after `page` starts, refusing answers that would loop forever.
fn next_cursor<T>(page: &Page<T>, previous: Option<&str>) -> Result<Cursor, ClientError> {
    if !page.has_next {
        return Ok(Cursor::Done);
    }
    match page.cursor_next.as_deref() {
        None | Some("") => Err(ClientError::Protocol(
            "list page has has_next=true but no cursor_next".to_owned(),
        )),
        Some(next) if Some(next) == previous => Err(ClientError::Protocol(
            "list page repeats the cursor it was fetched with".to_owned(),
        )),
        Some(next) => Ok(Cursor::Next(next.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(has_next: bool, cursor_next: Option<&str>) -> Page<u8> {
        Page {
            data: vec![1],
            has_next,
            cursor_next: cursor_next.map(str::to_owned),
        }
    }

    #[test]
    fn last_page_ends_the_list_even_with_a_stray_cursor() {
        assert_eq!(next_cursor(&page(false, None), None).unwrap(), Cursor::Done);
        assert_eq!(
            next_cursor(&page(false, Some("c")), None).unwrap(),
            Cursor::Done
        );
    }

    #[test]
    fn next_page_starts_at_cursor_next() {
        let next = next_cursor(&page(true, Some("c2")), Some("c1")).unwrap();

        assert_eq!(next, Cursor::Next("c2".to_owned()));
    }

    #[test]
    fn has_next_without_cursor_is_a_protocol_error() {
        for cursor in [None, Some("")] {
            let err = next_cursor(&page(true, cursor), None).unwrap_err();
            assert!(matches!(err, ClientError::Protocol(_)));
        }
    }

    #[test]
    fn repeated_cursor_is_a_protocol_error() {
        let err = next_cursor(&page(true, Some("c1")), Some("c1")).unwrap_err();

        assert!(matches!(err, ClientError::Protocol(_)));
    }
}
