//! Login, sessions and the cross-site request check.

use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use sync_store::Store;

use crate::harness::{ADMIN, TENANT, location, spawn_admin_app};

#[tokio::test]
async fn every_admin_page_sends_a_stranger_to_the_login() {
    let app = spawn_admin_app().await;

    for path in [
        "/admin".to_owned(),
        format!("/admin/tenants/{TENANT}"),
        format!("/admin/tenants/{TENANT}/employees"),
        format!("/admin/tenants/{TENANT}/activity"),
        format!("/admin/tenants/{TENANT}/deletions"),
        "/oauth/callback?state=x&code=y".to_owned(),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&response), "/admin/login", "{path}");
    }
    let sync = app
        .post(&format!("/admin/tenants/{TENANT}/sync"), &[])
        .await;

    assert_eq!(location(&sync), "/admin/login");
    assert!(app.store.jobs(None, None, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_admin_get_the_same_answer() {
    let app = spawn_admin_app().await;

    let wrong = app
        .post(
            "/admin/login",
            &[("username", ADMIN), ("password", "not it at all")],
        )
        .await;
    let status = wrong.status();
    let sets_cookie = wrong.headers().contains_key(SET_COOKIE);
    let wrong_text = wrong.text().await.unwrap();
    let unknown = app
        .post(
            "/admin/login",
            &[("username", "nobody"), ("password", "not it at all")],
        )
        .await;
    let unknown_status = unknown.status();
    let unknown_text = unknown.text().await.unwrap();

    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!sets_cookie, "no session for a wrong password");
    assert!(wrong_text.contains("The username or the password is not right."));
    assert_eq!(unknown_status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown_text.replace("value=\"nobody\"", ""),
        wrong_text.replace(&format!("value=\"{ADMIN}\""), "")
    );
    assert_eq!(app.get("/admin").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_logged_in_admin_sees_the_tenants_until_logging_out() {
    let app = spawn_admin_app().await;
    app.login().await;

    let tenants = app.page("/admin").await;
    let logout = app.post("/admin/logout", &[]).await;

    assert!(tenants.contains(&format!("href=\"/admin/tenants/{TENANT}\"")));
    assert!(tenants.contains("Not connected"));
    assert_eq!(location(&logout), "/admin/login");
    assert_eq!(app.get("/admin").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_cross_site_form_post_is_refused() {
    let app = spawn_admin_app().await;
    app.login().await;

    let forged = app
        .post_cross_site(&format!("/admin/tenants/{TENANT}/sync"))
        .await;
    let queued_by_forgery = app.store.jobs(None, None, 10).await.unwrap().len();
    let genuine = app
        .post(&format!("/admin/tenants/{TENANT}/sync"), &[])
        .await;

    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(queued_by_forgery, 0);
    let page = app.follow(genuine).await;
    assert!(page.contains("Queued a full reconcile"));
}

#[tokio::test]
async fn a_tenant_is_created_from_the_tenants_page() {
    let app = spawn_admin_app().await;
    app.login().await;

    let created = app.post("/admin/tenants", &[("key", "globex")]).await;
    let bad = app.post("/admin/tenants", &[("key", "not ok!")]).await;

    assert_eq!(location(&created), "/admin/tenants/globex");
    assert!(app.store.tenant("globex").await.unwrap().is_some());
    let page = app.follow(bad).await;
    assert!(page.contains("may hold only letters, digits"));
}

#[tokio::test]
async fn an_employee_id_with_a_slash_links_to_its_own_page() {
    let app = spawn_admin_app().await;
    app.login().await;
    app.push("a/b", "Ana Pérez", &["Sales"], 1).await;

    let list = app.page("/admin/tenants/acme/employees").await;
    let detail = app.get("/admin/tenants/acme/employees/a%2Fb").await;

    assert!(
        list.contains("/admin/tenants/acme/employees/a%2Fb\""),
        "{list}"
    );
    assert_eq!(detail.status(), reqwest::StatusCode::OK);
}
