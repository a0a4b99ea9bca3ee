//! Protocol edges the emulator never produces, served by a canned one-shot HTTP server.

use akiles_client::ClientError;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::support::{client_for, new_member};

/// Serves `responses` in order, one per connection, and returns how many it served.
async fn serve(responses: Vec<String>) -> (String, JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/v2", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let mut served = 0;
        for response in responses {
            let (mut socket, _) = listener.accept().await.unwrap();
            read_request_head(&mut socket).await;
            socket.write_all(response.as_bytes()).await.unwrap();
            socket.shutdown().await.unwrap();
            served += 1;
        }
        served
    });
    (base_url, server)
}

async fn read_request_head(socket: &mut tokio::net::TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await.unwrap();
        if n == 0 {
            return;
        }
        seen.extend_from_slice(&buf[..n]);
    }
}

fn response(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn page_with_has_next_but_no_cursor_ends_in_a_protocol_error() {
    let page = r#"{"data":[{"id":"mem_a","name":"A"},{"id":"mem_b","name":"B"}],"has_next":true}"#;
    let (base_url, server) = serve(vec![response("200 OK", "application/json", page)]).await;
    let client = client_for(&base_url, "ak_key", |_| {});

    let items: Vec<_> = client.list_members(&Default::default()).collect().await;

    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap().id, "mem_a");
    assert_eq!(items[1].as_ref().unwrap().id, "mem_b");
    assert!(
        matches!(items[2], Err(ClientError::Protocol(_))),
        "{:?}",
        items[2]
    );
    assert_eq!(server.await.unwrap(), 1);
}

#[tokio::test]
async fn html_gateway_error_on_create_is_typed_unknown_and_not_retried() {
    let html = "<html><body>Bad gateway</body></html>";
    let (base_url, server) = serve(vec![response("502 Bad Gateway", "text/html", html)]).await;
    let client = client_for(&base_url, "ak_key", |_| {});

    let err = client
        .create_member(&new_member("Proxy", "html"))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ClientError::Api { status: 502, .. }),
        "{err:?}"
    );
    assert_eq!(err.error_type(), Some("unknown"));
    assert!(err.may_have_applied());
    assert_eq!(client.stats().requests, 1);
    assert_eq!(server.await.unwrap(), 1);
}

#[tokio::test]
async fn success_with_an_undecodable_body_is_a_decode_error_that_may_have_applied() {
    let (base_url, server) = serve(vec![response(
        "201 Created",
        "application/json",
        r#"{"name":"no id"}"#,
    )])
    .await;
    let client = client_for(&base_url, "ak_key", |_| {});

    let err = client
        .create_member(&new_member("Odd", "decode"))
        .await
        .unwrap_err();

    assert!(matches!(err, ClientError::Decode { .. }), "{err:?}");
    assert!(err.may_have_applied());
    assert_eq!(server.await.unwrap(), 1);
}

#[tokio::test]
async fn redirect_is_not_followed() {
    let redirect = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/elsewhere\r\n\
                    Content-Length: 0\r\nConnection: close\r\n\r\n";
    let (base_url, server) = serve(vec![redirect.to_owned()]).await;
    let client = client_for(&base_url, "ak_key", |_| {});

    let err = client.organization().await.unwrap_err();

    assert!(matches!(err, ClientError::Protocol(_)), "{err:?}");
    assert_eq!(server.await.unwrap(), 1);
}
